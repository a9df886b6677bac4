import Foundation
import VeilImage

extension DICOMObject {
    /// Decodes frame `index` (0-based) to 8-bit RGB.
    ///
    /// JPEG frames go through the same TurboJPEG path as JPEG files, DCT scaling included;
    /// native and RLE frames larger than `options.minimumSize` are box-reduced by a whole
    /// factor (at most 8, as DCT scaling), so that a multi-frame object does not hold full
    /// frames in memory while it waits for the model.
    public func frame(_ index: Int, options: DecodingOptions = DecodingOptions()) throws -> RGBImage {
        guard (0..<numberOfFrames).contains(index) else {
            throw ImageDecodingError(.corrupt, "frame \(index + 1) requested of an object with \(numberOfFrames) frames")
        }
        switch transferSyntax.pixelEncoding {
        case .jpeg:
            let image = try jpegFrame(index, options: options)
            return pixels.photometric == .monochrome1 ? Self.inverted(image) : image
        case .rle:
            let samples = try RLE.decodeFrame(try encapsulatedFrame(index), pixels: pixels)
            return Self.reduced(try PixelConversion.rgb(samples, pixels: pixels, planar: true), covering: options.minimumSize)
        case .native:
            guard case let .bytes(range)? = dataSet[.pixelData]?.value else {
                throw ImageDecodingError(.corrupt, "native transfer syntax \(transferSyntax) but the pixel data is encapsulated")
            }
            let frameBytes = pixels.frameBytes
            let (needed, overflow) = frameBytes.multipliedReportingOverflow(by: numberOfFrames)
            guard !overflow, range.count >= needed else {
                throw ImageDecodingError(.corrupt, "Pixel Data holds \(range.count) bytes, but Rows × Columns × Samples per Pixel × Bits Allocated for \(numberOfFrames) frame(s) need \(overflow ? "more than can be counted" : String(needed))")
            }
            let start = range.lowerBound + index * frameBytes
            let samples = dataSet.store.bytes[start..<(start + frameBytes)]
            return Self.reduced(try PixelConversion.rgb(samples, pixels: pixels, planar: pixels.planar), covering: options.minimumSize)
        case .jpeg2000, .jpegLS:
            let bytes = try encapsulatedFrame(index)
            let samples = transferSyntax.pixelEncoding == .jpeg2000
                ? try JPEG2000Decoder.decode(bytes, expected: size, components: pixels.samplesPerPixel,
                                             minimumSize: options.minimumSize, pixelLimit: options.pixelLimit)
                : try JPEGLSDecoder.decode(bytes, expected: size, components: pixels.samplesPerPixel, pixelLimit: options.pixelLimit)
            let layout = pixels.decoded(as: samples)
            return Self.reduced(try PixelConversion.rgb(samples.bytes[...], pixels: layout, planar: samples.planar),
                                covering: options.minimumSize)
        case .unsupported:
            throw ImageDecodingError(.unsupportedFormat, "transfer syntax \(transferSyntax) is not supported")
        }
    }

    private func jpegFrame(_ index: Int, options: DecodingOptions) throws -> RGBImage {
        let bytes = try encapsulatedFrame(index)
        guard bytes.count >= 3, bytes.starts(with: [0xFF, 0xD8, 0xFF]) else {
            throw ImageDecodingError(.corrupt, "frame \(index + 1) does not start with a JPEG SOI marker")
        }
        if pixels.bitsAllocated > 8 {
            throw ImageDecodingError(.unsupportedFormat, "\(pixels.bitsStored)-bit JPEG (Bits Allocated \(pixels.bitsAllocated)) is not supported; 8-bit JPEG is")
        }
        let decoded = try ImageDecoder(options: options).decodeWithDetails(Data(bytes))
        guard decoded.fullSize == size else {
            throw ImageDecodingError(.corrupt, "frame \(index + 1) is a \(decoded.fullSize) JPEG, but Rows and Columns say \(size)")
        }
        return decoded.image
    }

