// scripts/demo.sh promises that stdout is only the SEG's URL: what installing and building print must go
// to stderr. Run with stubs on PATH (apt-get and swift print to stdout, packages look missing, the build
// fails so the demo stops there), its stdout must stay empty.
import Foundation
import XCTest
import I2TestSupport

final class DemoScriptTests: XCTestCase {
    func testInstallAndBuildOutputGoesToStderr() throws {
        let tmp = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let bin = tmp + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let stubs = [
            "dpkg-query": "exit 1",                                          // nothing is installed
            "apt-get": "echo \"apt-get $*: Get:1 http://deb.debian.org/debian bookworm InRelease\"",
            "sudo": "exec \"$@\"",
            "swift": "echo \"swift $*: Compiling i2\"; exit 1",               // the build fails: the demo stops
        ]
        for (name, body) in stubs {
            let path = bin + "/" + name
            try "#!/bin/bash\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertEqual(chmod(path, 0o755), 0)
        }
        let script = TestSupport.packageRoot.appendingPathComponent("scripts/demo.sh").path
        let r = try TestSupport.run("/bin/bash", [script],
                                    environment: ["PATH": bin + ":/usr/bin:/bin", "I2_SCRATCH": tmp + "/scratch", "TMPDIR": tmp])
        XCTAssertNotEqual(r.status, 0, "the stubbed build fails, so must the demo")
        XCTAssertEqual(r.stdout, "", "demo.sh printed on stdout (only the SEG's URL belongs there)")
        XCTAssertTrue(r.stderr.contains("apt-get install") && r.stderr.contains("apt-get update"), "apt-get did not run: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("swift build -c release"), "swift build did not run: \(r.stderr)")
    }

    /// --wait is documented in the README and in the script, and a run without it says how to keep Orthanc up.
    func testWaitIsDocumented() throws {
        let readme = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains("bash scripts/demo.sh --wait"), "README does not document demo.sh --wait")
        let demo = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("scripts/demo.sh"), encoding: .utf8)
        XCTAssertTrue(demo.contains("run 'bash scripts/demo.sh --wait'"), "demo.sh does not say how to keep Orthanc up")
    }
}
