import Foundation

/// A read-only view of a safetensors file: an 8-byte little-endian header length, a JSON
/// header naming each tensor's dtype, shape and byte range, then the raw little-endian data.
///
/// The file is memory-mapped; tensors are copied out only when a layer packs them at load.
package struct SafeTensorsFile {
    package struct Entry {
        package var dtype: String
        package var shape: [Int]
        package var range: Range<Int>  // absolute byte offsets in the file
    }

    package let path: String
    package let data: Data
    package let entries: [String: Entry]
    package let metadata: [String: String]

    package init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw ModelLoadingError(file: path, "cannot read the safetensors file: \((error as NSError).localizedDescription)")
        }
        try self.init(data: data, path: path)
    }

    /// Parses weights already in memory; `path` names them in errors. Every size in the
    /// header is checked before use, with overflow-checked arithmetic, against the bytes
    /// that are really there.
    package init(data: Data, path: String) throws {
        self.path = path
        self.data = data
        guard data.count >= 8 else { throw ModelLoadingError(file: path, "file is \(data.count) bytes, too short for a safetensors header") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw ModelLoadingError(file: path, "header length \(headerLength) runs past the end of the \(data.count)-byte file (truncated?)")
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<dataStart))
        } catch {
            throw ModelLoadingError(file: path, "header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw ModelLoadingError(file: path, "header is not a JSON object") }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int],
                  offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], shape.allSatisfy({ $0 >= 0 }) else {
                throw ModelLoadingError(file: path, "tensor '\(name)' has a malformed header entry")
            }
            guard let size = Self.byteSize(dtype) else {
                throw ModelLoadingError(file: path, "tensor '\(name)' has unsupported dtype \(dtype)")
            }
            // A hostile header can name sizes whose product overflows.
            var bytes: Int? = size
            for dimension in shape {
                let (product, overflow) = (bytes ?? 0).multipliedReportingOverflow(by: dimension)
                bytes = overflow ? nil : product
            }
            guard let needed = bytes, offsets[1] - offsets[0] == needed else {
                throw ModelLoadingError(file: path, "tensor '\(name)' of shape \(shape) \(dtype) does not fit the \(offsets[1] - offsets[0]) bytes the header gives")
            }
            guard offsets[1] <= data.count - dataStart else {
                throw ModelLoadingError(file: path, "tensor '\(name)' runs past the end of the file (truncated?)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        }
        self.entries = entries
        self.metadata = metadata
    }

    static func byteSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F32": return 4
        case "F16": return 2
        default: return nil
        }
    }

    /// The tensor's values as `Float`s (F16 widened).
    package func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        guard let entry = entries[name] else { throw ModelLoadingError(file: path, "no tensor named '\(name)'") }
        let count = entry.shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + entry.range.lowerBound
            for i in 0..<count {
                if entry.dtype == "F32" {
                    values[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                } else {
                    values[i] = Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))))
                }
            }
        }
        return (entry.shape, values)
    }
}

/// Writes safetensors files: used by the importers, and by tests that build small models.
package enum SafeTensorsWriter {
    /// Serialises `tensors` (name → shape and float32 values) with names in sorted order, so
    /// the same input always gives the same bytes.
    package static func encode(_ tensors: [String: (shape: [Int], values: [Float])],
                              metadata: [String: String] = [:]) throws -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            precondition(t.shape.reduce(1, *) == t.values.count, "tensor \(name): shape \(t.shape) does not match \(t.values.count) values")
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.values.count * 4]] as [String: Any]
            offset += t.values.count * 4
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so that tensor data starts 8-byte aligned.
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        let length = UInt64(json.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
        out.append(contentsOf: json)
        for name in names {
            for v in tensors[name]!.values {
                let bits = v.bitPattern.littleEndian
                out.append(contentsOf: [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8),
                                        UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 24)])
            }
        }
        return out
    }
}
