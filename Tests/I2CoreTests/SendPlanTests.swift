// Send planning in-process (Send/SendPlan.swift): one presentation context per SOP class and transfer
// syntax present, a separate explicit+implicit little endian fallback per class, at most 128 contexts
// per association with a SOP class never split, file order kept, and the merging of earlier contexts.
import Foundation
import XCTest
@testable import I2Core
import I2DICOM

final class SendPlanTests: XCTestCase {
    let ct = "1.2.840.10008.5.1.4.1.1.2", mr = "1.2.840.10008.5.1.4.1.1.4", seg = "1.2.840.10008.5.1.4.1.1.66.4"
    let implicit = "1.2.840.10008.1.2", explicit = "1.2.840.10008.1.2.1"
    let jpegLS = "1.2.840.10008.1.2.4.80", rle = "1.2.840.10008.1.2.5"

    func item(_ i: Int, _ cls: String, _ ts: String) -> SendItem {
        SendItem(index: i, path: "/f\(i)", sopClassUID: cls, sopInstanceUID: "1.2.\(i)", transferSyntax: ts)
    }

    func testOneContextPerSyntaxPlusAFallbackPerClass() {
        let items = [item(0, ct, jpegLS), item(1, ct, explicit), item(2, mr, implicit), item(3, ct, jpegLS), item(4, seg, rle)]
        let contexts = SendPlan.contexts(for: items)
        XCTAssertEqual(contexts, [
            PresentationContext(ct, [jpegLS]), PresentationContext(ct, [explicit]), PresentationContext(ct, [explicit, implicit]),
            PresentationContext(mr, [implicit]), PresentationContext(mr, [explicit, implicit]),
            PresentationContext(seg, [rle]), PresentationContext(seg, [explicit, implicit]),
        ], "classes in order of first appearance, each syntax once, the fallback last")
        XCTAssertEqual(SendPlan.fallback, [explicit, implicit], "explicit little endian preferred over implicit")
        for i in items { XCTAssertTrue(SendPlan.covers(contexts, i), "file \(i.index) can go as it is") }
        XCTAssertFalse(SendPlan.covers(contexts, item(9, mr, jpegLS)), "no context lists JPEG-LS for MR")
        XCTAssertFalse(SendPlan.covers(contexts, item(9, "1.2.3", explicit)), "no context for an unknown class")
    }

    func testSmallPlanIsOneGroupInTheGivenOrder() {
        let items = [item(0, mr, explicit), item(1, ct, explicit), item(2, mr, explicit)]
        let groups = SendPlan.groups(items)
        XCTAssertEqual(groups.count, 1)
        XCTAssertEqual(groups[0].items.map(\.index), [0, 1, 2])
        XCTAssertEqual(groups[0].contexts.count, 4)
        XCTAssertTrue(SendPlan.groups([]).isEmpty)
    }

    func testMoreThan128ContextsAreSplitWithoutSplittingAClass() {
        // 70 SOP classes, each with one syntax: 2 contexts per class, 140 in all.
        let classes = (1...70).map { "1.2.826.0.1.3680043.8.498.\($0)" }
        var items: [SendItem] = []
        for (i, c) in classes.enumerated() { items.append(item(2 * i, c, explicit)); items.append(item(2 * i + 1, c, explicit)) }
        let groups = SendPlan.groups(items)
        XCTAssertEqual(groups.map(\.contexts.count), [128, 12])
        XCTAssertEqual(groups.map(\.items.count), [128, 12])
        for g in groups {
            XCTAssertLessThanOrEqual(g.contexts.count, SendPlan.maxContexts)
            for i in g.items { XCTAssertTrue(SendPlan.covers(g.contexts, i), "each file travels with its context") }
            XCTAssertEqual(g.items.map(\.index), g.items.map(\.index).sorted(), "given order within a group")
        }
        let firstClasses = Set(groups[0].items.map(\.sopClassUID)), secondClasses = Set(groups[1].items.map(\.sopClassUID))
        XCTAssertTrue(firstClasses.isDisjoint(with: secondClasses), "a SOP class is never split")
        XCTAssertEqual(groups.flatMap(\.items).count, items.count, "every file planned once")
    }

    func testAClassThatWouldOverflowStartsTheNextGroup() {
        // 63 classes × 2 contexts = 126, then a class with 3 syntaxes (4 contexts): 130 > 128 → new group.
        var items = (0..<63).map { item($0, "1.2.826.0.1.3680043.8.498.\($0 + 1)", explicit) }
        items += [item(63, ct, explicit), item(64, ct, jpegLS), item(65, ct, rle)]
        let groups = SendPlan.groups(items)
        XCTAssertEqual(groups.map(\.contexts.count), [126, 4])
        XCTAssertEqual(groups[1].items.map(\.index), [63, 64, 65])
    }

    func testMergedKeepsEarlierContextsWhileTheyFit() {
        let now = [PresentationContext(ct, [explicit]), PresentationContext(ct, [explicit, implicit])]
        let earlier = [PresentationContext(mr, [explicit]), PresentationContext(ct, [explicit])]
        XCTAssertEqual(SendPlan.merged(now, keeping: earlier), now + [PresentationContext(mr, [explicit])], "no duplicates")
        let full = (0..<128).map { PresentationContext("1.2.\($0)", [explicit]) }
        XCTAssertEqual(SendPlan.merged(full, keeping: earlier).count, 128, "never beyond 128")
        XCTAssertEqual(SendPlan.merged(Array(full.prefix(127)), keeping: earlier).count, 128)
    }
}
