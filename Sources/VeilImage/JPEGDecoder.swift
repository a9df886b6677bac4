import CTurboJPEG

/// Decodes JPEG through TurboJPEG, whose calls return a status instead of `longjmp`-ing.
///
/// One TurboJPEG handle is created per call, so any number of threads may decode at once.
enum JPEGDecoder {
    static func decode(_ data: UnsafeRawBufferPointer, options: DecodingOptions) throws -> DecodedImage {
        let markers = JPEGMarkers.scan(data)
        guard let handle = tjInitDecompress() else {
            throw ImageDecodingError(.corrupt, "TurboJPEG could not allocate a decompressor")
        }
        defer { tjDestroy(handle) }
        let jpeg = data.bindMemory(to: UInt8.self)
        let (stored, colorspace) = try readHeader(handle, jpeg, markers: markers)
        try checkPixelLimit(stored, options.pixelLimit)

        // The caller's minimum is in display orientation; the decoder scales stored rows.
        let needed = options.minimumSize.map { markers.orientation.swapsAxes ? $0.transposed : $0 }
        let scaled = scaledSize(stored, covering: needed)

        let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = isCMYK ? 4 : 3
        let format = isCMYK ? TJPF_CMYK : TJPF_RGB
        // Camera photos scored at reduced size are decoded at 1/8 by Veil's own entropy
        // decoder, whose pixels are TurboJPEG's; what it does not take, TurboJPEG decodes.
        if !isCMYK, options.decodesEighthScaleItself, decodesAtOneEighth(stored, scaled), let eighth = EighthScaleJPEG.decode(jpeg),
           eighth.width == scaled.width, eighth.height == scaled.height {
            let image = RGBImage(valid: scaled.width, scaled.height, eighth.rgb)
            return DecodedImage(image: image.oriented(markers.orientation), format: .jpeg,
                                fullSize: markers.orientation.swapsAxes ? stored.transposed : stored)
        }
        var buffer = [UInt8](repeating: 0, count: scaled.width * scaled.height * channels)
        let status = buffer.withUnsafeMutableBufferPointer { dst in
            tjDecompress2(handle, jpeg.baseAddress, UInt(jpeg.count), dst.baseAddress,
                          Int32(scaled.width), 0, Int32(scaled.height), format.rawValue, 0)
        }
        if status != 0 {
            let message = String(cString: tjGetErrorStr2(handle))
            // Some encoders leave stray bytes between segments; libjpeg recovers exactly,
            // so that one warning is not worth rejecting a clinical photo over.
            let benign = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
                && message.contains("extraneous bytes before marker")
            if !benign { throw classify(message, stage: "pixel data") }
        }
        if isCMYK {
            buffer = cmykToRGB(buffer, inverted: markers.hasAdobeMarker)
        }
        let image = RGBImage(valid: scaled.width, scaled.height, buffer)
        return DecodedImage(image: image.oriented(markers.orientation), format: .jpeg,
                            fullSize: markers.orientation.swapsAxes ? stored.transposed : stored)
    }

    /// Reads only the header: the stored size and the display orientation.
    static func header(_ data: UnsafeRawBufferPointer) throws -> (size: PixelSize, orientation: Orientation) {
        guard let handle = tjInitDecompress() else {
            throw ImageDecodingError(.corrupt, "TurboJPEG could not allocate a decompressor")
        }
        defer { tjDestroy(handle) }
        let markers = JPEGMarkers.scan(data)
        return (try readHeader(handle, data.bindMemory(to: UInt8.self), markers: markers).size, markers.orientation)
    }

    private static func readHeader(_ handle: tjhandle, _ jpeg: UnsafeBufferPointer<UInt8>,
                                   markers: JPEGMarkers) throws -> (size: PixelSize, colorspace: Int32) {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        if tjDecompressHeader3(handle, jpeg.baseAddress, UInt(jpeg.count),
                               &width, &height, &subsampling, &colorspace) != 0 {
            throw failure(handle, stage: "header")
        }
        let size = PixelSize(width: Int(width), height: Int(height))
        if size.width == 0 || size.height == 0, markers.endsBeforeScan {
            throw ImageDecodingError(.truncated, "JPEG data ends before its frame header")
        }
        return (size, colorspace)
    }

    /// The smallest size TurboJPEG can produce (scale M/8) that still covers `needed`.
    static func scaledSize(_ stored: PixelSize, covering needed: PixelSize?) -> PixelSize {
        guard let needed else { return stored }
        var count: Int32 = 0
        guard let factors = tjGetScalingFactors(&count) else { return stored }
        var best = stored
        for factor in UnsafeBufferPointer(start: factors, count: Int(count)) {
            let num = Int(factor.num), denom = Int(factor.denom)
            guard num <= denom else { continue }  // never upscale while decoding
            let size = PixelSize(width: (stored.width * num + denom - 1) / denom,
                                 height: (stored.height * num + denom - 1) / denom)
            if size.width >= needed.width, size.height >= needed.height,
               size.width * size.height < best.width * best.height {
                best = size
            }
        }
        return best
    }

