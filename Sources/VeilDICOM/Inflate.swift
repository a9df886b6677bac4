import CZlib
import VeilImage

/// Raw DEFLATE (RFC 1951, no zlib header), as the Deflated Explicit VR Little Endian
/// transfer syntax stores the data set after the file meta information.
enum Inflate {
    /// Inflates `input`, refusing to produce more than `limit` bytes (a deflate bomb costs
    /// at most that much memory).
    static func raw(_ input: ArraySlice<UInt8>, limit: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ImageDecodingError(.corrupt, "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status: Int32 = Z_OK
        try input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = UInt32(source.count)
            repeat {
                status = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                guard output.count + produced <= limit else {
                    throw ImageDecodingError(.tooManyPixels, "the deflated data set inflates past \(limit) bytes")
                }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_BUF_ERROR && stream.avail_in == 0 {
                    throw ImageDecodingError(.truncated, "the deflated data set ends early")
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw ImageDecodingError(.corrupt, "the deflated data set is damaged (zlib status \(status))")
                }
            } while status != Z_STREAM_END
        }
        return output
    }
}

/// Raw DEFLATE, for writing a Deflated Explicit VR Little Endian data set back.
enum Deflate {
    /// `input` compressed as raw DEFLATE (no zlib header), at zlib's default level.
    static func raw(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ImageDecodingError(.corrupt, "zlib could not start deflating")
        }
        defer { deflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var input = input
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            repeat {
                status = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return deflate(&stream, Z_FINISH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
            } while status == Z_OK
        }
        guard status == Z_STREAM_END else { throw ImageDecodingError(.corrupt, "zlib could not deflate the data set (status \(status))") }
        return output
    }
}
