import COpenJPEG
import Foundation

/// JPEG 2000 codestreams (and JP2 files) through OpenJPEG.
///
/// OpenJPEG has a long record of memory-safety bugs on crafted input, so the header is read
/// first and checked (size against the pixel limit and the size the caller expects,
/// components, precision, subsampling) before a single sample is decoded; and the decoder
/// is asked for the lowest resolution level that still covers `minimumSize`, which is both
/// faster and less exposed.
public enum JPEG2000Decoder {
    /// Decodes `data`. `expected` is the size the container declares (DICOM Rows and
    /// Columns), and `components` its samples per pixel; a codestream that differs is an
    /// error. Nil accepts any size within `pixelLimit`, and 1 to 4 components.
    public static func decode(_ data: [UInt8], expected: PixelSize?, components expectedComponents: Int?,
                              minimumSize: PixelSize?, pixelLimit: Int) throws -> CodecSamples {
        let format: OPJ_CODEC_FORMAT
        if data.starts(with: [0xFF, 0x4F, 0xFF, 0x51]) {
            format = OPJ_CODEC_J2K
        } else if data.count >= 12, data[4..<8].elementsEqual(Array("jP  ".utf8)) {
            format = OPJ_CODEC_JP2
        } else {
            throw ImageDecodingError(.corrupt, "the JPEG 2000 frame starts with neither a codestream (SOC, SIZ) nor a JP2 signature")
        }
        try checkMainHeader(data)
        return try data.withUnsafeBytes { buffer in
            let source = MemorySource(buffer)
            guard let stream = opj_stream_create(64 << 10, 1) else { throw ImageDecodingError(.corrupt, "OpenJPEG cannot make a stream") }
            defer { opj_stream_destroy(stream) }
            let context = Unmanaged.passUnretained(source).toOpaque()
            opj_stream_set_user_data(stream, context, nil)
            opj_stream_set_user_data_length(stream, OPJ_UINT64(buffer.count))
            opj_stream_set_read_function(stream) { destination, count, context in
                let source = Unmanaged<MemorySource>.fromOpaque(context!).takeUnretainedValue()
                return source.read(into: destination!, count: Int(count)).map { OPJ_SIZE_T($0) } ?? OPJ_SIZE_T.max
            }
            opj_stream_set_skip_function(stream) { count, context in
                Unmanaged<MemorySource>.fromOpaque(context!).takeUnretainedValue().skip(Int(count))
            }
            opj_stream_set_seek_function(stream) { position, context in
                Unmanaged<MemorySource>.fromOpaque(context!).takeUnretainedValue().seek(to: Int(position)) ? 1 : 0
            }
            guard let codec = opj_create_decompress(format) else { throw ImageDecodingError(.corrupt, "OpenJPEG cannot make a decoder") }
            defer { opj_destroy_codec(codec) }
            // Silence: OpenJPEG's messages would otherwise go to standard error.
            let quiet: opj_msg_callback = { _, _ in }
            opj_set_error_handler(codec, quiet, nil)
            opj_set_warning_handler(codec, quiet, nil)
            opj_set_info_handler(codec, quiet, nil)
            var parameters = opj_dparameters_t()
            opj_set_default_decoder_parameters(&parameters)
            guard opj_setup_decoder(codec, &parameters) != 0 else { throw ImageDecodingError(.corrupt, "OpenJPEG refused its parameters") }
            // A codestream cut short is an error, not a blurrier picture: lenient decoding
            // would score what is left as if it were the whole image.
            opj_decoder_set_strict_mode(codec, 1)

            var imagePointer: UnsafeMutablePointer<opj_image_t>?
            guard opj_read_header(stream, codec, &imagePointer) != 0, let header = imagePointer else {
                throw ImageDecodingError(.corrupt, "the JPEG 2000 header cannot be read")
            }
            defer { opj_image_destroy(header) }
            let image = header.pointee
            let width = Int(image.x1) - Int(image.x0), height = Int(image.y1) - Int(image.y0)
            guard width > 0, height > 0, width <= 65535, height <= 65535 else {
                throw ImageDecodingError(.corrupt, "the JPEG 2000 header declares a \(width)×\(height) image")
            }
            guard width * height <= pixelLimit else {
                throw ImageDecodingError(.tooManyPixels, "the JPEG 2000 frame is \(width)×\(height), over the limit of \(pixelLimit) pixels")
            }
            guard expected == nil || (width == expected!.width && height == expected!.height) else {
                throw ImageDecodingError(.corrupt, "the JPEG 2000 frame is \(width)×\(height), but Rows and Columns say \(expected!)")
            }
            let components = Int(image.numcomps)
            guard expectedComponents == nil || components == expectedComponents, (1...4).contains(components), let comps = image.comps else {
                throw ImageDecodingError(.corrupt, "the JPEG 2000 frame has \(components) components; Samples per Pixel says \(expectedComponents.map(String.init) ?? "1 to 4")")
            }
            let precision = Int(comps[0].prec)
            for c in 0..<components {
                guard comps[c].dx == 1, comps[c].dy == 1 else {
                    throw ImageDecodingError(.unsupportedFormat, "JPEG 2000 with subsampled components is not supported")
                }
                guard Int(comps[c].prec) == precision, (1...16).contains(precision) else {
                    throw ImageDecodingError(.unsupportedFormat, "JPEG 2000 components of \(comps[c].prec) bits are not supported (1 to 16 bits, all alike, are)")
                }
            }
            // The lowest resolution that still covers the size the model needs.
            var reduction = 0
            if let minimumSize, minimumSize.width > 0, minimumSize.height > 0,
               let found = opj_get_cstr_info(codec) {
                let levels = Int(found.pointee.m_default_tile_info.tccp_info?.pointee.numresolutions ?? 1)
                var info: UnsafeMutablePointer<opj_codestream_info_v2_t>? = found
                opj_destroy_cstr_info(&info)
                while reduction + 1 < levels, reduction < 3,
                      (width + (2 << reduction) - 1) >> (reduction + 1) >= minimumSize.width,
                      (height + (2 << reduction) - 1) >> (reduction + 1) >= minimumSize.height {
                    reduction += 1
                }
                if reduction > 0 && opj_set_decoded_resolution_factor(codec, OPJ_UINT32(reduction)) == 0 { return try decodeFailure() }
            }
            guard opj_decode(codec, stream, header) != 0, opj_end_decompress(codec, stream) != 0 else {
                return try decodeFailure()
            }
            let decoded = header.pointee.comps!
            let w = Int(decoded[0].w), h = Int(decoded[0].h)
            for c in 0..<components where decoded[c].data == nil || Int(decoded[c].w) != w || Int(decoded[c].h) != h {
                throw ImageDecodingError(.corrupt, "the JPEG 2000 frame's components decode to different sizes")
            }
            let bytesPerSample = precision > 8 ? 2 : 1
            let signed = decoded[0].sgnd != 0
            var bytes = [UInt8](repeating: 0, count: w * h * components * bytesPerSample)
            let (low, high) = signed ? (-(1 << (precision - 1)), (1 << (precision - 1)) - 1) : (0, (1 << precision) - 1)
            bytes.withUnsafeMutableBufferPointer { out in
                for c in 0..<components {
                    let samples = decoded[c].data!
                    for i in 0..<(w * h) {
                        let value = min(max(Int(samples[i]), low), high)
                        let at = (i * components + c) * bytesPerSample
                        if bytesPerSample == 1 {
                            out[at] = UInt8(truncatingIfNeeded: value)
                        } else {
                            let raw = UInt16(truncatingIfNeeded: value)
                            out[at] = UInt8(raw & 0xFF)
                            out[at + 1] = UInt8(raw >> 8)
                        }
                    }
                }
            }
            return CodecSamples(width: w, height: h, components: components, bytesPerSample: bytesPerSample,
                                precision: precision, planar: false, bytes: bytes, reduction: reduction)
        }
    }

