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
/// - A sequence stored as UN (by an archive whose dictionary predates it) is refused rather
///   than re-encoded, and so are big-endian data and text the object's character set cannot
///   hold.
public enum SensitiveContentWriter {
    /// `data` with `codes` added to its (0008,001D), and the codes that were new. When none
    /// is new, `data` comes back unchanged.
    ///
    /// - Throws: `ImageDecodingError` when the object cannot be read or safely rewritten.
    public static func labelled(_ data: Data, adding codes: [CodedEntry]) throws -> (data: Data, added: [CodedEntry]) {
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
        let bodyStore = ByteStore(body)
        let parser = Parser(store: bodyStore, explicitVR: explicitVR)
        let label = DICOMTag.sensitiveContentCodeSequence.raw

        // Where (0008,001D) is, or would go: before the first attribute with a larger tag.
        let (before, at) = try parser.parse(from: 0) { $0.raw >= label }
        // Text in another character set than the object declares would be read wrong.
        let utf8 = before.string(.specificCharacterSet)?.contains("ISO_IR 192") == true
        for code in codes where !utf8 && [code.value, code.scheme, code.meaning].contains(where: { $0.utf8.contains { $0 >= 0x80 } }) {
            throw ImageDecodingError(.unsupportedFormat, "the code \(code) is not plain ASCII, and the object's character set is not UTF-8")
        }
        var existing: [CodedEntry] = [], oldItems: ArraySlice<UInt8> = [], end = at
        if at + 8 <= body.count, u32tag(body, at) == label {
            if explicitVR && !(body[at + 4] == UInt8(ascii: "S") && body[at + 5] == UInt8(ascii: "Q")) {
                throw ImageDecodingError(.unsupportedFormat, "its Sensitive Content Code Sequence is not stored as SQ; it is not rewritten")
            }
            let (set, after) = try parser.parse(from: at) { $0.raw > label }
            existing = set.items(.sensitiveContentCodeSequence).compactMap(CodedEntry.init)
            let header = explicitVR ? 12 : 8
            let undefined = u32(body, at + header - 4) == 0xFFFF_FFFF
            oldItems = body[(at + header)..<(undefined ? after - 8 : after)]
            end = after
        }
        func same(_ a: CodedEntry, _ b: CodedEntry) -> Bool {
            a.value == b.value && a.scheme.trimmingCharacters(in: .whitespaces).uppercased() == b.scheme.trimmingCharacters(in: .whitespaces).uppercased()
        }
        var added: [CodedEntry] = []
        for code in codes where !existing.contains(where: { same($0, code) }) && !added.contains(where: { same($0, code) }) {
            added.append(code)
        }
        guard !added.isEmpty else { return (data, []) }

        var items = Array(oldItems)
        for code in added { items += item(code, explicitVR: explicitVR) }
        var element = tagBytes(label)
        if explicitVR { element += Array("SQ".utf8) + [0, 0] }
        element += le32(UInt32(items.count)) + items
        let delta = element.count - (end - at)
        body.replaceSubrange(at..<end, with: element)
        // A group length, where the writer kept one, must cover the longer group.
        let (_, groupAt) = try Parser(store: ByteStore(body), explicitVR: explicitVR).parse(from: 0) { $0.raw >= 0x0008_0000 }
        if groupAt + 12 <= body.count, u32tag(body, groupAt) == 0x0008_0000 {
            let valueAt = groupAt + 8
            body.replaceSubrange(valueAt..<(valueAt + 4), with: le32(UInt32(Int(u32(body, valueAt)) + delta)))
        }
        return (Data(head + (deflated ? try Deflate.raw(body) : body)), added)
    }

    /// One code sequence item of defined length: Code Value (SH, or Long Code Value, UC, past
    /// 16 characters), Coding Scheme Designator (SH) and Code Meaning (LO), values padded to
    /// even length with a space as PS3.5 asks.
    static func item(_ code: CodedEntry, explicitVR: Bool) -> [UInt8] {
        func element(_ tag: UInt32, _ vr: String, _ text: String) -> [UInt8] {
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
        var contents: [UInt8] = []
        if code.value.utf8.count > 16 {
            contents += element(0x0008_0102, "SH", code.scheme) + element(0x0008_0104, "LO", code.meaning)
                + element(0x0008_0119, "UC", code.value)
        } else {
            contents += element(0x0008_0100, "SH", code.value) + element(0x0008_0102, "SH", code.scheme)
                + element(0x0008_0104, "LO", code.meaning)
        }
        return tagBytes(0xFFFE_E000) + le32(UInt32(contents.count)) + contents
    }

    private static func tagBytes(_ tag: UInt32) -> [UInt8] { le16(UInt16(tag >> 16)) + le16(UInt16(tag & 0xFFFF)) }
    private static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
    private static func u32tag(_ b: [UInt8], _ at: Int) -> UInt32 {
        (UInt32(b[at]) | UInt32(b[at + 1]) << 8) << 16 | (UInt32(b[at + 2]) | UInt32(b[at + 3]) << 8)
    }
}
