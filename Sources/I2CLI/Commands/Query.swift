// i2 query: C-FIND against a DICOM node (Study Root; Patient Root for the patient level), the matches
// on stdout as tab-separated columns or JSON lines.
import I2Core

enum Query {
    static let from = Flag("from", value: "NODE", summary: "The node to query: AET@HOST:PORT (C-FIND), an http(s):// DICOMweb base URL (QIDO-RS), or a node name from the node file",
                           details: "As `i2 send --to` takes it (see NODE FILE in i2-send(1)); a node's calling_aet is our AE title towards it; a DICOMweb node's credentials come from the node file only.")
    static let level = Flag("level", value: "LEVEL", summary: "What to list: patient, study, series or instance",
                            details: "Study Root Query/Retrieve (Patient Root for `patient`). Some archives answer series and instance queries only within one study: give --study then.",
                            choices: QueryLevel.allCases.map(\.rawValue), defaultValue: "study")
    static let aet = Flag("aet", short: "a", value: "AETITLE", summary: "Our (calling) AE title, as the node knows us", defaultValue: "I2")
    static let patientID = Flag("patient-id", value: "ID", summary: "PatientID to match (wildcards * and ? allowed)")
    static let accession = Flag("accession", value: "NUMBER", summary: "AccessionNumber to match")
    static let study = Flag("study", value: "UID", summary: "StudyInstanceUID to match")
    static let modality = Flag("modality", value: "MODALITY", summary: "Modality: ModalitiesInStudy at the study level, Modality below")
    static let studyDate = Flag("study-date", value: "DATE", summary: "StudyDate: YYYYMMDD, or a range YYYYMMDD-YYYYMMDD (either end may be left out)")
    static let description = Flag("description", value: "TEXT", summary: "StudyDescription (study level) or SeriesDescription (series level) to match; * and ? are wildcards",
                                  details: "Matching is as the node implements it: most archives match case-insensitively; quote the text for the shell (`--description '*CHEST*'`).")
    static let connectTimeout = Flag("connect-timeout", value: "SECONDS", summary: "Give up a TCP connection attempt after this long", defaultValue: "10")
    static let acseTimeout = Flag("acse-timeout", value: "SECONDS", summary: "Wait this long for the node to accept, reject or release the association", defaultValue: "30")
    static let dimseTimeout = Flag("dimse-timeout", value: "SECONDS", summary: "Wait this long for each C-FIND response", defaultValue: "60")

    static let output = """
        One line per match, sorted, as tab-separated columns; the first column is the level's own key, so `cut -f1` lists what `i2 retrieve` takes:
        patient: PatientID, PatientName, PatientBirthDate, PatientSex, NumberOfPatientRelatedStudies.
        study: StudyInstanceUID, PatientID, PatientName, StudyDate, AccessionNumber, ModalitiesInStudy, StudyDescription, NumberOfStudyRelatedSeries, NumberOfStudyRelatedInstances.
        series: SeriesInstanceUID, StudyInstanceUID, PatientID, Modality, SeriesNumber, SeriesDescription, NumberOfSeriesRelatedInstances.
        instance: SOPInstanceUID, SeriesInstanceUID, StudyInstanceUID, SOPClassUID, InstanceNumber.
        A column the node did not return is empty; multiple values keep DICOM's backslash (ModalitiesInStudy CT\\SEG). With --json, one object per line with those attributes by keyword (null when not returned) and QueryRetrieveLevel. The count of matches goes to stderr.
        """

    static let command = Command(
        name: "query",
        summary: "Find patients, studies, series or instances on a DICOM node (C-FIND SCU) or a DICOMweb server (QIDO-RS)",
        description: """
        Sends one C-FIND to a DICOM node, or one QIDO-RS request to a DICOMweb server, and prints the matches. Filters combine (all must match); without filters every item of the level matches, which on a large archive may be refused or cut short by the node.
        No match is not an error (exit 0, nothing on stdout). A node that cannot be reached, that rejects the association or that answers the query with a failure status ends the run with the same exit statuses as i2 send.
        """,
        flags: [from, level, aet, patientID, accession, study, modality, studyDate, description, CommonFlags.json, connectTimeout, acseTimeout, dimseTimeout]
            + TLSFlags.flags(serving: false),
        positionals: [],
        examples: [
            ("i2 query --from pacs --patient-id 12345", "the patient's studies"),
            ("i2 query --from pacs --study-date 20260101-20260131 --modality CT --json", "last January's CT studies, as JSON lines"),
            ("i2 query --from ORTHANC@127.0.0.1:4242 --level series --study 1.2.3.4", "the series of one study"),
            ("i2 query --from pacs --description '*THORAX*' | cut -f1", "study UIDs by description"),
        ],
        extraManSections: [("Output", output), ("Environment", "I2_NODES: path of the node file (see i2-send(1)).")],
        exitStatuses: [.success, .usage, .unreachable, .rejected, .interrupted],
        run: run)

    @Sendable static func run(_ args: ParsedArguments, _ run: Invocation) throws -> Report {
        guard let node = args.given(from) else { throw I2Error(.usage, "needs --from AET@HOST:PORT or --from NODE") }
        var o = QueryOptions(node: try Node.resolve(node))
        if case .dimse(var d) = o.node {
            o.callingAE = try Send.callingAE(args, aet, node: d)
            try TLSFlags.apply(args, to: &d)
            o.node = .dimse(d)
        } else {
            try TLSFlags.refuseForWeb(args)
        }
        o.level = QueryLevel(rawValue: args.value(level)!) ?? .study
        o.patientID = args.given(patientID)
        o.accession = args.given(accession)
        o.study = args.given(study)
        o.modality = args.given(modality)
        o.studyDate = args.given(studyDate)
        o.description = args.given(description)
        (o.connectTimeout, o.acseTimeout, o.dimseTimeout) = try Send.timeouts(args, connectTimeout, acseTimeout, dimseTimeout)
        run.terminal.json = args.has(CommonFlags.json)
        return QueryEngine.run(o, run.context)
    }
}