    /// The main header's marker segments, checked before OpenJPEG reads them: each a known
    /// main-header marker whose length fits in the data, SIZ consistent with its component
    /// count, and the header closed by a tile part (SOT). OpenJPEG 2.5.0 reads past its own
    /// buffer on some crafted headers (docs/reliability.md); this keeps the inputs it sees
    /// to well-formed ones.
    static func checkMainHeader(_ data: [UInt8]) throws {
        func corrupt(_ reason: String) -> ImageDecodingError { ImageDecodingError(.corrupt, "the JPEG 2000 main header \(reason)") }
        // In a JP2 file the codestream follows the `jp2c` box's header.
        var position = 0
        if !data.starts(with: [0xFF, 0x4F, 0xFF, 0x51]) {
            guard let box = (0..<max(0, data.count - 8)).first(where: { data[$0..<($0 + 4)].elementsEqual(Array("jp2c".utf8)) }) else {
                throw corrupt("is missing: no jp2c box")
            }
            position = box + 4
        }
        func u16(_ at: Int) -> Int { Int(data[at]) << 8 | Int(data[at + 1]) }
        guard data.count - position >= 4, u16(position) == 0xFF4F, u16(position + 2) == 0xFF51 else {
            throw corrupt("does not start with SOC and SIZ")
        }
        position += 2
        let allowed: Set<Int> = [0xFF50, 0xFF51, 0xFF52, 0xFF53, 0xFF55, 0xFF57, 0xFF59, 0xFF5C, 0xFF5D, 0xFF5E, 0xFF5F, 0xFF60, 0xFF63, 0xFF64]
        var seen = Set<Int>()
        while true {
            guard data.count - position >= 4 else { throw corrupt("ends before its first tile part") }
            let marker = u16(position)
            if marker == 0xFF90 {
                guard seen.contains(0xFF52), seen.contains(0xFF5C) else { throw corrupt("has no COD or QCD") }
                return
            }
            guard allowed.contains(marker) else { throw corrupt(String(format: "holds marker %04X", marker)) }
            let length = u16(position + 2)
            guard length >= 2, data.count - (position + 2) >= length else {
                throw corrupt(String(format: "has a %04X segment of %d bytes, past the end", marker, length))
            }
            if marker == 0xFF51 {
                guard length >= 41 else { throw corrupt("has a short SIZ") }
                let components = u16(position + 2 + 36)
                guard (1...4).contains(components), length == 38 + 3 * components else {
                    throw corrupt("has a SIZ whose length does not match its \(components) components")
                }
            }
            if marker == 0xFF52 && length < 12 { throw corrupt("has a short COD") }
            if marker == 0xFF5C && length < 4 { throw corrupt("has a short QCD") }
            seen.insert(marker)
            position += 2 + length
        }
    }

    private static func decodeFailure() throws -> CodecSamples {
        throw ImageDecodingError(.corrupt, "the JPEG 2000 codestream cannot be decoded (damaged or cut short)")
    }
}

/// Bytes handed to OpenJPEG through its stream callbacks.
private final class MemorySource {
    let buffer: UnsafeRawBufferPointer
    var offset = 0

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    /// Copies up to `count` bytes; nil at the end (OpenJPEG's -1).
    func read(into destination: UnsafeMutableRawPointer, count: Int) -> Int? {
        let available = buffer.count - offset
        guard available > 0 else { return nil }
        let n = min(count, available)
        destination.copyMemory(from: buffer.baseAddress! + offset, byteCount: n)
        offset += n
        return n
    }

    func skip(_ count: Int) -> OPJ_OFF_T {
        let target = min(max(offset + count, 0), buffer.count)
        defer { offset = target }
        return OPJ_OFF_T(target - offset)
    }

    func seek(to position: Int) -> Bool {
        guard (0...buffer.count).contains(position) else { return false }
        offset = position
        return true
    }
}
