import VeilImage

/// Parses DICOM Part 10 files and bare data sets, little endian, explicit or implicit VR.
///
/// Every length is checked against the bytes that remain before it is used, so a damaged
/// file ends in an `ImageDecodingError`, never an out-of-bounds read. Sequences may nest,
/// with defined or undefined lengths, down to ``maximumDepth``.
struct Parser {
    /// Deeper nesting than any real object uses; the bound keeps hostile input from
    /// exhausting the stack.
    static let maximumDepth = 24

    let store: ByteStore
    let explicitVR: Bool
    /// For salvaging metadata from a damaged object: at the top level, parsing stops at the
    /// first attribute that cannot be read and returns what came before it, instead of
    /// throwing. A damaged Sensitive Content Code Sequence still counts as present.
    var lenient = false
    private var bytes: [UInt8] { store.bytes }

    init(store: ByteStore, explicitVR: Bool, lenient: Bool = false) {
        self.store = store
        self.explicitVR = explicitVR
        self.lenient = lenient
    }

    /// Parses top-level elements from `start` until the end, or until `stop` says the next
    /// tag belongs to something else. Returns the data set and where parsing stopped.
    func parse(from start: Int, stop: (DICOMTag) -> Bool = { _ in false }) throws -> (DataSet, end: Int) {
        try parseElements(start..<bytes.count, depth: 0, inUndefinedItem: false, stop: stop)
    }

    private func parseElements(_ range: Range<Int>, depth: Int, inUndefinedItem: Bool,
                               stop: (DICOMTag) -> Bool = { _ in false }) throws -> (DataSet, end: Int) {
        var set = DataSet(store: store)
        var at = range.lowerBound
        while at < range.upperBound {
            guard at + 8 <= range.upperBound else {
                // Trailing padding shorter than a header is tolerated only at the very end.
                if depth == 0, bytes[at..<range.upperBound].allSatisfy({ $0 == 0 }) { break }
                throw truncatedOrCorrupt(at + 8, range, "an attribute header at byte \(at) is cut short")
            }
            let tag = DICOMTag(raw: UInt32(u16(at)) << 16 | UInt32(u16(at + 2)))
            if stop(tag) { return (set, at) }
            if tag == .itemDelimitation {
                guard inUndefinedItem else {
                    if lenient && depth == 0 { return (set, at) }
                    throw corrupt("an item delimiter at byte \(at) is outside any item")
                }
                return (set, at + 8)
            }
            if lenient && depth == 0 {
                do {
                    at = try Parser(store: store, explicitVR: explicitVR).parseElement(at: at, tag: tag, range: range, depth: depth, into: &set)
                } catch {
                    if tag == .sensitiveContentCodeSequence {
                        // Cut or damaged inside the archive's own label: still a label.
                        set.elements[tag.raw] = Element(vr: "SQ", value: .sequence([DataSet(store: store)]))
                    }
                    return (set, at)
                }
                continue
            }
            at = try parseElement(at: at, tag: tag, range: range, depth: depth, into: &set)
        }
        if inUndefinedItem { throw ImageDecodingError(.truncated, "an item of undefined length has no delimiter before the end of the data") }
        return (set, at)
    }

    /// Parses the attribute whose tag starts at `at` into `set`; returns where the next begins.
    private func parseElement(at start: Int, tag: DICOMTag, range: Range<Int>, depth: Int, into set: inout DataSet) throws -> Int {
        var at = start
        if tag.group == 0xFFFE { throw corrupt("unexpected \(tag) at byte \(at)") }

        var vr: String
        var length: UInt32
        var header: Int
        if explicitVR {
            let a = bytes[at + 4], b = bytes[at + 5]
            guard (0x41...0x5A).contains(a), (0x41...0x5A).contains(b) else {
                throw corrupt("attribute \(tag) at byte \(at) has no valid VR (bytes \(a), \(b)); the file may not be explicit VR")
            }
            vr = String(decoding: [a, b], as: UTF8.self)
            if longLengthVRs.contains(vr) {
                guard at + 12 <= range.upperBound else {
                    throw truncatedOrCorrupt(at + 12, range, "attribute \(tag)'s header is cut short")
                }
                length = u32(at + 8)
                header = 12
            } else {
                length = UInt32(u16(at + 6))
                header = 8
            }
        } else {
            length = u32(at + 4)
            header = 8
            vr = tag == .pixelData ? "OW" : implicitSequenceTags.contains(tag.raw) ? "SQ" : "UN"
        }
        let valueStart = at + header

        let element: Element
        if length == 0xFFFF_FFFF {
            if tag == .pixelData {
                let (fragments, end) = try parseFragments(from: valueStart, in: range)
                element = Element(vr: vr, value: .fragments(fragments))
                at = end
            } else if vr == "SQ" || vr == "UN" {
                // An undefined-length UN is a sequence in implicit VR (PS3.5 6.2.2).
                let nested = vr == "UN" && explicitVR ? Parser(store: store, explicitVR: false) : self
                let (items, end) = try nested.parseItems(valueStart..<range.upperBound, depth: depth + 1, definedLength: false, tag: tag)
                element = Element(vr: "SQ", value: .sequence(items))
                at = end
            } else {
                throw corrupt("attribute \(tag) (VR \(vr)) has an undefined length, which only sequences and pixel data may have")
            }
        } else {
            let end = valueStart + Int(length)
            guard end <= range.upperBound else {
                throw truncatedOrCorrupt(end, range,
                                         "attribute \(tag) declares \(length) bytes, but only \(max(0, range.upperBound - valueStart)) remain")
            }
            if vr == "SQ" {
                let (items, _) = try parseItems(valueStart..<end, depth: depth + 1, definedLength: true, tag: tag)
                element = Element(vr: vr, value: .sequence(items))
            } else if vr == "UN" && explicitVR && implicitSequenceTags.contains(tag.raw) {
                // A sequence the writer did not know (stored as UN, as many archives do with
                // new attributes such as (0008,001D)): its items are implicit VR (PS3.5 6.2.2).
                let (items, _) = try Parser(store: store, explicitVR: false).parseItems(valueStart..<end, depth: depth + 1,
                                                                                         definedLength: true, tag: tag)
                element = Element(vr: "SQ", value: .sequence(items))
            } else {
                element = Element(vr: vr, value: .bytes(valueStart..<end))
            }
            at = end
        }
        set.elements[tag.raw] = element
        return at
    }

