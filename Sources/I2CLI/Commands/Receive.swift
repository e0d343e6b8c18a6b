// i2 receive: declared so help, man pages and completions list it; not built yet.

enum Receive {
    static let command = NotYetBuilt.command("receive", "DICOM storage node: receive studies from a PACS (C-STORE/C-ECHO SCP)", "Stores every received instance under ROOT/<PatientID>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm.")
}
