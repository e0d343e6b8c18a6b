// What every object i2 derives from a source series (SEG, RT Structure Set) copies from it: patient,
// study and clinical trial attributes; and the creation date and time they all state.
import Foundation

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
}
