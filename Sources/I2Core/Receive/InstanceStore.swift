// What `i2 receive` does with each complete data set: check its identifying UIDs, make it durable,
// move it into the store layout and apply the duplicate policy. Only then does the sender get success.
//
// Durability costs one fsync per instance: the finished `.part` is renamed to `.done` in the incoming
// directory and fsync'ed (on journaling filesystems that commits the data and the rename together),
// then renamed into place. A crash before the final rename leaves a `.done` that the next start moves
// into place (`recover`), so nothing acknowledged is lost and nothing half-written ever becomes visible.
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
        case refused(StoreAnswer, Refusal)
    }

    /// Why an instance was refused, as receive's metrics count it (a label value: snake_case).
    public enum Refusal: String, CaseIterable, Sendable {
        case storage = "storage_error"      // fsync, mkdir or rename failed (0xA700)
        case unparseable                    // not a DICOM data set we can read (0xC000)
        case invalidUID = "invalid_uid"     // Study/Series/SOP Instance UID missing or not a UID (0xC000)
        case duplicate                      // --on-duplicate reject, other content under this SOP UID (0xC000)
    }

    /// Moves the data set at `temporary` into place. The temporary file is gone afterwards in every case
    /// (a refused one too, unless `keepRefused`: then it is left where it is, for the caller to quarantine).
    public func store(temporary: String, sopInstanceUID expected: String, keepRefused: Bool = false) -> Outcome {
        var current = temporary
        var moved = false
        var refused = false
        defer { if !moved && !(keepRefused && refused) { unlink(current) } }
        if durable && current.hasSuffix(".part") {
            let done = String(current.dropLast(5)) + ".done"
            // The one fsync of this instance (see the top of the file).
            do { try AtomicFile.move(current, to: done, sync: .file) } catch {
                if !FileManager.default.fileExists(atPath: current) { current = done }   // renamed, fsync failed
                return .refused(.outOfResources(Self.reason(error)), .storage)
            }
            current = done
        }
        let file: DicomFile
        do { file = try DicomFile(path: current) } catch {
            refused = true
            return .refused(.cannotUnderstand("data set cannot be parsed: \((error as? I2Error)?.detail ?? "\(error)")"), .unparseable)
        }
        let sop = file.string(.sopInstanceUID) ?? expected
        let study = file.string(.studyInstanceUID) ?? ""
        let series = file.string(.seriesInstanceUID) ?? ""
        for (name, uid) in [("SOPInstanceUID", sop), ("StudyInstanceUID", study), ("SeriesInstanceUID", series)]
        where !StoreLayout.isUID(uid) {
            refused = true
            return .refused(.cannotUnderstand("\(name) is missing or not a valid UID"), .invalidUID)
        }
        let patient = file.string(.patientID) ?? ""
        let dir = [root, StoreLayout.patientComponent(patient), study, series].joined(separator: "/")
        if let reason = Directories.create(dir) { return .refused(.outOfResources(reason), .storage) }

        // The stored copies of this SOP Instance UID: <SOP>.dcm, then <SOP>_2.dcm, <SOP>_3.dcm, …
        let variants = [dir + "/" + sop + ".dcm"] + (2...).lazy.map { "\(dir)/\(sop)_\($0).dcm" }
            .prefix { FileManager.default.fileExists(atPath: $0) }
        var target = variants[0]
        if FileManager.default.fileExists(atPath: target) {
            if let same = variants.first(where: { DataSetBytes.equal($0, current) }) { return .identical(path: same) }
            switch onDuplicate {
            case .reject:
                return .refused(.cannotUnderstand("an instance with this SOP Instance UID and other content is stored"), .duplicate)
            case .overwrite:
                break
            case .keepBoth:
                target = "\(dir)/\(sop)_\(variants.count + 1).dcm"
            }
        }
        do { try AtomicFile.move(current, to: target) } catch { return .refused(.outOfResources(Self.reason(error)), .storage) }
        moved = true
        return .stored(path: target, patient: patient, study: study, series: series)
    }

    /// An AtomicFile error as the plain reason a store answer carries.
    static func reason(_ error: Error) -> String { (error as? I2Error)?.detail ?? "\(error)" }

    /// At start: moves completed instances a previous run acknowledged but had not yet placed (`.done`)
    /// into the store, and removes unfinished transfers (`.part`) of receivers no longer running.
    ///
    /// An acknowledged instance is never deleted and never allowed to take the node down: before it is
    /// parsed, its `.done` is renamed `.recovering`, so if parsing it crashes this process, the next start
    /// finds the `.recovering` and moves it to the quarantine without parsing it again (instead of
    /// crashing at every start). One that parses but cannot be stored (no valid UIDs) is quarantined too.
    public func recover(incoming: String, quarantine: String, stored: (String) -> Void, quarantined: (String, String) -> Void) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: incoming) else { return }
        for name in names.sorted() where name.hasPrefix(".i2-") {
            let pid = name.dropFirst(4).split(separator: "-").first.flatMap { Int32($0) } ?? 0
            if pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) { continue }   // its receiver is alive
            let path = incoming + "/" + name
            func toQuarantine(_ from: String, _ why: String) {
                let target = quarantine + "/" + String(name.dropFirst(4).split(separator: ".").first ?? "") + ".dcm"
                if Directories.create(quarantine) == nil, (try? AtomicFile.move(from, to: target)) != nil {
                    quarantined(target, why)
                } else {
                    quarantined(from, why + " (and it could not be moved to \(quarantine): left in place)")
                }
            }
            if name.hasSuffix(".recovering") {
                toQuarantine(path, "parsing it stopped a previous recovery")
            } else if name.hasSuffix(".done") {
                let recovering = String(path.dropLast(5)) + ".recovering"
                guard rename(path, recovering) == 0 else { continue }
                switch store(temporary: recovering, sopInstanceUID: "", keepRefused: true) {
                case .stored(let p, _, _, _): stored(p)
                case .identical: break
                case .refused(let answer, _):
                    if FileManager.default.fileExists(atPath: recovering) { toQuarantine(recovering, answer.comment) }
                }
            } else {
                unlink(path)
            }
        }
    }
}

/// Compares two Part 10 files by their data sets, ignoring the file meta information (which names the
/// sending AE and differs between otherwise identical copies). Where the data set starts comes from I2DICOM.
enum DataSetBytes {
    static func equal(_ a: String, _ b: String) -> Bool {
        guard let x = try? FileBytes.read(a), let y = try? FileBytes.read(b),
              let i = try? FileMetaInformation(path: a).dataSetOffset, let j = try? FileMetaInformation(path: b).dataSetOffset
        else { return false }
        return x[min(i, x.count)...] == y[min(j, y.count)...]
    }
}

enum Directories {
    /// mkdir -p; nil on success, else a plain reason ("…: Not a directory").
    static func create(_ path: String) -> String? {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return nil
        } catch {
            let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            return "cannot create \(path): " + (posix.map { String(cString: strerror(Int32($0.code))) } ?? "\(error)")
        }
    }
}
