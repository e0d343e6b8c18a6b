// i2 seg2nifti: declared so help, man pages and completions list it; not built yet.

enum Seg2Nifti {
    static let command = NotYetBuilt.command("seg2nifti", "Convert a DICOM-SEG to a label map with dcmqi-style JSON metadata", "Writes the label map and the segment metadata.")
}
