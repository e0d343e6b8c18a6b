// Tool descriptions in-process (Process/ToolSpec.swift, ToolRunner.expand, ProcessRun's --param check,
// BuiltinTools): a valid description read field by field, unknown fields and bad values rejected with
// the field named, placeholder expansion and bad placeholders/parameters, and the built-in threshold
// description surviving a round trip through its own JSON (what `i2 process --describe` prints).
import Foundation
import XCTest
@testable import I2Core
import I2Model
import I2TestSupport

final class ToolSpecTests: XCTestCase {
    func decode(_ json: String, directory: String = "/tools") throws -> ToolSpec {
        try ToolSpec.decode(Data(json.utf8), path: "/tools/t.json", directory: directory)
    }

    /// The description must be refused with a bad-input error naming the file and containing `words`.
    func assertRefused(_ json: String, _ words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decode(json), file: file, line: line) { error in
            guard let e = error as? I2Error else { return XCTFail("not an I2Error: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .badInput, e.description, file: file, line: line)
            XCTAssertEqual(e.path, "/tools/t.json", file: file, line: line)
            for w in words { XCTAssertTrue(e.detail.contains(w), "'\(w)' not in: \(e.detail)", file: file, line: line) }
        }
    }

    /// A minimal valid description with `extra` fields spliced in and `outputs` replaced when given.
    func json(_ extra: String = "", outputs: String = #"[{"type": "pdf", "path": "r.pdf"}]"#) -> String {
        #"{"name": "t", "command": ["run", "{input}"], "outputs": \#(outputs)\#(extra.isEmpty ? "" : ", " + extra)}"#
    }

    func testValidDescriptionIsReadFieldByField() throws {
        let t = try decode("""
            {
              "name": "organs-2.1", "version": "2.1", "description": "d", "_comment": "ignored",
              "accepts": {"modalities": ["CT", "MR"], "sopClasses": "1.2.840.10008.5.1.4.1.1.2", "minSlices": 10, "maxSlices": 900},
              "input": "nrrd",
              "command": "tool --in {input} --out {output} --fast {param:fast}",
              "timeout": 90.5,
              "parameters": {"fast": "yes", "n": 3},
              "outputs": [
                {"type": "segmentation", "path": "seg/labels.nii.gz", "meta": "meta/organs.json", "segmentationType": "labelmap",
                 "unknownLabels": "generic", "emptyResult": "skip"},
                {"type": "segmentation", "path": "b.nii", "preset": "totalsegmentator"},
                {"type": "segmentation", "path": "c.nii", "meta": {"segmentAttributes": []}},
                {"type": "pdf", "path": "report.pdf", "title": "Report", "seriesDescription": "Organs report"},
                {"type": "image", "path": "im.nrrd"},
                {"type": "dicom", "path": "dcm"}
              ]
            }
            """)
        XCTAssertEqual(t.name, "organs-2.1")
        XCTAssertEqual(t.version, "2.1")
        XCTAssertEqual(t.accepts.modalities, ["CT", "MR"])
        XCTAssertEqual(t.accepts.sopClasses, ["1.2.840.10008.5.1.4.1.1.2"], "a single string is a list of one")
        XCTAssertEqual(t.accepts.minSlices, 10)
        XCTAssertEqual(t.accepts.maxSlices, 900)
        XCTAssertEqual(t.input, .nrrd)
        guard case .shell(let line) = t.command else { return XCTFail("a string command runs in the shell: \(t.command)") }
        XCTAssertEqual(line, "tool --in {input} --out {output} --fast {param:fast}")
        XCTAssertEqual(t.timeout, 90.5)
        XCTAssertEqual(t.parameters, ["fast": "yes", "n": "3"], "numbers become their text")
        XCTAssertEqual(t.outputs.map(\.kind), [.segmentation, .segmentation, .segmentation, .pdf, .image, .dicom])
        XCTAssertEqual(t.outputs[0].path, "seg/labels.nii.gz")
        guard case .file(let meta)? = t.outputs[0].meta else { return XCTFail("meta file expected") }
        XCTAssertEqual(meta, "/tools/meta/organs.json", "relative to the description's directory")
        XCTAssertEqual(t.outputs[0].segType, .labelmap)
        XCTAssertEqual(t.outputs[0].unknownLabels, "generic")
        XCTAssertEqual(t.outputs[0].emptyResult, "skip")
        guard case .preset("totalsegmentator")? = t.outputs[1].meta else { return XCTFail("preset expected") }
        XCTAssertEqual(t.outputs[1].segType, .binary, "default")
        XCTAssertEqual(t.outputs[1].emptyResult, "seg", "default")
        guard case .inline? = t.outputs[2].meta else { return XCTFail("inline meta expected") }
        XCTAssertEqual(t.outputs[3].title, "Report")
        XCTAssertEqual(t.outputs[3].seriesDescription, "Organs report")
    }

    func testDefaultsAndArgvCommand() throws {
        let t = try decode(json())
        XCTAssertEqual(t.input, .nifti)
        XCTAssertNil(t.timeout)
        XCTAssertEqual(t.parameters, [:])
        guard case .argv(let a) = t.command else { return XCTFail("an array is an argv: \(t.command)") }
        XCTAssertEqual(a, ["run", "{input}"])
        XCTAssertNil(t.refusal(modality: "XA", sopClass: "1.2", slices: 1), "no accepts: everything")
    }

    func testUnknownFieldsAreRefusedWithTheFieldNamed() {
        assertRefused(json(#""colour": "red""#), ["colour", "unknown field"])
        assertRefused(json(#""accepts": {"modality": "CT"}"#), ["accepts.modality", "unknown condition"])
        assertRefused(json(outputs: #"[{"type": "pdf", "path": "r.pdf", "colour": 1}]"#), ["outputs[0].colour", "unknown field"])
        assertRefused(json(outputs: #"[{"type": "pdf", "path": "r.pdf", "meta": "m.json"}]"#), ["outputs[0].meta", "segmentation only"])
    }

    func testBadValuesAreRefusedWithTheFieldNamed() {
        assertRefused("[]", ["JSON object"])
        assertRefused("{", [])
        assertRefused(#"{"command": ["x"], "outputs": [{"type": "pdf", "path": "r"}]}"#, ["name", "missing"])
        assertRefused(#"{"name": "a/b", "command": ["x"], "outputs": [{"type": "pdf", "path": "r"}]}"#, ["name", "a/b"])
        assertRefused(#"{"name": "", "command": ["x"], "outputs": [{"type": "pdf", "path": "r"}]}"#, ["name"])
        assertRefused(#"{"name": 5, "command": ["x"], "outputs": [{"type": "pdf", "path": "r"}]}"#, ["name", "must be a string"])
        assertRefused(#"{"name": "t", "outputs": [{"type": "pdf", "path": "r"}]}"#, ["command", "missing"])
        for bad in [#"[]"#, #""  ""#, #"[1]"#, "3"] {
            assertRefused(#"{"name": "t", "command": \#(bad), "outputs": [{"type": "pdf", "path": "r"}]}"#, ["command"])
        }
        assertRefused(#"{"name": "t", "command": "builtin:nope", "outputs": [{"type": "pdf", "path": "r"}]}"#, ["builtin:nope", "threshold"])
        assertRefused(json(#""input": "jpeg""#), ["input", "jpeg", "nifti"])
        assertRefused(json(#""timeout": 0"#), ["timeout"])
        assertRefused(json(#""timeout": "10""#), ["timeout"])
        assertRefused(json(#""parameters": ["a"]"#), ["parameters"])
        assertRefused(json(#""parameters": {"a": [1]}"#), ["parameters.a"])
        assertRefused(json(#""accepts": {"minSlices": -1}"#), ["accepts.minSlices"])
        assertRefused(json(#""accepts": {"maxSlices": 1.5}"#), ["accepts.maxSlices"])
        assertRefused(json(#""accepts": {"modalities": [1]}"#), ["accepts.modalities"])
        assertRefused(json(outputs: "[]"), ["outputs", "missing or empty"])
        assertRefused(json(outputs: #"[{"type": "mesh", "path": "m"}]"#), ["outputs[0].type", "mesh"])
        assertRefused(json(outputs: #"[{"type": "pdf"}]"#), ["outputs[0].path", "missing"])
        for path in ["/abs.pdf", "../up.pdf", "a/../../b.pdf", ""] {
            assertRefused(json(outputs: #"[{"type": "pdf", "path": "\#(path)"}]"#), ["outputs[0].path", "relative path"])
        }
        assertRefused(json(outputs: #"[{"type": "segmentation", "path": "s.nii"}]"#), ["outputs[0]", "meta", "preset"])
        assertRefused(json(outputs: #"[{"type": "segmentation", "path": "s.nii", "meta": "m", "preset": "totalsegmentator"}]"#), ["exclude"])
        assertRefused(json(outputs: #"[{"type": "segmentation", "path": "s.nii", "preset": "nope"}]"#), ["outputs[0].preset", "nope"])
        assertRefused(json(outputs: #"[{"type": "segmentation", "path": "s.nii", "meta": 5}]"#), ["outputs[0].meta"])
        assertRefused(json(outputs: #"[{"type": "segmentation", "path": "s.nii", "preset": "totalsegmentator", "segmentationType": "fractional"}]"#),
                      ["outputs[0].segmentationType", "fractional"])
        assertRefused(json(outputs: #"[{"type": "segmentation", "path": "s.nii", "preset": "totalsegmentator", "unknownLabels": "drop"}]"#),
                      ["outputs[0].unknownLabels"])
        assertRefused(json(outputs: #"[{"type": "segmentation", "path": "s.nii", "preset": "totalsegmentator", "emptyResult": "none"}]"#),
                      ["outputs[0].emptyResult"])
        assertRefused(json(outputs: #"[{"type": "pdf", "path": "r.pdf"}, 7]"#), ["outputs[1]", "object"])
    }

    func testLoadNamesAMissingFile() {
        XCTAssertThrowsError(try ToolSpec.load(path: "/nonexistent/tool.json")) { error in
            XCTAssertEqual((error as? I2Error)?.path, "/nonexistent/tool.json")
        }
    }

    func testAcceptsConditions() throws {
        let t = try decode(json(#""accepts": {"modalities": "ct", "minSlices": 3, "maxSlices": 5, "sopClasses": ["1.2.3"]}"#))
        XCTAssertNil(t.refusal(modality: "CT", sopClass: "1.2.3", slices: 3), "modality compared without case")
        XCTAssertNotNil(t.refusal(modality: "MR", sopClass: "1.2.3", slices: 3))
        XCTAssertNotNil(t.refusal(modality: "", sopClass: "1.2.3", slices: 3))
        XCTAssertNotNil(t.refusal(modality: "CT", sopClass: "1.2.4", slices: 3))
        XCTAssertNotNil(t.refusal(modality: "CT", sopClass: "1.2.3", slices: 2))
        XCTAssertNotNil(t.refusal(modality: "CT", sopClass: "1.2.3", slices: 6))
    }

    // MARK: placeholders and parameters

    let places = ToolRunner.Places(input: "/w/in put.nii.gz", output: "/w/out", series: "/d/P's/SE", work: "/w")

    func testPlaceholdersExpandAndAreShellQuotedForTheShell() throws {
        let argv = try ToolRunner.expand("{input}|{output}|{series}|{work}|{param:a}", places, ["a": "x y"], quote: false)
        XCTAssertEqual(argv, "/w/in put.nii.gz|/w/out|/d/P's/SE|/w|x y")
        let shell = try ToolRunner.expand("run {input} {series} {param:a}", places, ["a": "$(rm -rf /)"], quote: true)
        let r = try TestSupport.run("/bin/sh", ["-c", "printf '%s\\n' " + shell.dropFirst(4)])
        XCTAssertEqual(r.stdout, "/w/in put.nii.gz\n/d/P's/SE\n$(rm -rf /)\n", "each value one word, nothing evaluated")
    }

    func testParameterValuesAreNotExpandedAgain() throws {
        XCTAssertEqual(try ToolRunner.expand("{param:a}-{param:b}", places, ["a": "{param:b}", "b": "B"], quote: false), "{param:b}-B")
        XCTAssertEqual(try ToolRunner.expand("{param:a}", places, ["a": "{input}"], quote: false), "{input}")
    }

    func testUnknownPlaceholderParameterIsAUsageError() {
        XCTAssertThrowsError(try ToolRunner.expand("run {param:missing}", places, ["a": "1"], quote: false)) { error in
            XCTAssertEqual((error as? I2Error)?.kind, .usage)
            XCTAssertTrue("\(error)".contains("{param:missing}"), "\(error)")
        }
    }

    func testUnknownParamOnTheCommandLineStopsTheRunBeforeAnySeries() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = ProcessOptions(tool: try decode(json(#""parameters": {"lower": "1"}"#)), series: [dir + "/series"], output: dir + "/out")
        o.parameters = ["lowr": "5"]
        let r = ProcessRun.run(o, EngineContext())
        XCTAssertEqual(r.fatal?.kind, .usage)
        XCTAssertTrue(r.fatal?.detail.contains("--param lowr") ?? false, "\(String(describing: r.fatal))")
        XCTAssertTrue(r.fatal?.detail.contains("lower") ?? false, "names the known parameters: \(String(describing: r.fatal))")
        XCTAssertEqual(r.failures.count, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"), "nothing created")
    }

    // MARK: the built-in description

    func testBuiltinThresholdDescriptionRoundTrips() throws {
        let t = try XCTUnwrap(BuiltinTools.spec("threshold"))
        XCTAssertEqual(t.name, "threshold")
        guard case .builtin("threshold") = t.command else { return XCTFail("\(t.command)") }
        XCTAssertEqual(t.parameters, ["lower": "300", "upper": ""])
        XCTAssertEqual(t.accepts.modalities, ["CT"])
        XCTAssertEqual(t.outputs.count, 1)
        XCTAssertEqual(t.outputs[0].kind, .segmentation)
        XCTAssertEqual(t.outputs[0].path, "threshold.nii")
        guard case .inline(let meta)? = t.outputs[0].meta else { return XCTFail("inline meta expected") }
        let m = try XCTUnwrap(try JSONSerialization.jsonObject(with: meta) as? [String: Any])
        XCTAssertNotNil(m["segmentAttributes"])
        // What --describe prints is its JSON: read back (as a user's copy would be), it is the same tool.
        let again = try ToolSpec.decode(t.json, path: "/tmp/copy.json", directory: "/tmp")
        XCTAssertEqual(again.name, t.name)
        XCTAssertEqual(again.parameters, t.parameters)
        XCTAssertEqual(again.accepts.minSlices, 1)
        XCTAssertEqual(again.outputs.map(\.path), t.outputs.map(\.path))
        XCTAssertEqual(again.input, .nii)
        XCTAssertNil(BuiltinTools.spec("nope"))
    }
}
