// Shared helpers of the end-to-end convert tests: the .venv Python peers, the scripts in Tests/Tools,
// generated series, dcm2niix references, and directory listings (dot-files included).
import Foundation
import XCTest
import I2TestSupport

enum E2E {
    static let root = TestSupport.packageRoot.path
    static let tools = root + "/Tests/Tools"
    static let ctSlice = TestSupport.fixture("dcmqi/ct-3slice/01.dcm")
    /// Edge of the generated slices. The brief suggested 64, but the 64x64 top-left crop of the source CT
    /// is uniform air (-2000): 160x160 holds 882 distinct values, so codecs and interpolation are tested.
    static let generatedSize = "160"

    /// `<packageRoot>/.venv/bin/python3`, or a failure telling how to create it.
    static func python() throws -> String {
        let p = root + "/.venv/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: p) else {
            throw TestSupport.Missing("run 'bash scripts/install-deps.sh' (creates .venv with nibabel, numpy, pydicom)")
        }
        return p
    }

    /// One of dcmqi's programs (segimage2itkimage, tid1500reader, ...) from the dcmqi wheel in .venv.
    static func dcmqi(_ tool: String) throws -> String {
        let p = root + "/.venv/bin/" + tool
        guard FileManager.default.isExecutableFile(atPath: p) else {
            throw TestSupport.Missing("pip install dcmqi into .venv (scripts/install-deps.sh): it ships \(tool)")
        }
        return p
    }

    /// Runs a script of Tests/Tools (or inline code with "-c") with the .venv Python.
    @discardableResult
    static func py(_ args: [String], stdin: String? = nil) throws -> TestSupport.Result {
        var a = args
        if let first = a.first, first != "-c", !first.hasPrefix("/") { a[0] = tools + "/" + first }
        return try TestSupport.run(try python(), a, stdin: stdin)
    }

    /// Runs Python code; fails the test with its stderr when it exits non-zero; returns stdout trimmed.
    @discardableResult
    static func pyCode(_ code: String, _ args: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try py(["-c", code] + args)
        XCTAssertEqual(r.status, 0, "python helper failed: \(r.stderr)", file: file, line: line)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// make_series.py from the real CT slice into `out` (12 slices, generatedSize) plus extra options.
    static func makeSeries(_ out: String, _ options: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try py(["make_series.py", ctSlice, out, "--size", generatedSize, "--slices", "12"] + options)
        XCTAssertEqual(r.status, 0, "make_series.py failed: \(r.stderr)", file: file, line: line)
    }

    /// compare_nifti.py TEST REFERENCE: asserts a match and shows the script's message otherwise.
    static func assertSameImage(_ test: String, _ reference: String, _ options: [String] = [],
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try py(["compare_nifti.py", test, reference] + options)
        XCTAssertEqual(r.status, 0, "\(r.stderr)\(r.stdout)", file: file, line: line)
    }

    /// Runs i2 and asserts its exit status, showing stderr on a mismatch.
    @discardableResult
    static func i2(_ args: [String], expect status: Int32 = 0, stdin: String? = nil, cwd: String? = nil,
                   file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.Result {
        let r = try TestSupport.i2(args, stdin: stdin, cwd: cwd)
        XCTAssertEqual(r.status, status, "i2 \(args.joined(separator: " ")) → stderr: \(r.stderr)", file: file, line: line)
        return r
    }

    /// dcm2niix -z n -f ref -o OUT DIR; returns OUT and the .nii files it wrote (sorted).
    static func dcm2niix(_ dir: String, into out: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let exe = try TestSupport.tool("dcm2niix", package: "dcm2niix")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let r = try TestSupport.run(exe, ["-z", "n", "-f", "ref", "-o", out, dir])
        XCTAssertEqual(r.status, 0, "dcm2niix failed on \(dir): \(r.stdout)\(r.stderr)", file: file, line: line)
        return try list(out).filter { $0.hasSuffix(".nii") }
    }

    /// The dcm2niix reference named `pick` among exactly the `expected` .nii files; throws when dcm2niix
    /// wrote another set (ambiguous or missing).
    static func reference(_ dir: String, into out: String, expected: Set<String> = ["ref.nii"],
                          pick: String = "ref.nii") throws -> String {
        let names = try dcm2niix(dir, into: out)
        guard Set(names) == expected else {
            throw Failure("dcm2niix wrote \(names) into \(out), expected exactly \(expected.sorted()): cannot pick the reference")
        }
        return out + "/" + pick
    }

    /// Every file under `root`, dot-files included: relative path → bytes (whole output trees compared).
    static func tree(_ root: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: root)
        while let rel = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
                out[rel] = try Data(contentsOf: URL(fileURLWithPath: root + "/" + rel))
            }
        }
        return out
    }

    /// Every entry of a directory, dot-files included, sorted.
    static func list(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    /// Copies a directory (or file) to `to`.
    static func copy(_ from: String, _ to: String) throws {
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    /// Shape of a NIfTI image (nibabel), e.g. [160, 160, 12].
    static func shape(_ path: String) throws -> [Int] {
        let out = try pyCode("import sys, nibabel; print(' '.join(map(str, nibabel.load(sys.argv[1]).shape)))", [path])
        return out.split(separator: " ").compactMap { Int($0) }
    }

    /// Rewrites DICOM attributes with pydicom: `assignments` are Python statements on `ds` (e.g.
    /// "ds.SeriesNumber = 7"), run for each file; the file is saved in place.
    static func edit(_ files: [String], _ assignments: String) throws {
        let code = """
        import sys, pydicom
        from pydicom.uid import generate_uid
        for path in sys.argv[1:]:
            ds = pydicom.dcmread(path)
        \(assignments.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            ds.save_as(path)
        """
        try pyCode(code, files)
    }

    /// The non-empty lines of a text.
    static func lines(_ s: String) -> [String] {
        s.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    /// stderr lines that report errors (not warnings).
    static func errorLines(_ s: String) -> [String] {
        lines(s).filter { $0.lowercased().contains("error") }
    }

    /// Entries of `dir` that look like leftovers: dot-files or temporary names.
    static func leftovers(_ dir: String) throws -> [String] {
        try list(dir).filter { $0.hasPrefix(".") || $0.contains("tmp") || $0.hasSuffix("~") }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}

/// A temporary working directory per test.
class E2ECase: XCTestCase {
    var dir = ""
    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }
    func path(_ name: String) -> String { dir + "/" + name }
    func mkdir(_ name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true)
        return path(name)
    }

    /// One `i2 convert` of `inputs` (`count` damaged files f00.dcm, ..., each its own series): each is
    /// converted or refused by name, some are refused, and nothing crashes (status at most 1).
    func assertEachConvertedOrRefusedByName(_ inputs: String, count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try TestSupport.i2(["convert", inputs, try mkdir("out-" + UUID().uuidString)])
        XCTAssertLessThanOrEqual(r.status, 1, r.stderr, file: file, line: line)
        let failed = E2E.errorLines(r.stderr)
        let written = E2E.lines(r.stdout).filter { $0.hasSuffix(".nii.gz") }
        XCTAssertGreaterThan(failed.count, 0, file: file, line: line)
        XCTAssertEqual(failed.count + written.count, count, "each file converted or refused once:\n\(r.stderr)", file: file, line: line)
        for l in failed { XCTAssertTrue(l.contains(inputs + "/f"), l, file: file, line: line) }
    }
}
