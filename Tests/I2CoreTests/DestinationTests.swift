// Send destinations in-process (Send/Destination.swift): AET@HOST:PORT parsing (IPv6 in brackets),
// the node file and where it is looked for ($I2_NODES alone, else $XDG_CONFIG_HOME or ~/.config, then
// /etc), calling_aet, "tls", and bad node files reported as usage errors naming the file and the node.
import Foundation
import XCTest
@testable import I2Core
import I2Model
import I2TestSupport

final class DestinationTests: XCTestCase {
    var dir = ""
    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ text: String, to name: String) -> String {
        let p = dir + "/" + name
        try? FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(text.utf8)))
        return p
    }

    func assertUsage(_ body: @autoclosure () throws -> Any?, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? I2Error else { return XCTFail("not an I2Error: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .usage, e.description, file: file, line: line)
            for w in words { XCTAssertTrue(e.description.contains(w), "'\(w)' not in: \(e.description)", file: file, line: line) }
        }
    }

    // MARK: AET@HOST:PORT

    func testParsesNameAddressAndIPv6InBrackets() throws {
        XCTAssertEqual(try Destination.parse("ORTHANC@pacs.example.org:4242"),
                       Destination(aeTitle: "ORTHANC", host: "pacs.example.org", port: 4242))
        XCTAssertEqual(try Destination.parse("PACS@127.0.0.1:104"), Destination(aeTitle: "PACS", host: "127.0.0.1", port: 104))
        let v6 = try XCTUnwrap(try Destination.parse("PACS@[fe80::1]:11112"))
        XCTAssertEqual(v6.host, "fe80::1")
        XCTAssertEqual(v6.port, 11112)
        XCTAssertEqual(v6.address, "PACS@[fe80::1]:11112", "IPv6 written back in brackets")
        XCTAssertEqual(try Destination.parse("A@[::1]:1")?.host, "::1")
        // The AE title may itself hold '@': the last one separates it from the host.
        XCTAssertEqual(try Destination.parse("A@B@host:5")?.aeTitle, "A@B")
    }

    func testTextWithoutAtIsANodeName() throws {
        XCTAssertNil(try Destination.parse("pacs"))
        XCTAssertNil(try Destination.parse("pacs.example.org:4242"))
    }

    func testBadAddressesAreUsageErrors() {
        for text in ["PACS@host", "PACS@host:", "PACS@host:0", "PACS@host:65536", "PACS@host:port", "PACS@:104",
                     "PACS@[::1]", "PACS@[]:104", "PACS@host:-1"] {
            assertUsage(try Destination.parse(text), mentions: ["'\(text)'"])
        }
        for text in ["@host:104", "   @host:104", "ABCDEFGHIJKLMNOPQ@host:104", "A\\B@host:104", "A\u{7}B@host:104", "ÄE@host:104"] {
            assertUsage(try Destination.parse(text), mentions: ["AE title"])
        }
        XCTAssertEqual(try Destination.parse("ABCDEFGHIJKLMNOP@h:1")?.aeTitle, "ABCDEFGHIJKLMNOP", "16 characters are allowed")
    }

    // MARK: node file lookup

    func testLookupOrderI2NodesThenXDGThenEtc() {
        XCTAssertEqual(NodeFile.candidates(environment: ["I2_NODES": "/x/n.json", "XDG_CONFIG_HOME": "/c", "HOME": "/h"]),
                       ["/x/n.json"], "I2_NODES alone, no fallback")
        XCTAssertEqual(NodeFile.candidates(environment: ["XDG_CONFIG_HOME": "/c", "HOME": "/h"]),
                       ["/c/i2/nodes.json", "/etc/i2/nodes.json"])
        XCTAssertEqual(NodeFile.candidates(environment: ["HOME": "/h"]), ["/h/.config/i2/nodes.json", "/etc/i2/nodes.json"])
        XCTAssertEqual(NodeFile.candidates(environment: ["I2_NODES": "", "XDG_CONFIG_HOME": "relative", "HOME": "/h"]),
                       ["/h/.config/i2/nodes.json", "/etc/i2/nodes.json"], "empty I2_NODES and a relative XDG_CONFIG_HOME are ignored")
    }

    func testResolveReadsTheFirstExistingNodeFile() throws {
        let xdg = dir + "/xdg"
        _ = write(#"{"pacs": "XDG@xdg.example:104"}"#, to: "xdg/i2/nodes.json")
        let forced = write(#"{"pacs": {"aet": "FORCED", "host": "forced.example", "port": 4242, "calling_aet": "I2RES"}}"#, to: "forced.json")
        let viaXDG = try Destination.resolve("pacs", environment: ["XDG_CONFIG_HOME": xdg, "HOME": dir])
        XCTAssertEqual(viaXDG.aeTitle, "XDG")
        XCTAssertEqual(viaXDG.name, "pacs")
        XCTAssertNil(viaXDG.callingAE)
        let viaForced = try Destination.resolve("pacs", environment: ["I2_NODES": forced, "XDG_CONFIG_HOME": xdg, "HOME": dir])
        XCTAssertEqual(viaForced, Destination(aeTitle: "FORCED", host: "forced.example", port: 4242, callingAE: "I2RES", name: "pacs"))
        XCTAssertEqual(viaForced.label, "pacs (FORCED@forced.example:4242)")
        // An address never consults the node file.
        XCTAssertEqual(try Destination.resolve("A@h:1", environment: ["I2_NODES": dir + "/missing.json"]).aeTitle, "A")
    }

    func testMissingFilesAndUnknownNamesAreUsageErrors() {
        assertUsage(try Destination.resolve("pacs", environment: ["I2_NODES": dir + "/missing.json"]),
                    mentions: ["I2_NODES", dir + "/missing.json"])
        let empty = dir + "/empty-config"
        let cands = NodeFile.candidates(environment: ["XDG_CONFIG_HOME": empty, "HOME": dir])
        if !FileManager.default.fileExists(atPath: "/etc/i2/nodes.json") {
            assertUsage(try Destination.resolve("pacs", environment: ["XDG_CONFIG_HOME": empty, "HOME": dir]),
                        mentions: ["'pacs'", cands[0], "/etc/i2/nodes.json"])
        }
        let f = write(#"{"b": "B@h:1", "a": "A@h:2"}"#, to: "n.json")
        assertUsage(try Destination.resolve("c", environment: ["I2_NODES": f]), mentions: ["no node named 'c'", f, "a, b"])
    }

    func testBadNodeFilesNameTheFileAndTheNode() {
        let cases: [(String, [String])] = [
            ("not json", ["JSON object"]),
            ("[1, 2]", ["JSON object"]),
            (#"{"p": 4242}"#, ["node 'p'", "object"]),
            (#"{"p": "no-at-sign"}"#, ["node 'p'", "AET@HOST:PORT"]),
            (#"{"p": "A@h:99999"}"#, ["'A@h:99999'"]),
            (#"{"p": {"host": "h", "port": 1}}"#, ["node 'p'", "\"aet\""]),
            (#"{"p": {"aet": "A", "port": 1}}"#, ["node 'p'", "\"host\""]),
            (#"{"p": {"aet": "A", "host": "", "port": 1}}"#, ["node 'p'", "\"host\""]),
            (#"{"p": {"aet": "A", "host": "h"}}"#, ["node 'p'", "\"port\""]),
            (#"{"p": {"aet": "A", "host": "h", "port": 70000}}"#, ["node 'p'", "\"port\""]),
            (#"{"p": {"aet": "A", "host": "h", "port": "x"}}"#, ["node 'p'", "\"port\""]),
            (#"{"p": {"aet": "THIS-AE-TITLE-IS-TOO-LONG", "host": "h", "port": 1}}"#, ["node 'p'", "\"aet\""]),
            (#"{"p": {"aet": "A", "host": "h", "port": 1, "calling_aet": ""}}"#, ["node 'p'", "\"calling_aet\""]),
        ]
        for (i, (text, words)) in cases.enumerated() {
            let f = write(text, to: "bad\(i).json")
            assertUsage(try NodeFile.load(f), mentions: words)
            XCTAssertThrowsError(try NodeFile.load(f)) { XCTAssertEqual(($0 as? I2Error)?.path, f, text) }
        }
        assertUsage(try NodeFile.load(dir + "/missing.json"), mentions: ["cannot read"])
    }

    func testNodeFileForms() throws {
        let f = write(#"{"s": "S@h1:11", "o": {"aet": "O", "host": "h2", "port": "12", "calling_aet": "ME"}, "v6": "V@[::1]:13"}"#, to: "n.json")
        let nodes = try NodeFile.load(f)
        XCTAssertEqual(nodes["s"], .dimse(Destination(aeTitle: "S", host: "h1", port: 11)))
        XCTAssertEqual(nodes["o"], .dimse(Destination(aeTitle: "O", host: "h2", port: 12, callingAE: "ME")), "port as a string, calling_aet")
        if case .dimse(let d)? = nodes["v6"] { XCTAssertEqual(d.host, "::1") } else { XCTFail("v6: \(String(describing: nodes["v6"]))") }
        XCTAssertEqual(nodes.count, 3)
    }

    /// DICOMweb nodes: a URL with basic credentials or a token (never both), or the URL alone; a DIMSE-only
    /// command refuses them by name.
    func testNodeFileDICOMwebForms() throws {
        let f = write(#"{"a": {"url": "https://pacs.example.org/dicom-web/", "username": "u", "password": "p"}, "b": {"url": "http://h:8042/dicom-web", "token": "T", "ca": "/etc/ca.pem"}, "c": "https://x.example/dw"}"#, to: "w.json")
        let nodes = try NodeFile.load(f)
        XCTAssertEqual(nodes["a"], .web(try WebEndpoint(url: "https://pacs.example.org/dicom-web", auth: .basic(user: "u", password: "p"))))
        XCTAssertEqual(nodes["b"], .web(try WebEndpoint(url: "http://h:8042/dicom-web", auth: .bearer("T"), caFile: "/etc/ca.pem")))
        XCTAssertEqual(nodes["c"], .web(try WebEndpoint(url: "https://x.example/dw")))
        for bad in [#"{"x": {"url": "https://h/dw", "token": "T", "username": "u", "password": "p"}}"#, #"{"x": {"url": "https://h/dw", "username": "u"}}"#,
                    #"{"x": {"url": "ftp://h/dw"}}"#] {
            assertUsage(try NodeFile.load(write(bad, to: "bad.json")), mentions: ["node 'x'"])
        }
        assertUsage(try Destination.resolve("a", environment: ["I2_NODES": f]), mentions: ["DICOMweb node"])
        XCTAssertEqual(try Node.resolve("https://h.example/dw/"), .web(try WebEndpoint(url: "https://h.example/dw")))
    }

    /// A DIMSE node's "tls": true (TLS, certificates from the command line), an object naming them, or
    /// false/absent (plain TCP); anything else is a usage error naming the node.
    func testNodeFileTLSForms() throws {
        let f = write(#"{"t": {"aet": "T", "host": "h", "port": 1, "tls": true}, "o": {"aet": "O", "host": "h", "port": 2, "tls": {"ca": "/ca.pem", "cert": "/c.pem", "key": "/k.pem"}}, "p": {"aet": "P", "host": "h", "port": 3, "tls": false}, "s": "S@h:4"}"#, to: "t.json")
        let nodes = try NodeFile.load(f)
        guard case .dimse(let t)? = nodes["t"], case .dimse(let o)? = nodes["o"], case .dimse(let p)? = nodes["p"], case .dimse(let s)? = nodes["s"] else {
            return XCTFail("\(nodes)")
        }
        XCTAssertEqual(t.tls, TLSOptions())
        XCTAssertEqual(o.tls, TLSOptions(certificate: "/c.pem", privateKey: "/k.pem", trusted: "/ca.pem"))
        XCTAssertNil(p.tls)
        XCTAssertNil(s.tls)
        for bad in [#"{"x": {"aet": "X", "host": "h", "port": 1, "tls": "yes"}}"#, #"{"x": {"aet": "X", "host": "h", "port": 1, "tls": {"certificate": "/c"}}}"#,
                    #"{"x": {"aet": "X", "host": "h", "port": 1, "tls": {"ca": 1}}}"#] {
            assertUsage(try NodeFile.load(write(bad, to: "bad.json")), mentions: ["node 'x'", "\"tls\""])
        }
        // Command-line settings fill in over the node file's.
        let merged = TLSOptions(trusted: "/other-ca.pem").merged(over: o.tls!)
        XCTAssertEqual(merged, TLSOptions(certificate: "/c.pem", privateKey: "/k.pem", trusted: "/other-ca.pem"))
    }
}
