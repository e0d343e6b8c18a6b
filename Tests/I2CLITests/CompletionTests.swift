// The checked-in completion scripts, run in the real bash (with and without bash-completion), zsh and
// fish: each shell is asked what it offers for a command line, as if Tab were pressed at its end.
import Foundation
import XCTest
import I2TestSupport

final class CompletionTests: XCTestCase {
    let completions = TestSupport.packageRoot.appendingPathComponent("completions").path
    var dir = ""    // holds scan.nii.gz, notes.txt, tool.json and series/, for path completion

    override func setUpWithError() throws {
        dir = TestSupport.tempDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/series", withIntermediateDirectories: true)
        for f in ["scan.nii.gz", "notes.txt", "tool.json"] { XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/" + f, contents: Data())) }
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testBash() throws { try checkAll(shell: "bash") { try self.bash($0) } }
    func testBashWithoutBashCompletion() throws { try checkAll(shell: "bash (plain)") { try self.bash($0, bashCompletion: false) } }
    func testZsh() throws { try checkAll(shell: "zsh", zsh) }
    func testFish() throws { try checkAll(shell: "fish", fish) }

    /// What every shell must offer.
    func checkAll(shell: String, _ complete: (String) throws -> [String]) throws {
        func expect(_ line: String, _ check: ([String]) -> Bool, _ what: String) throws {
            let offered = try complete(line)
            XCTAssertTrue(check(offered), "\(shell): '\(line)<TAB>' should offer \(what); offered \(offered)")
        }
        try expect("i2 con", { $0 == ["convert"] }, "only convert")
        try expect("i2 ", { $0.contains("receive") && $0.contains("nifti2seg") }, "the subcommands")
        try expect("i2 help ", { $0.contains("convert") && $0.contains("watch") }, "the subcommands")
        try expect("i2 convert --", { $0.contains("--output") && $0.contains("--tilt") && !$0.contains("--version") },
                   "convert's long options")
        try expect("i2 convert -", { $0.contains("-o") }, "convert's short options")
        try expect("i2 convert --tilt ", { Set($0) == ["shear", "resample"] }, "the --tilt choices only")
        try expect("i2 convert \(dir)/sc", { $0.contains { $0.hasSuffix("scan.nii.gz") } }, "the file scan.nii.gz")
        try expect("i2 convert -o \(dir)/", { $0.contains { $0.hasSuffix("notes.txt") } }, "files for --output")
        try expect("i2 convert --ref \(dir)/", { $0.contains { $0.hasSuffix("series") || $0.hasSuffix("series/") }
                                                 && !$0.contains { $0.hasSuffix("scan.nii.gz") } }, "directories only")
        // --tool: the built-in tools by name and tool descriptions (*.json) as files.
        try expect("i2 process --tool th", { $0 == ["threshold"] }, "the built-in threshold")
        try expect("i2 process -t th", { $0 == ["threshold"] }, "the built-in threshold")
        try expect("i2 process --tool \(dir)/", { $0.contains { $0.hasSuffix("tool.json") } && !$0.contains { $0.hasSuffix("notes.txt") } },
                   "the tool description tool.json, not notes.txt")
        // One extension: zsh read the old "*.(json)" as glob qualifiers and offered nothing.
        try expect("i2 nifti2seg --meta \(dir)/", { $0.contains { $0.hasSuffix("tool.json") } && !$0.contains { $0.hasSuffix("notes.txt") } },
                   "the JSON file, not notes.txt")
        try expect("i2 --generate man-c", { $0 == ["man-convert"] }, "the --generate choice")
    }

    // MARK: shell drivers

    func bash(_ line: String, bashCompletion: Bool = true) throws -> [String] {
        let bash = try TestSupport.tool("bash", package: "bash")
        let library = "/usr/share/bash-completion/bash_completion"
        guard FileManager.default.fileExists(atPath: library) else {
            throw TestSupport.Missing("bash-completion is not installed: apt-get install -y bash-completion")
        }
        let driver = """
            [[ $1 == yes ]] && source \(library)
            source \(completions)/i2.bash
            COMP_LINE=$2
            COMP_POINT=${#COMP_LINE}
            read -ra COMP_WORDS <<<"$COMP_LINE"
            [[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            _i2
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        return try offered(bash, ["--norc", "--noprofile", "-c", driver, "bash", bashCompletion ? "yes" : "no", line])
    }

    /// zsh completes only inside its line editor, so an interactive zsh runs under zpty, gets the
    /// line and a Tab typed in, and a compadd wrapper writes down every match it is given.
    func zsh(_ line: String) throws -> [String] {
        let zsh = try TestSupport.tool("zsh", package: "zsh")
        let work = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let setup = """
            PS1='' PROMPT='' RPROMPT=''
            fpath=(\(completions) $fpath)
            autoload -Uz compinit && compinit -u -D
            compadd() {
                # Calls that only collect matches for a caller (-O, -A, -D) are not offers.
                if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return; fi
                local -a hits
                builtin compadd -A hits "$@"
                (( $#hits )) && print -rl -- $hits >>\(work)/matches
                builtin compadd "$@"
            }
            _i2_test_done() { print >\(work)/done }
            comppostfuncs=(_i2_test_done)
            zstyle ':completion:*' completer _complete
            bindkey '^I' complete-word
            print >\(work)/ready
            """
        let driver = """
            zmodload zsh/zpty || exit 3
            zpty shell zsh -f -i
            zpty -w shell "source \(work)/setup.zsh"
            await() {
                local out
                repeat 400; do
                    [[ -e $1 ]] && return 0
                    zpty -rt shell out 2>/dev/null   # drain the terminal so the shell never blocks on it
                    sleep 0.05
                done
                print -u2 "zsh: no $1 after 20 s"; zpty -d shell; exit 4
            }
            await \(work)/ready
            zpty -w -n shell "$1"$'\\t'
            await \(work)/done
            zpty -d shell
            [[ -e \(work)/matches ]] && cat \(work)/matches
            exit 0
            """
        try setup.write(toFile: work + "/setup.zsh", atomically: true, encoding: .utf8)
        return try offered(zsh, ["-f", "-c", driver, "zsh", line])
    }

    func fish(_ line: String) throws -> [String] {
        let fish = try TestSupport.tool("fish", package: "fish")
        let out = try offered(fish, ["--no-config", "-c", "source $argv[1]; and complete -C $argv[2]",
                                     completions + "/i2.fish", line])
        return out.map { String($0.prefix { $0 != "\t" }) }     // "candidate<TAB>description"
    }

    /// Runs a shell, fails on a non-zero status or stderr, and returns stdout's non-empty lines, deduplicated.
    func offered(_ shell: String, _ args: [String]) throws -> [String] {
        let r = try TestSupport.run(shell, args)
        guard r.status == 0, r.stderr.isEmpty else {
            throw Failure("\(shell) exited \(r.status): \(r.stderr)")
        }
        var seen = Set<String>()
        return r.stdout.split(separator: "\n").map(String.init).filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}
