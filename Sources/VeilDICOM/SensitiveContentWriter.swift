import Foundation
import VeilImage

/// Writes sensitive content labels into a copy of a DICOM object: its Sensitive Content Code
/// Sequence (0008,001D) gains items, and nothing else changes.
///
/// - Existing items are kept byte for byte; a code already present (same scheme and value)
///   is not added again.
/// - Every other attribute is byte-identical, Pixel Data included; the transfer syntax stays
///   (a deflated data set is deflated again); a group length (0008,0000), where present, is
///   recomputed. The SOP Instance UID is kept: the label is metadata of the same instance.
/// - With `keepingOriginal`, the sequence as it was goes into an Original Attributes Sequence
///   (0400,0561) item: Modified Attributes Sequence, modification date and time, Modifying
///   System `Veil`, reason `CORRECT`.
/// - A sequence stored as UN (by an archive whose dictionary predates it) is refused rather
///   than re-encoded, and so are big-endian data and text the object's character set cannot
///   hold.
public enum SensitiveContentWriter {
    /// `data` with `codes` added to its (0008,001D), and the codes that were new. When none
    /// is new, `data` comes back unchanged.
    ///
    /// - Throws: `ImageDecodingError` when the object cannot be read or safely rewritten.
    public static func labelled(_ data: Data, adding codes: [CodedEntry], keepingOriginal: Bool = false,
                                at date: Date = Date()) throws -> (data: Data, added: [CodedEntry]) {
        let bytes = [UInt8](data)
        let store = ByteStore(bytes)
        var start = DICOMObject.hasPreamble(bytes) ? 132 : (bytes.count >= 4 && bytes[0..<4].elementsEqual("DICM".utf8) ? 4 : 0)
        var deflated = false
        if bytes.count >= start + 2, UInt16(bytes[start]) | UInt16(bytes[start + 1]) << 8 == 0x0002 {
            let (meta, end) = try Parser(store: store, explicitVR: true).parse(from: start) { $0.group != 0x0002 }
            let uid = meta.string(.transferSyntaxUID) ?? ""
            if uid == "1.2.840.10008.1.2.2" { throw ImageDecodingError(.unsupportedFormat, "big-endian objects are not rewritten") }
            deflated = TransferSyntax(uid: uid).isDeflated
            start = end
        }
        let head = Array(bytes[..<start])
        var body = deflated ? try Inflate.raw(bytes[start...], limit: 1 << 31) : Array(bytes[start...])
        let explicitVR = DICOMObject.looksExplicit(body, at: 0)
        let label = DICOMTag.sensitiveContentCodeSequence.raw

        let (before, _) = try Parser(store: ByteStore(body), explicitVR: explicitVR).parse(from: 0) { $0.raw >= label }
        // Text in another character set than the object declares would be read wrong.
        let utf8 = before.string(.specificCharacterSet)?.contains("ISO_IR 192") == true
        for code in codes where !utf8 && [code.value, code.scheme, code.meaning].contains(where: { $0.utf8.contains { $0 >= 0x80 } }) {
            throw ImageDecodingError(.unsupportedFormat, "the code \(code) is not plain ASCII, and the object's character set is not UTF-8")
        }
        let existing = try sequence(label, in: body, explicitVR: explicitVR)?.set
            .items(.sensitiveContentCodeSequence).compactMap(CodedEntry.init) ?? []
        func same(_ a: CodedEntry, _ b: CodedEntry) -> Bool {
            a.value == b.value && a.scheme.trimmingCharacters(in: .whitespaces).uppercased() == b.scheme.trimmingCharacters(in: .whitespaces).uppercased()
        }
        var added: [CodedEntry] = []
        for code in codes where !existing.contains(where: { same($0, code) }) && !added.contains(where: { same($0, code) }) {
            added.append(code)
        }
        guard !added.isEmpty else { return (data, []) }

        let previous = try append(added.flatMap { item($0, explicitVR: explicitVR) }, to: label, in: &body, explicitVR: explicitVR)
        // The sequence as it was, for an auditor: an Original Attributes Sequence item whose
        // Modified Attributes Sequence holds it (PS3.3 C.12.1). Nothing to keep when there was none.
        if keepingOriginal, let previous {
            let stamp = ISO8601DateFormatter.string(from: date, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withYear, .withMonth, .withDay, .withTime])
                .replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "T", with: "")
            let modified = wrapItem(sequenceElement(label, items: previous, explicitVR: explicitVR))
            let contents = sequenceElement(0x0400_0550, items: modified, explicitVR: explicitVR)
                + textElement(0x0400_0562, "DT", stamp, explicitVR: explicitVR)
                + textElement(0x0400_0563, "LO", "Veil", explicitVR: explicitVR)
                + textElement(0x0400_0564, "LO", "", explicitVR: explicitVR)
                + textElement(0x0400_0565, "CS", "CORRECT", explicitVR: explicitVR)
            _ = try append(wrapItem(contents), to: 0x0400_0561, in: &body, explicitVR: explicitVR)
        }
        return (Data(head + (deflated ? try Deflate.raw(body) : body)), added)
    }

    /// The top-level sequence `tag` in `body`: its parsed items, its element's byte range and
    /// its items' bytes; nil when absent. A sequence not stored as SQ is refused.
    static func sequence(_ tag: UInt32, in body: [UInt8], explicitVR: Bool)
        throws -> (set: DataSet, range: Range<Int>, items: ArraySlice<UInt8>)? {
        let parser = Parser(store: ByteStore(body), explicitVR: explicitVR)
        let (_, at) = try parser.parse(from: 0) { $0.raw >= tag }
        guard at + 8 <= body.count, u32tag(body, at) == tag else { return nil }
        if explicitVR && !(body[at + 4] == UInt8(ascii: "S") && body[at + 5] == UInt8(ascii: "Q")) {
            throw ImageDecodingError(.unsupportedFormat, "(\(String(format: "%04X,%04X", tag >> 16, tag & 0xFFFF))) is not stored as SQ; it is not rewritten")
        }
        let (set, after) = try parser.parse(from: at) { $0.raw > tag }
        let header = explicitVR ? 12 : 8
        let undefined = u32(body, at + header - 4) == 0xFFFF_FFFF
        return (set, at..<after, body[(at + header)..<(undefined ? after - 8 : after)])
    }

    /// Appends `items` to the top-level sequence `tag`, creating it in tag order when absent,
    /// and keeps the group's length (gggg,0000) right where one is present. Returns the
    /// sequence's items as they were, or nil when it was absent.
    @discardableResult
    static func append(_ items: [UInt8], to tag: UInt32, in body: inout [UInt8], explicitVR: Bool) throws -> [UInt8]? {
        let old = try sequence(tag, in: body, explicitVR: explicitVR)
        let range: Range<Int>
        if let old {
            range = old.range
        } else {
            let (_, at) = try Parser(store: ByteStore(body), explicitVR: explicitVR).parse(from: 0) { $0.raw >= tag }
            range = at..<at
        }
        let element = sequenceElement(tag, items: Array(old?.items ?? []) + items, explicitVR: explicitVR)
        let delta = element.count - range.count
        body.replaceSubrange(range, with: element)
        let group = tag & 0xFFFF_0000
        let (_, groupAt) = try Parser(store: ByteStore(body), explicitVR: explicitVR).parse(from: 0) { $0.raw >= group }
        if groupAt + 12 <= body.count, u32tag(body, groupAt) == group {
            let valueAt = groupAt + 8
            body.replaceSubrange(valueAt..<(valueAt + 4), with: le32(UInt32(Int(u32(body, valueAt)) + delta)))
        }
        return old.map { Array($0.items) }
    }

    /// A sequence element of defined length holding `items`.
    static func sequenceElement(_ tag: UInt32, items: [UInt8], explicitVR: Bool) -> [UInt8] {
        tagBytes(tag) + (explicitVR ? Array("SQ".utf8) + [0, 0] : []) + le32(UInt32(items.count)) + items
    }

    /// An item of defined length holding `contents`.
    static func wrapItem(_ contents: [UInt8]) -> [UInt8] {
        tagBytes(0xFFFE_E000) + le32(UInt32(contents.count)) + contents
    }

    /// A text element, padded to even length with a space as PS3.5 asks.
    static func textElement(_ tag: UInt32, _ vr: String, _ text: String, explicitVR: Bool) -> [UInt8] {
        var value = Array(text.utf8)
        if value.count % 2 == 1 { value.append(0x20) }
        var out = tagBytes(tag)
        if explicitVR {
            out += Array(vr.utf8)
            out += vr == "UC" ? [0, 0] + le32(UInt32(value.count)) : le16(UInt16(value.count))
        } else {
            out += le32(UInt32(value.count))
        }
        return out + value
    }

    /// One code sequence item of defined length: Code Value (SH, or Long Code Value, UC, past
    /// 16 characters), Coding Scheme Designator (SH) and Code Meaning (LO), values padded to
    /// even length with a space as PS3.5 asks.
    static func item(_ code: CodedEntry, explicitVR: Bool) -> [UInt8] {
        let contents: [UInt8]
        if code.value.utf8.count > 16 {
            contents = textElement(0x0008_0102, "SH", code.scheme, explicitVR: explicitVR)
                + textElement(0x0008_0104, "LO", code.meaning, explicitVR: explicitVR)
                + textElement(0x0008_0119, "UC", code.value, explicitVR: explicitVR)
        } else {
            contents = textElement(0x0008_0100, "SH", code.value, explicitVR: explicitVR)
                + textElement(0x0008_0102, "SH", code.scheme, explicitVR: explicitVR)
                + textElement(0x0008_0104, "LO", code.meaning, explicitVR: explicitVR)
        }
        return wrapItem(contents)
    }

    private static func tagBytes(_ tag: UInt32) -> [UInt8] { le16(UInt16(tag >> 16)) + le16(UInt16(tag & 0xFFFF)) }
    private static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
    private static func u32tag(_ b: [UInt8], _ at: Int) -> UInt32 {
        (UInt32(b[at]) | UInt32(b[at + 1]) << 8) << 16 | (UInt32(b[at + 2]) | UInt32(b[at + 3]) << 8)
    }
}
