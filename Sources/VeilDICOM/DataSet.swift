import Foundation

/// The bytes a data set was parsed from, shared by every element and nested item, so that
/// parsing copies no values.
final class ByteStore: Sendable {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// One parsed attribute.
struct Element: Sendable {
    enum Value: Sendable {
        /// A primitive value: its byte range in the store.
        case bytes(Range<Int>)
        /// A sequence of items.
        case sequence([DataSet])
        /// Encapsulated pixel data: the byte range of each fragment, offset table first.
        case fragments([Range<Int>])
    }

    let vr: String
    let value: Value
}

/// A parsed data set (or sequence item): attributes by tag, values left in place.
struct DataSet: Sendable {
    let store: ByteStore
    var elements: [UInt32: Element] = [:]

    init(store: ByteStore) { self.store = store }

    subscript(tag: DICOMTag) -> Element? { elements[tag.raw] }

    func bytes(_ tag: DICOMTag) -> ArraySlice<UInt8>? {
        guard case let .bytes(range)? = self[tag]?.value else { return nil }
        return store.bytes[range]
    }

    /// A text value with DICOM's padding (trailing spaces or NUL, leading spaces) removed;
    /// `nil` when absent or empty. UTF-8 when valid (ISO_IR 192 and plain ASCII), else read
    /// as ISO 8859-1, the default repertoire's superset that every byte decodes in.
    func string(_ tag: DICOMTag) -> String? {
        guard let raw = bytes(tag) else { return nil }
        let text = String(validating: raw, as: UTF8.self) ?? String(raw.map { Character(Unicode.Scalar($0)) })
        let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        return trimmed.isEmpty ? nil : trimmed
    }

    /// An unsigned 16-bit value (VR US); in implicit syntaxes the VR is assumed.
    func uint16(_ tag: DICOMTag) -> Int? {
        guard let raw = bytes(tag), raw.count >= 2 else { return nil }
        return Int(raw[raw.startIndex]) | Int(raw[raw.startIndex + 1]) << 8
    }

    /// An integer string (VR IS), first value.
    func integerString(_ tag: DICOMTag) -> Int? {
        guard let text = string(tag) else { return nil }
        let first = text.split(separator: "\\").first.map(String.init) ?? text
        return Int(first.trimmingCharacters(in: .whitespaces))
    }

    /// The items of a sequence; empty when absent.
    func items(_ tag: DICOMTag) -> [DataSet] {
        guard case let .sequence(items)? = self[tag]?.value else { return [] }
        return items
    }
}