    /// The items of a sequence whose value is `range` (defined length) or starts at
    /// `range.lowerBound` and ends with a sequence delimiter (undefined length).
    private func parseItems(_ range: Range<Int>, depth: Int, definedLength: Bool, tag: DICOMTag) throws -> ([DataSet], end: Int) {
        guard depth <= Self.maximumDepth else {
            throw corrupt("sequences nest deeper than \(Self.maximumDepth) levels at \(tag)")
        }
        var items: [DataSet] = []
        var at = range.lowerBound
        while at < range.upperBound || !definedLength {
            guard at + 8 <= range.upperBound else {
                throw truncatedOrCorrupt(at + 8, range, "sequence \(tag) is cut short")
            }
            let itemTag = DICOMTag(raw: UInt32(u16(at)) << 16 | UInt32(u16(at + 2)))
            let length = u32(at + 4)
            if itemTag == .sequenceDelimitation {
                guard !definedLength else { throw corrupt("sequence \(tag) of defined length holds a sequence delimiter") }
                return (items, at + 8)
            }
            guard itemTag == .item else {
                throw corrupt("sequence \(tag) holds \(itemTag) at byte \(at) where an item should start")
            }
            if length == 0xFFFF_FFFF {
                let (item, end) = try parseElements((at + 8)..<range.upperBound, depth: depth, inUndefinedItem: true)
                items.append(item)
                at = end
            } else {
                let end = at + 8 + Int(length)
                guard end <= range.upperBound else {
                    throw truncatedOrCorrupt(end, range, "an item of \(tag) declares \(length) bytes, past the end of its sequence")
                }
                items.append(try parseElements((at + 8)..<end, depth: depth, inUndefinedItem: false).0)
                at = end
            }
        }
        return (items, at)
    }

    /// Encapsulated pixel data: items holding fragments, ended by a sequence delimiter.
    private func parseFragments(from start: Int, in range: Range<Int>) throws -> ([Range<Int>], end: Int) {
        var fragments: [Range<Int>] = []
        var at = start
        while true {
            guard at + 8 <= range.upperBound else {
                throw truncatedOrCorrupt(at + 8, range, "encapsulated pixel data is cut short after \(fragments.count) fragments")
            }
            let tag = DICOMTag(raw: UInt32(u16(at)) << 16 | UInt32(u16(at + 2)))
            let length = u32(at + 4)
            if tag == .sequenceDelimitation { return (fragments, at + 8) }
            guard tag == .item else { throw corrupt("encapsulated pixel data holds \(tag) at byte \(at) where a fragment should start") }
            guard length != 0xFFFF_FFFF else { throw corrupt("a pixel data fragment has an undefined length") }
            let end = at + 8 + Int(length)
            guard end <= range.upperBound else {
                throw truncatedOrCorrupt(end, range, "a pixel data fragment declares \(length) bytes, but only \(range.upperBound - at - 8) remain")
            }
            fragments.append((at + 8)..<end)
            at = end
        }
    }

    func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }

    func u32(_ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    /// Running past the end of the file is truncation; past the end of an enclosing item
    /// inside the file is a wrong length.
    private func truncatedOrCorrupt(_ needed: Int, _ range: Range<Int>, _ reason: String) -> ImageDecodingError {
        needed > bytes.count ? ImageDecodingError(.truncated, reason) : corrupt(reason + " (it overruns its enclosing item)")
    }

    private func corrupt(_ reason: String) -> ImageDecodingError { ImageDecodingError(.corrupt, reason) }
}
