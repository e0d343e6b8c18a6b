// What `i2 receive` does with each complete data set: check its identifying UIDs, move it into the
// store layout durably (fsync file, rename, fsync directory), and apply the duplicate policy. Only
// after that does the sender get success.
import Foundation
import I2DICOM
import I2Model

public enum DuplicatePolicy: String, CaseIterable, Sendable {
    case keepBoth = "keep-both"     // default: the new one is stored beside the old as <SOP>_2.dcm (nothing lost)
    case overwrite                  // the new one replaces the old
    case reject                     // the sender gets a failure status; the old one stays
}

public struct InstanceStore: Sendable {
    public var root: String
    public var durable = true
    public var onDuplicate = DuplicatePolicy.keepBoth
    public init(root: String) { self.root = root }

    public enum Outcome: Sendable {
        case stored(path: String, patient: String, study: String, series: String)
        case identical(path: String)                  // re-sent identical instance: nothing to do
        case refused(StoreAnswer)
    }

    /// Moves the data set at `temporary` into place. The temporary file is gone afterwards in every case.
    public func store(temporary: String, sopInstanceUID expected: String) -> Outcome {
        var moved = false
        defer { if !moved { unlink(temporary) } }
        let file: DicomFile
        do { file = try DicomFile(path: temporary) } catch {
            return .refused(.cannotUnderstand("data set cannot be parsed"))
        }
        let sop = file.string(.sopInstanceUID) ?? expected
        let study = file.string(.studyInstanceUID) ?? ""
        let series = file.string(.seriesInstanceUID) ?? ""
        for (name, uid) in [("SOPInstanceUID", sop), ("StudyInstanceUID", study), ("SeriesInstanceUID", series)]
        where !StoreLayout.isUID(uid) {
            return .refused(.cannotUnderstand("\(name) is missing or not a valid UID"))
        }
        let patient = file.string(.patientID) ?? ""
        let dir = [root, StoreLayout.patientComponent(patient), study, series].joined(separator: "/")
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            return .refused(.outOfResources("cannot create directory: \(error.localizedDescription)"))
        }
        var target = dir + "/" + sop + ".dcm"
        if FileManager.default.fileExists(atPath: target) {
            if FileManager.default.contentsEqual(atPath: target, andPath: temporary) { return .identical(path: target) }
            switch onDuplicate {
            case .reject:
                return .refused(.cannotUnderstand("an instance with this SOP Instance UID and other content is stored"))
            case .overwrite:
                break
            case .keepBoth:
                var n = 2
                while FileManager.default.fileExists(atPath: "\(dir)/\(sop)_\(n).dcm") { n += 1 }
                target = "\(dir)/\(sop)_\(n).dcm"
            }
        }
        if durable, let reason = Durable.sync(path: temporary) { return .refused(.outOfResources(reason)) }
        if rename(temporary, target) != 0 {
            return .refused(.outOfResources("cannot move into place: \(String(cString: strerror(errno)))"))
        }
        moved = true
        if durable, let reason = Durable.sync(path: dir) { return .refused(.outOfResources(reason)) }
        return .stored(path: target, patient: patient, study: study, series: series)
    }

    /// Removes temporaries left by receivers that are no longer running (a crash or kill -9).
    public static func removeStaleTemporaries(in incoming: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: incoming) else { return }
        for name in names where name.hasPrefix(".i2-") && name.hasSuffix(".part") {
            let pid = name.dropFirst(4).split(separator: "-").first.flatMap { Int32($0) } ?? 0
            if pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) { continue }   // its receiver is alive
            unlink(incoming + "/" + name)
        }
    }
}

enum Durable {
    /// fsync a file or directory; nil on success, else the reason.
    static func sync(path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "cannot open for fsync: \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        return fsync(fd) == 0 ? nil : "fsync failed: \(String(cString: strerror(errno)))"
    }
}
