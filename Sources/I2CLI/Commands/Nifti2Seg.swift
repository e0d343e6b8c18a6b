// i2 nifti2seg: declared so help, man pages and completions list it; not built yet.

enum Nifti2Seg {
    static let command = NotYetBuilt.command("nifti2seg", "Convert a label map to a DICOM-SEG referencing its source series", "Reads dcmqi segmentation metainfo JSON for the segment attributes.")
}
