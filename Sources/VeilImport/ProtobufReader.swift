/// A minimal reader of the protobuf wire format (varints, fixed 32/64, length-delimited),
/// enough to walk a Caffe `.caffemodel` without generated code.
///
/// Every read is bounds-checked; malformed input throws ``ImportError`` instead of trapping.
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    struct Field {
        var number: Int
        var value: Value
    }

    /// The fields of one message, in order.
    static func fields(_ bytes: ArraySlice<UInt8>, file: String) throws -> [Field] {
        var fields: [Field] = []
        var at = bytes.startIndex
        func fail(_ what: String) -> ImportError {
            ImportError(file: file, "protobuf data is malformed at byte \(at - bytes.startIndex): \(what)")
        }
        func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard at < bytes.endIndex else { throw fail("varint runs past the end") }
                let byte = bytes[at]
                at += 1
                guard shift < 64 else { throw fail("varint longer than 10 bytes") }
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
        }
        func fixed(_ count: Int) throws -> UInt64 {
            guard bytes.endIndex - at >= count else { throw fail("fixed-width value runs past the end") }
            var value: UInt64 = 0
            for i in 0..<count { value |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            at += count
            return value
        }
        while at < bytes.endIndex {
            let key = try varint()
            let number = Int(key >> 3)
            guard number > 0 else { throw fail("field number 0") }
            switch key & 7 {
            case 0: fields.append(Field(number: number, value: .varint(try varint())))
            case 1: fields.append(Field(number: number, value: .fixed64(try fixed(8))))
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.endIndex - at) else { throw fail("field \(number) declares \(length) bytes past the end") }
                fields.append(Field(number: number, value: .bytes(bytes[at..<(at + Int(length))])))
                at += Int(length)
            case 5: fields.append(Field(number: number, value: .fixed32(UInt32(try fixed(4)))))
            default: throw fail("unsupported wire type \(key & 7)")
            }
        }
        return fields
    }

    /// A repeated float field, accepting both the packed and the unpacked encoding.
    static func floats(_ fields: [Field], number: Int, file: String) throws -> [Float] {
        var out: [Float] = []
        for field in fields where field.number == number {
            switch field.value {
            case .fixed32(let bits): out.append(Float(bitPattern: bits))
            case .bytes(let slice):
                guard slice.count % 4 == 0 else { throw ImportError(file: file, "packed float field \(number) has \(slice.count) bytes") }
                out.reserveCapacity(out.count + slice.count / 4)
                var i = slice.startIndex
                while i < slice.endIndex {
                    let bits = UInt32(slice[i]) | UInt32(slice[i + 1]) << 8 | UInt32(slice[i + 2]) << 16 | UInt32(slice[i + 3]) << 24
                    out.append(Float(bitPattern: bits))
                    i += 4
                }
            default: throw ImportError(file: file, "field \(number) is not a float")
            }
        }
        return out
    }

    /// A repeated double field (packed or not), narrowed to `Float`.
    static func doubles(_ fields: [Field], number: Int, file: String) throws -> [Float] {
        var out: [Float] = []
        for field in fields where field.number == number {
            switch field.value {
            case .fixed64(let bits): out.append(Float(Double(bitPattern: bits)))
            case .bytes(let slice):
                guard slice.count % 8 == 0 else { throw ImportError(file: file, "packed double field \(number) has \(slice.count) bytes") }
                var i = slice.startIndex
                while i < slice.endIndex {
                    var bits: UInt64 = 0
                    for k in 0..<8 { bits |= UInt64(slice[i + k]) << (8 * UInt64(k)) }
                    out.append(Float(Double(bitPattern: bits)))
                    i += 8
                }
            default: throw ImportError(file: file, "field \(number) is not a double")
            }
        }
        return out
    }

    /// A repeated integer field (packed or not).
    static func integers(_ fields: [Field], number: Int, file: String) throws -> [Int64] {
        var out: [Int64] = []
        for field in fields where field.number == number {
            switch field.value {
            case .varint(let v): out.append(Int64(bitPattern: v))
            case .bytes(let slice):
                for f in try Self.fields(packedVarints: slice, file: file) { out.append(f) }
            default: throw ImportError(file: file, "field \(number) is not an integer")
            }
        }
        return out
    }

    private static func fields(packedVarints slice: ArraySlice<UInt8>, file: String) throws -> [Int64] {
        var out: [Int64] = []
        var result: UInt64 = 0, shift: UInt64 = 0
        for byte in slice {
            guard shift < 64 else { throw ImportError(file: file, "packed varint longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                out.append(Int64(bitPattern: result))
                result = 0
                shift = 0
            } else {
                shift += 7
            }
        }
        guard shift == 0 else { throw ImportError(file: file, "packed varints end mid-value") }
        return out
    }

    static func string(_ fields: [Field], number: Int) -> String? {
        for field in fields where field.number == number {
            if case .bytes(let slice) = field.value { return String(decoding: slice, as: UTF8.self) }
        }
        return nil
    }
}

/// Why a model could not be imported.
package struct ImportError: Error, Sendable, CustomStringConvertible {
    /// The source file at fault.
    package var file: String
    /// What is wrong.
    package var reason: String
    init(file: String, _ reason: String) {
        self.file = file
        self.reason = reason
    }
    package var description: String { "\(file): \(reason)" }
}
