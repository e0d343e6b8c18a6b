// What every object i2 derives from a source series (SEG, RT Structure Set) copies from it: patient,
// study and clinical trial attributes; and the creation date and time they all state.
import Foundation

enum DerivedHeader {
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
