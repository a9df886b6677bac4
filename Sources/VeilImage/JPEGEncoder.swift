import CTurboJPEG

/// Why an image could not be encoded.
public struct ImageEncodingError: Error, Sendable, CustomStringConvertible {
    /// What the codec reported.
    public var reason: String
    public var description: String { "encoding failed: \(reason)" }
}

extension RGBImage {
    /// This image encoded as a baseline JPEG through TurboJPEG.
    ///
    /// - Parameters:
    ///   - quality: 1 (smallest) to 100 (best).
    ///   - chromaSubsampling: `true` for 4:2:0, as cameras write; `false` for 4:4:4.
    public func jpegData(quality: Int = 90, chromaSubsampling: Bool = true) throws -> [UInt8] {
        guard let handle = tjInitCompress() else {
            throw ImageEncodingError(reason: "TurboJPEG could not allocate a compressor")
        }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        defer { tjFree(output) }
        let subsampling = chromaSubsampling ? TJSAMP_420 : TJSAMP_444
        let status = pixels.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue),
                        &output, &size, Int32(subsampling.rawValue), Int32(max(1, min(100, quality))), 0)
        }
        guard status == 0, let output else {
            throw ImageEncodingError(reason: String(cString: tjGetErrorStr2(handle)))
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
