// The README's Install block, run as written (minus the two build lines) into a DESTDIR under a temp
// directory that holds none of the target directories: every directory must be created by the block.
import Foundation
import XCTest
import I2TestSupport

final class ReadmeInstallTests: XCTestCase {
    /// The ```sh block that follows "## Install" in README.md, one command per line.
    func installBlock() throws -> [String] {
        let readme = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        guard let section = readme.range(of: "\n## Install\n"),
              let open = readme.range(of: "```sh\n", range: section.upperBound..<readme.endIndex),
              let close = readme.range(of: "\n```", range: open.upperBound..<readme.endIndex) else {
            throw XCTSkip("no ```sh block under '## Install' in README.md")
        }
        return readme[open.upperBound..<close.lowerBound].split(separator: "\n").map(String.init)
    }

    func testInstallBlockCreatesEveryDirectoryUnderDestdir() throws {
        let lines = try installBlock()
        // The build steps are what they say (checked, not run: they take minutes and need root).
        XCTAssertEqual(lines.first, "bash scripts/install-deps.sh --build-only")
        XCTAssertTrue(lines.dropFirst().first?.hasPrefix("swift build -c release") == true, "\(lines)")
        // Every install line writes under $DESTDIR (else running it here would write to the real system).
        for line in lines.dropFirst(2) where line.hasPrefix("install ") {
            guard line.contains("\"$DESTDIR$prefix/") else {
                return XCTFail("README install line does not honour DESTDIR/PREFIX: \(line)")
            }
        }
        let commands = lines.dropFirst(2).joined(separator: "\n")

        let tmp = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        // A source tree with the files the block installs: the built binary and its DCMTK library (the
        // debug ones stand in for .build/release's), man/ and completions/ from the package.
        let src = tmp + "/src", fm = FileManager.default
        try fm.createDirectory(atPath: src + "/.build/release", withIntermediateDirectories: true)
        try fm.copyItem(atPath: TestSupport.i2Path, toPath: src + "/.build/release/i2")
        let library = URL(fileURLWithPath: TestSupport.i2Path).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("libi2dcmtk.so").path
        try fm.copyItem(atPath: library, toPath: src + "/.build/release/libi2dcmtk.so")
        for d in ["man", "completions"] {
            try fm.copyItem(atPath: TestSupport.packageRoot.appendingPathComponent(d).path, toPath: src + "/" + d)
        }
        let manPages = try fm.contentsOfDirectory(atPath: src + "/man").filter { $0.hasSuffix(".1") }
        XCTAssertTrue(manPages.contains("i2.1") && manPages.count > 1, "\(manPages)")

        for (prefix, root) in [(nil, "/usr/local"), ("/opt/i2", "/opt/i2")] as [(String?, String)] {
            let stage = tmp + "/stage-" + UUID().uuidString
            var env = ["DESTDIR": stage]
            if let p = prefix { env["PREFIX"] = p }
            let r = try TestSupport.run("/bin/bash", ["-euo", "pipefail", "-c", commands], environment: env, cwd: src)
            XCTAssertEqual(r.status, 0, "the README install block failed with DESTDIR=\(stage): \(r.stderr)")
            let base = stage + root
            XCTAssertTrue(fm.isExecutableFile(atPath: base + "/bin/i2"), "no \(root)/bin/i2")
            // The installed i2 finds its DCMTK library (../lib/i2): a JPEG 2000 file needs it to decode.
            let out = tmp + "/out-" + UUID().uuidString
            let converted = try TestSupport.run(base + "/bin/i2", ["convert", TestSupport.fixture("dcm_qa/j2k/u8.dcm"), out + ".nii"])
            XCTAssertEqual(converted.status, 0, "installed i2 cannot convert a JPEG 2000 file: \(converted.stderr)")
            // The library holds no Swift code and must not need a Swift runtime (NoSwiftRuntime.cpp):
            // none is installed on the machines i2 is copied to, and in i2's process it would be a second one.
            let needed = try TestSupport.run("/usr/bin/readelf", ["-d", base + "/lib/i2/libi2dcmtk.so"])
            XCTAssertEqual(needed.status, 0, needed.stderr)
            XCTAssertTrue(needed.stdout.contains("libdcmdata"), needed.stdout)
            XCTAssertFalse(needed.stdout.contains("libswift"), "libi2dcmtk.so needs a Swift runtime:\n\(needed.stdout)")
            for page in manPages {
                XCTAssertTrue(fm.fileExists(atPath: base + "/share/man/man1/" + page), "no \(root)/share/man/man1/\(page)")
            }
            for f in ["share/bash-completion/completions/i2", "share/zsh/site-functions/_i2", "share/fish/vendor_completions.d/i2.fish"] {
                XCTAssertTrue(fm.fileExists(atPath: base + "/" + f), "no \(root)/\(f)")
            }
            // Nothing outside DESTDIR: the stage holds only the prefix's top directory.
            XCTAssertEqual(try fm.contentsOfDirectory(atPath: stage), [String(root.split(separator: "/")[0])])
        }
    }
}
