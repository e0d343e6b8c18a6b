// i2 send: declared so help, man pages and completions list it; not built yet.

enum Send {
    static let command = NotYetBuilt.command("send", "Send DICOM files to a PACS (C-STORE SCU)", "C-STOREs files and directories to a DICOM node.")
}