    /// The bytes of one encapsulated frame. Fragments map to frames through the Basic
    /// Offset Table when it is present, one fragment per frame when the counts agree, and
    /// otherwise (JPEG only) by ending each frame at a fragment that ends with EOI.
    func encapsulatedFrame(_ index: Int) throws -> [UInt8] {
        guard case let .fragments(all)? = dataSet[.pixelData]?.value else {
            throw ImageDecodingError(.corrupt, "transfer syntax \(transferSyntax) needs encapsulated pixel data, but it is native")
        }
        let bytes = dataSet.store.bytes
        guard let offsetTable = all.first, all.count >= 2 else {
            throw ImageDecodingError(.corrupt, "encapsulated pixel data holds no fragments")
        }
        let fragments = Array(all.dropFirst())
        func join(_ group: ArraySlice<Range<Int>>) -> [UInt8] { group.flatMap { bytes[$0] } }

        if numberOfFrames == 1 { return join(fragments[...]) }
        if fragments.count == numberOfFrames { return Array(bytes[fragments[index]]) }

        if offsetTable.count >= 4 * numberOfFrames {
            // Offsets count from the first byte of the first fragment's item header.
            let base = fragments[0].lowerBound - 8
            func offset(_ i: Int) -> Int {
                let at = offsetTable.lowerBound + 4 * i
                return Int(UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
            }
            let start = base + offset(index)
            let end = index + 1 < numberOfFrames ? base + offset(index + 1) : Int.max
            let group = fragments.filter { $0.lowerBound - 8 >= start && $0.lowerBound - 8 < end }
            guard !group.isEmpty else {
                throw ImageDecodingError(.corrupt, "the Basic Offset Table points frame \(index + 1) at no fragment")
            }
            return join(group[...])
        }
        if transferSyntax.pixelEncoding == .jpeg {
            var groups: [ArraySlice<Range<Int>>] = []
            var first = 0
            for (i, fragment) in fragments.enumerated() {
                let tail = bytes[fragment].suffix(2)
                if tail.elementsEqual([0xFF, 0xD9]) || tail.last == 0xD9 && bytes[fragment].dropLast().last == 0xFF {
                    groups.append(fragments[first...i])
                    first = i + 1
                }
            }
            if groups.count == numberOfFrames { return join(groups[index]) }
        }
        throw ImageDecodingError(.corrupt, "\(fragments.count) pixel data fragments cannot be matched to \(numberOfFrames) frames")
    }

    static func inverted(_ image: RGBImage) -> RGBImage {
        RGBImage(valid: image.width, image.height, image.pixels.map { 255 - $0 })
    }

    /// Box-reduces by the largest whole factor (up to 8) that keeps `minimum` covered.
    static func reduced(_ image: RGBImage, covering minimum: PixelSize?) -> RGBImage {
        guard let minimum, minimum.width > 0, minimum.height > 0 else { return image }
        let factor = min(8, image.width / minimum.width, image.height / minimum.height)
        guard factor >= 2 else { return image }
        let size = PixelSize(width: (image.width + factor - 1) / factor, height: (image.height + factor - 1) / factor)
        return image.resampled(to: size, filter: .box)
    }
}

/// Stored samples to 8-bit RGB.
enum PixelConversion {
    /// Converts one frame's samples (native layout, or planar for RLE) to RGB.
    static func rgb(_ samples: ArraySlice<UInt8>, pixels: PixelDescription, planar: Bool) throws -> RGBImage {
        let eight = pixels.bitsAllocated == 16 ? reduceTo8Bits(samples, pixels: pixels) : Array(samples)
        let count = pixels.rows * pixels.columns
        var out = [UInt8](repeating: 0, count: count * 3)
        switch pixels.photometric {
        case .monochrome1, .monochrome2:
            let invert = pixels.photometric == .monochrome1
            for i in 0..<count {
                let v = invert ? 255 - eight[i] : eight[i]
                out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v
            }
        case .rgb, .ybrFull, .ybrICT, .ybrRCT:
            // ICT and RCT reach here only as decoded JPEG 2000, whose codec gave RGB.
            let ybr = pixels.photometric == .ybrFull
            for i in 0..<count {
                let (a, b, c) = planar ? (eight[i], eight[count + i], eight[2 * count + i])
                                       : (eight[3 * i], eight[3 * i + 1], eight[3 * i + 2])
                if ybr { ybrToRGB(a, b, c, into: &out, at: 3 * i) } else { out[3 * i] = a; out[3 * i + 1] = b; out[3 * i + 2] = c }
            }
        case .ybrFull422:
            if planar {
                // RLE stores every sample in full, even under this label.
                for i in 0..<count {
                    let (y, cb, cr) = planar ? (eight[i], eight[count + i], eight[2 * count + i])
                                             : (eight[3 * i], eight[3 * i + 1], eight[3 * i + 2])
                    ybrToRGB(y, cb, cr, into: &out, at: 3 * i)
                }
            } else {
                // Y1 Y2 Cb Cr for each horizontal pair of pixels (PS3.3 C.7.6.3.1.2).
                for pair in 0..<(count / 2) {
                    let y1 = eight[4 * pair], y2 = eight[4 * pair + 1], cb = eight[4 * pair + 2], cr = eight[4 * pair + 3]
                    ybrToRGB(y1, cb, cr, into: &out, at: 6 * pair)
                    ybrToRGB(y2, cb, cr, into: &out, at: 6 * pair + 3)
                }
            }
        }
        return RGBImage(valid: pixels.columns, pixels.rows, out)
    }

    /// YCbCr (full range, ITU-R BT.601 coefficients, as PS3.3 defines YBR_FULL) to RGB.
    @inline(__always)
    static func ybrToRGB(_ y: UInt8, _ cb: UInt8, _ cr: UInt8, into out: inout [UInt8], at i: Int) {
        let Y = Double(y), b = Double(cb) - 128, r = Double(cr) - 128
        out[i] = clamp(Y + 1.402 * r)
        out[i + 1] = clamp(Y - 0.344136 * b - 0.714136 * r)
        out[i + 2] = clamp(Y + 1.772 * b)
    }