    /// Whether TurboJPEG, asked for `scaled`, decodes `stored` at 1/8: `scaled` is the 1/8
    /// size and no larger scale fits in it (it takes the largest that does).
    static func decodesAtOneEighth(_ stored: PixelSize, _ scaled: PixelSize) -> Bool {
        func size(_ num: Int, _ denom: Int) -> PixelSize {
            PixelSize(width: (stored.width * num + denom - 1) / denom, height: (stored.height * num + denom - 1) / denom)
        }
        guard scaled == size(1, 8) else { return false }
        var count: Int32 = 0
        guard let factors = tjGetScalingFactors(&count) else { return false }
        return !UnsafeBufferPointer(start: factors, count: Int(count)).contains { factor in
            let num = Int(factor.num), denom = Int(factor.denom)
            guard num * 8 > denom else { return false }
            let larger = size(num, denom)
            return larger.width <= scaled.width && larger.height <= scaled.height
        }
    }

    /// CMYK → RGB without a colour-management system: the naive subtractive formula,
    /// which is what viewers without an ICC profile show. Adobe-marked files (Photoshop and
    /// nearly every other CMYK writer) store inverted ink values.
    static func cmykToRGB(_ cmyk: [UInt8], inverted: Bool) -> [UInt8] {
        let pixels = cmyk.count / 4
        var rgb = [UInt8](repeating: 0, count: pixels * 3)
        for i in 0..<pixels {
            var c = Int(cmyk[i * 4]), m = Int(cmyk[i * 4 + 1]), y = Int(cmyk[i * 4 + 2]), k = Int(cmyk[i * 4 + 3])
            if !inverted { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k }
            // Now each value is "255 minus ink"; multiply the two attenuations.
            rgb[i * 3] = UInt8((c * k + 127) / 255)
            rgb[i * 3 + 1] = UInt8((m * k + 127) / 255)
            rgb[i * 3 + 2] = UInt8((y * k + 127) / 255)
        }
        return rgb
    }

    private static func failure(_ handle: tjhandle, stage: String) -> ImageDecodingError {
        classify(String(cString: tjGetErrorStr2(handle)), stage: stage)
    }

    private static func classify(_ message: String, stage: String) -> ImageDecodingError {
        if message.contains("Premature end") || message.contains("premature end") {
            return ImageDecodingError(.truncated, "JPEG data ends early (\(stage)): \(message)")
        }
        if message.contains("Unsupported") || message.contains("not supported")
            || message.contains("Arithmetic") || message.contains("arithmetic") {
            return ImageDecodingError(.unsupportedFormat, "JPEG variant not supported (\(stage)): \(message)")
        }
        return ImageDecodingError(.corrupt, "JPEG data is damaged (\(stage)): \(message)")
    }
}

func checkPixelLimit(_ size: PixelSize, _ limit: Int) throws {
    guard size.width > 0, size.height > 0 else {
        throw ImageDecodingError(.corrupt, "header declares an empty image (\(size))")
    }
    let (pixels, overflow) = size.width.multipliedReportingOverflow(by: size.height)
    if overflow || pixels > limit {
        throw ImageDecodingError(.tooManyPixels,
                                 "header declares \(size) pixels, over the limit of \(limit)")
    }
}

/// What Veil needs from a JPEG's marker segments before the scan data: the EXIF orientation
/// and whether an Adobe APP14 segment is present (it decides how CMYK values are stored).
struct JPEGMarkers {
    var orientation: Orientation = .identity
    var hasAdobeMarker = false
    /// The data ran out before the first scan (SOS) began.
    var endsBeforeScan = true

    static func scan(_ data: UnsafeRawBufferPointer) -> JPEGMarkers {
        var result = JPEGMarkers()
        let bytes = data.bindMemory(to: UInt8.self)
        var at = 2  // past SOI
        var sawExif = false
        while at + 4 <= bytes.count {
            guard bytes[at] == 0xFF else { break }
            let marker = bytes[at + 1]
            if marker == 0xFF { at += 1; continue }  // fill byte
            if marker == 0xDA || marker == 0xD9 {  // scan data or end: no more headers
                result.endsBeforeScan = false
                break
            }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { at += 2; continue }
            let length = Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            guard length >= 2, at + 2 + length <= bytes.count else { break }
            let payload = (at + 4)..<(at + 2 + length)
            if marker == 0xE1, !sawExif, payload.count > 6,
               Array(bytes[payload.lowerBound..<payload.lowerBound + 6]) == [0x45, 0x78, 0x69, 0x66, 0, 0] {
                sawExif = true
                let tiff = ArraySlice(bytes[(payload.lowerBound + 6)..<payload.upperBound])
                result.orientation = EXIFReader.orientation(tiff: tiff) ?? .identity
            } else if marker == 0xEE, payload.count >= 5,
                      Array(bytes[payload.lowerBound..<payload.lowerBound + 5]) == Array("Adobe".utf8) {
                result.hasAdobeMarker = true
            }
            at += 2 + length
        }
        return result
    }
}
