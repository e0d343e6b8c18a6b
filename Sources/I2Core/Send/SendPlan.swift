// What `i2 send` proposes: for every SOP class among the files, one presentation context per transfer
// syntax present (so each file can go as is), plus explicit + implicit little endian as a separate
// fallback context (so a peer that refuses the original can still take the file, decoded).
// More contexts than one association may carry (128) are split over successive associations.
import Foundation
import I2DICOM
import I2Model

/// One DICOM file to send, as its meta header describes it.
struct SendItem {
    var index: Int              // position among all inputs: groups keep the given order
    var path: String
    var sopClassUID: String
    var sopInstanceUID: String
    var transferSyntax: String
}

enum SendPlan {
    /// The most presentation contexts one association can carry (IDs are the odd numbers 1...255).
    static let maxContexts = 128
    static let fallback = [TransferSyntaxUID.explicitLittle, TransferSyntaxUID.implicitLittle]

    /// Contexts for `items`, SOP classes in order of first appearance.
    static func contexts(for items: [SendItem]) -> [PresentationContext] {
        var order: [String] = []
        var syntaxes: [String: [String]] = [:]
        for item in items {
            if syntaxes[item.sopClassUID] == nil { order.append(item.sopClassUID); syntaxes[item.sopClassUID] = [] }
            if !syntaxes[item.sopClassUID]!.contains(item.transferSyntax) { syntaxes[item.sopClassUID]!.append(item.transferSyntax) }
        }
        return order.flatMap { cls in contexts(sopClass: cls, syntaxes: syntaxes[cls]!) }
    }

    static func contexts(sopClass: String, syntaxes: [String]) -> [PresentationContext] {
        syntaxes.map { PresentationContext(sopClass, [$0]) } + [PresentationContext(sopClass, fallback)]
    }

    /// Items grouped so that each group's contexts fit in one association; a SOP class is never split.
    static func groups(_ items: [SendItem]) -> [(contexts: [PresentationContext], items: [SendItem])] {
        var byClass: [String: [SendItem]] = [:]
        var order: [String] = []
        for item in items {
            if byClass[item.sopClassUID] == nil { order.append(item.sopClassUID) }
            byClass[item.sopClassUID, default: []].append(item)
        }
        var groups: [(contexts: [PresentationContext], items: [SendItem])] = []
        var contexts: [PresentationContext] = [], members: [SendItem] = []
        for cls in order {
            let own = self.contexts(for: byClass[cls]!)
            if !contexts.isEmpty && contexts.count + own.count > maxContexts {
                groups.append((contexts, members))
                contexts = []; members = []
            }
            contexts += own
            members += byClass[cls]!
        }
        if !members.isEmpty { groups.append((contexts, members)) }
        // Within a group, keep the order the files were given in.
        return groups.map { g in (g.contexts, g.items.sorted { $0.index < $1.index }) }
    }

    /// Adds contexts an earlier association carried, when they still fit, so that a stream of files
    /// alternating between SOP classes does not renegotiate for every file.
    static func merged(_ contexts: [PresentationContext], keeping earlier: [PresentationContext]) -> [PresentationContext] {
        var out = contexts
        for c in earlier where !out.contains(c) && out.count < maxContexts { out.append(c) }
        return out
    }

    /// Whether a context proposed for the file's SOP class lists its transfer syntax.
    static func covers(_ contexts: [PresentationContext], _ item: SendItem) -> Bool {
        contexts.contains { $0.abstractSyntax == item.sopClassUID && $0.transferSyntaxes.contains(item.transferSyntax) }
    }
}
