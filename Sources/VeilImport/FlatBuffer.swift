/// Read-only access to a FlatBuffer (the format TFLite models are stored in), with every
/// offset checked against the buffer, so a damaged file gives an error instead of a trap.
///
/// Only what the TFLite schema needs: tables, scalar fields with defaults, strings, vectors
/// of scalars and of tables, and union values (a table whose type is another field).
struct FlatBuffer {
    let bytes: [UInt8]

    struct Table {
        let buffer: FlatBuffer
        let position: Int
        let vtable: Int
        let vtableSize: Int

        /// The absolute position of field `index`'s value, or nil when the field is absent.
        func fieldPosition(_ index: Int) throws -> Int? {
            let slot = 4 + 2 * index
            guard slot + 2 <= vtableSize else { return nil }
            let offset = Int(try buffer.u16(vtable + slot))
            return offset == 0 ? nil : position + offset
        }

        func int32(_ index: Int, default value: Int32 = 0) throws -> Int32 {
            guard let at = try fieldPosition(index) else { return value }
            return Int32(bitPattern: try buffer.u32(at))
        }

        func uint32(_ index: Int, default value: UInt32 = 0) throws -> UInt32 {
            guard let at = try fieldPosition(index) else { return value }
            return try buffer.u32(at)
        }

        func uint8(_ index: Int, default value: UInt8 = 0) throws -> UInt8 {
            guard let at = try fieldPosition(index) else { return value }
            return try buffer.u8(at)
        }

        func table(_ index: Int) throws -> Table? {
            guard let at = try fieldPosition(index) else { return nil }
            return try buffer.table(at: at + Int(try buffer.u32(at)))
        }

        func string(_ index: Int) throws -> String? {
            guard let range = try vectorRange(index, elementSize: 1) else { return nil }
            return String(decoding: buffer.bytes[range], as: UTF8.self)
        }

        /// The byte range of a vector of `elementSize`-byte scalars.
        func vectorRange(_ index: Int, elementSize: Int) throws -> Range<Int>? {
            guard let at = try fieldPosition(index) else { return nil }
            let start = at + Int(try buffer.u32(at))
            let count = Int(try buffer.u32(start))
            let (size, overflow) = count.multipliedReportingOverflow(by: elementSize)
            guard !overflow, start + 4 + size <= buffer.bytes.count else {
                throw FlatBufferError("a vector of \(count) elements runs past the end of the file")
            }
            return (start + 4)..<(start + 4 + size)
        }

        func int32Vector(_ index: Int) throws -> [Int32] {
            guard let range = try vectorRange(index, elementSize: 4) else { return [] }
            return stride(from: range.lowerBound, to: range.upperBound, by: 4).map { Int32(bitPattern: buffer.u32Unchecked($0)) }
        }

        func tableVector(_ index: Int) throws -> [Table] {
            guard let range = try vectorRange(index, elementSize: 4) else { return [] }
            return try stride(from: range.lowerBound, to: range.upperBound, by: 4).map { at in
                try buffer.table(at: at + Int(buffer.u32Unchecked(at)))
            }
        }
    }

    var root: Table {
        get throws { try table(at: Int(try u32(0))) }
    }

    func table(at position: Int) throws -> Table {
        let soffset = Int(Int32(bitPattern: try u32(position)))
        let vtable = position - soffset
        let size = Int(try u16(vtable))
        guard size >= 4, size % 2 == 0, vtable + size <= bytes.count else {
            throw FlatBufferError("a table at byte \(position) has a damaged vtable")
        }
        return Table(buffer: self, position: position, vtable: vtable, vtableSize: size)
    }

    func u8(_ at: Int) throws -> UInt8 {
        guard at >= 0, at < bytes.count else { throw FlatBufferError("an offset points past the end of the file") }
        return bytes[at]
    }

    func u16(_ at: Int) throws -> UInt16 {
        guard at >= 0, at + 2 <= bytes.count else { throw FlatBufferError("an offset points past the end of the file") }
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    func u32(_ at: Int) throws -> UInt32 {
        guard at >= 0, at + 4 <= bytes.count else { throw FlatBufferError("an offset points past the end of the file") }
        return u32Unchecked(at)
    }

    /// For positions already checked to lie within the buffer.
    func u32Unchecked(_ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
}

struct FlatBufferError: Error, CustomStringConvertible {
    var reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { reason }
}