    @inline(__always)
    static func clamp(_ v: Double) -> UInt8 { UInt8(max(0, min(255, v.rounded()))) }

    /// 16-bit samples (little endian) to 8 bits: through the Window when the object gives
    /// one, else the full range of Bits Stored mapped linearly onto 0-255.
    static func reduceTo8Bits(_ samples: ArraySlice<UInt8>, pixels: PixelDescription) -> [UInt8] {
        let count = samples.count / 2
        let base = samples.startIndex
        let mask = pixels.bitsStored == 16 ? 0xFFFF : (1 << pixels.bitsStored) - 1
        let range = Double(mask)
        var out = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            var v = (Int(samples[base + 2 * i]) | Int(samples[base + 2 * i + 1]) << 8) & mask
            if pixels.signed {
                // Two's complement in Bits Stored bits; shift to 0...range for full-range mapping.
                if v > mask >> 1 { v -= mask + 1 }
            }
            let value: Double
            if let window = pixels.window {
                // PS3.3 C.11.2.1.2.1, linear function, onto 0-255.
                let c = window.center - 0.5, w = window.width - 1
                if Double(v) <= c - w / 2 { value = 0 } else if Double(v) > c + w / 2 { value = 255 }
                else { value = ((Double(v) - c) / w + 0.5) * 255 }
            } else {
                let shifted = pixels.signed ? Double(v + (mask >> 1) + 1) : Double(v)
                value = shifted * 255 / range
            }
            out[i] = UInt8(max(0, min(255, value.rounded())))
        }
        return out
    }
}

/// DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one
/// PackBits segment per byte plane, most significant byte first.
enum RLE {
    /// Decodes a frame into planar samples, little endian for 16 bits.
    static func decodeFrame(_ frame: [UInt8], pixels: PixelDescription) throws -> ArraySlice<UInt8> {
        guard frame.count >= 64 else { throw ImageDecodingError(.truncated, "an RLE frame is shorter than its 64-byte header") }
        func u32(_ at: Int) -> Int {
            Int(UInt32(frame[at]) | UInt32(frame[at + 1]) << 8 | UInt32(frame[at + 2]) << 16 | UInt32(frame[at + 3]) << 24)
        }
        let bytesPerSample = pixels.bitsAllocated / 8
        let expectedSegments = pixels.samplesPerPixel * bytesPerSample
        let segments = u32(0)
        guard segments == expectedSegments else {
            throw ImageDecodingError(.corrupt, "the RLE header lists \(segments) segments; Samples per Pixel and Bits Allocated need \(expectedSegments)")
        }
        let plane = pixels.rows * pixels.columns
        var out = [UInt8](repeating: 0, count: plane * expectedSegments)
        for s in 0..<segments {
            let start = u32(4 + 4 * s)
            let end = s + 1 < segments ? u32(8 + 4 * s) : frame.count
            guard start >= 64, start <= end, end <= frame.count else {
                throw ImageDecodingError(.corrupt, "RLE segment \(s + 1) has offsets \(start)-\(end) outside the frame's \(frame.count) bytes")
            }
            // Segment order: sample by sample, most significant byte first.
            let sample = s / bytesPerSample, byteOfSample = bytesPerSample - 1 - s % bytesPerSample
            let decoded = try packBits(frame[start..<end], count: plane, segment: s + 1)
            for i in 0..<plane {
                out[(sample * plane + i) * bytesPerSample + byteOfSample] = decoded[i]
            }
        }
        return out[...]
    }

    /// PackBits: a header byte n ≥ 0 copies n+1 literal bytes, -127...-1 repeats the next
    /// byte 1-n times, -128 is a no-op. Output beyond `count` (row padding) is dropped.
    static func packBits(_ input: ArraySlice<UInt8>, count: Int, segment: Int) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        var at = input.startIndex
        while out.count < count && at < input.endIndex {
            let n = Int(Int8(bitPattern: input[at]))
            at += 1
            if n >= 0 {
                guard at + n + 1 <= input.endIndex else {
                    throw ImageDecodingError(.truncated, "RLE segment \(segment) ends inside a literal run")
                }
                out.append(contentsOf: input[at..<(at + n + 1)])
                at += n + 1
            } else if n != -128 {
                guard at < input.endIndex else { throw ImageDecodingError(.truncated, "RLE segment \(segment) ends inside a repeat run") }
                out.append(contentsOf: repeatElement(input[at], count: 1 - n))
                at += 1
            }
        }
        guard out.count >= count else {
            throw ImageDecodingError(.corrupt, "RLE segment \(segment) decodes to \(out.count) bytes; Rows × Columns need \(count)")
        }
        return Array(out.prefix(count))
    }
}
