// i2 watch: declared so help, man pages and completions list it; not built yet.

enum Watch {
    static let command = NotYetBuilt.command("watch", "Notice completed series under a receive root and hand them on", "A series is complete after a quiet period with no new files.")
}
