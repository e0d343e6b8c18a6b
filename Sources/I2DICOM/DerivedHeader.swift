// What every object i2 derives from a source series (SEG, RT Structure Set, SR) copies from it: patient,
// study and clinical trial attributes; and the creation date and time they all state.
import Foundation
import I2Model

enum DerivedHeader {
    /// What every derived object starts with: the character set, SOP class and instance, creation stamp,
    /// patient and study (below), and its series. Returns the stamp (DA, TM) for its other dates.
    @discardableResult
    static func start(_ f: DicomFile, from ref: DicomFile, sopClass: String, sopInstance: String, modality: String,
                      series: String, number: String, description: String) throws -> (date: String, time: String) {
        if let cs = ref.string(.specificCharacterSet), !cs.isEmpty { f.copy(.specificCharacterSet, from: ref) }
        let (date, time) = now()
        try f.set(.sopClassUID, sopClass)
        try f.set(.sopInstanceUID, sopInstance)
        try f.set(.instanceCreationDate, date)
        try f.set(.instanceCreationTime, time)
        try patientAndStudy(f, from: ref)
        try f.set(.modality, modality)
        try f.set(.seriesInstanceUID, series)
        try f.set(.seriesNumber, number)
        try f.set(.seriesDescription, description)
        try f.set(.seriesDate, date)
        try f.set(.seriesTime, time)
        return (date, time)
    }

    /// Frame of Reference and (Enhanced) General Equipment: i2 made it; `serial` for the Enhanced
    /// module, which requires DeviceSerialNumber.
    static func frameAndEquipment(_ f: DicomFile, frameOfReference: String, serial: Bool = false) throws {
        try f.set(.frameOfReferenceUID, frameOfReference)
        try f.set(.positionReferenceIndicator, "")
        try equipment(f, serial: serial)
    }

    /// (Enhanced) General Equipment alone: objects without a frame of reference of their own (SR).
    static func equipment(_ f: DicomFile, serial: Bool = false) throws {
        try f.set(.manufacturer, "i2")
        try f.set(.manufacturerModelName, "i2 nifti2seg")
        if serial { try f.set(.deviceSerialNumber, "1") }
        try f.set(.softwareVersions, "i2")
    }

    /// Patient and study (Type 2: copied, or present and empty), clinical trial subject and study when
    /// the source has them, from `ref`, one instance of the source series.
    static func patientAndStudy(_ f: DicomFile, from ref: DicomFile) throws {
        for tag: Tag in [.patientName, .patientID, .patientBirthDate, .patientSex, .studyDate, .studyTime,
                         .referringPhysicianName, .studyID, .accessionNumber] {
            if !f.copy(tag, from: ref) { try f.set(tag, "") }
        }
        for tag: Tag in [.studyInstanceUID, .studyDescription, .patientAge, .patientWeight] {
            f.copy(tag, from: ref)
        }
        // A module that is written is written whole (issue 11 item 15: dciodvfy names a missing Type 2
        // attribute of an optional module once any of its attributes is present): Type 2 present and empty
        // when the source does not give it. Clinical Trial Subject (PS3.3 C.7.1.3), from the source images.
        var subject = false
        for tag: Tag in [.clinicalTrialSponsorName, .clinicalTrialProtocolID, .clinicalTrialProtocolName, .clinicalTrialSiteID,
                         .clinicalTrialSiteName, .clinicalTrialSubjectID, .clinicalTrialSubjectReadingID] where f.copy(tag, from: ref) {
            subject = true
        }
        if subject {
            for tag: Tag in [.clinicalTrialProtocolName, .clinicalTrialSiteID, .clinicalTrialSiteName] where f.string(tag) == nil {
                try f.set(tag, "")
            }
        }
    }

    /// Today's date and the time now, as DA and TM values.
    static func now() -> (date: String, time: String) {
        let now = Date()
        return (format(now, "yyyyMMdd"), format(now, "HHmmss"))
    }

    static func format(_ d: Date, _ pattern: String) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = pattern
        return f.string(from: d)
    }

    /// The source slices as the writers' shims take them: four '\n'-terminated lines per slice
    /// (ImagePositionPatient as written, SOP class, SOP instance, frame number or empty).
    static func sliceTable(_ slices: [SourceSlice]) -> String {
        var table = ""
        table.reserveCapacity(slices.count * 200)
        for s in slices {
            table += s.imagePositionPatient + "\n" + s.sopClassUID + "\n" + s.sopInstanceUID + "\n"
            table += (s.frameNumber.map(String.init) ?? "") + "\n"
        }
        return table
    }
}

extension DicomFile {
    /// A Code Sequence Macro item at `at`.
    func setCode(_ at: TagPath, _ c: CodedConcept) throws {
        try set(at / .codeValue, c.codeValue)
        try set(at / .codingSchemeDesignator, c.codingSchemeDesignator)
        if let v = c.codingSchemeVersion { try set(at / .codingSchemeVersion, v) }
        try set(at / .codeMeaning, c.codeMeaning)
    }
}
