// i2 process: declared so help, man pages and completions list it; not built yet.

enum Process {
    static let command = NotYetBuilt.command("process", "Run an image-processing tool on a series and turn its output into DICOM", "Produces DICOM-SEG, encapsulated PDF or derived series from a tool's output.")
}
