// man/i2.1 and man/i2-<sub>.1, generated from the command table (placeholder until written).
enum ManPage {
    static func top() -> String { "" }
    static func command(_ c: Command) -> String { "" }
}
enum Completion {
    static func bash() -> String { "" }
    static func zsh() -> String { "" }
    static func fish() -> String { "" }
}
