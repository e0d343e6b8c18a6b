// A PDF report → an Encapsulated PDF instance (PS3.3 A.45.1) in the study of its source series, so it
// appears next to the images in the PACS. It lists the source instances it was derived from.
import Foundation
import I2DICOM
import I2Model

enum EncapsulatedPDF {
    static let sopClass = "1.2.840.10008.5.1.4.1.1.104.1"

    /// Writes `pdf` (a file starting with %PDF-) as `target`, atomically. UIDs derive from the PDF's
    /// contents and the source series, so the same report re-sent replaces the earlier one.
    static func write(pdf: String, series: SeriesInput, title: String, seriesDescription: String?, to target: String) throws {
        let bytes = try FileBytes.read(pdf)
        guard bytes.starts(with: Array("%PDF-".utf8)) else {
            throw I2Error(.badInput, path: pdf, "not a PDF (it does not start with %PDF-)")
        }
        let ref = try DicomFile(path: series.stack.first.path)
        let seed = "pdf:" + Hash.hex(bytes) + "/ref:" + series.uid
        let now = VolumeToDicom.Stamp()
        let f = DicomFile(newAt: target)
        try f.set(.sopClassUID, sopClass)
        try f.set(.sopInstanceUID, UID.derived(from: seed + "/instance"))
        try VolumeToDicom.patientAndStudy(f, ref: ref, refSeriesUID: series.uid, now: now)
        // Encapsulated Document Series, General Equipment, SC Equipment.
        try f.set(.modality, "DOC")
        try f.set(.seriesInstanceUID, UID.derived(from: seed + "/series"))
        let refNumber = ref.string(.seriesNumber).flatMap { Int($0) }
        try f.set(.seriesNumber, String(refNumber.map { min(max($0, 0), Int(Int32.max) - 2000) + 2000 } ?? 2000))
        try f.set(.seriesDescription, String((seriesDescription ?? title).prefix(64)))
        try f.set(.manufacturer, "i2")
        try f.set(.conversionType, "WSD")
        // Encapsulated Document.
        try f.set(.instanceNumber, "1")
        try f.set(.contentDate, now.date)
        try f.set(.contentTime, now.time)
        try f.set(.acquisitionDateTime, now.date + now.time)
        try f.set(.burnedInAnnotation, "YES")
        try f.set(.documentTitle, String(title.prefix(64)))
        try f.set(.conceptNameCodeSequence, "")
        try f.set(.mimeTypeOfEncapsulatedDocument, "application/pdf")
        for (i, s) in series.stack.slices.enumerated() {
            try f.set(Tag.sourceInstanceSequence[i] / .referencedSOPClassUID, s.sopClassUID)
            try f.set(Tag.sourceInstanceSequence[i] / .referencedSOPInstanceUID, s.sopInstanceUID)
        }
        try f.set(.encapsulatedDocumentLength, String(bytes.count))
        try bytes.withUnsafeBytes { try f.setBytes(.encapsulatedDocument, $0) }
        try AtomicFile.write(to: target) { tmp in try f.save(to: tmp) }
    }
}
