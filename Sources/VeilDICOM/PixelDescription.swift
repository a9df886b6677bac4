import VeilImage

/// The Image Pixel module of an object, checked against the pixel data it describes.
public struct PixelDescription: Sendable, Hashable {
    /// The colour model of the stored samples.
    public enum Photometric: String, Sendable, CaseIterable {
        case monochrome1 = "MONOCHROME1"
        case monochrome2 = "MONOCHROME2"
        case rgb = "RGB"
        case ybrFull = "YBR_FULL"
        case ybrFull422 = "YBR_FULL_422"
        /// JPEG 2000's irreversible and reversible colour transforms: the codec undoes them,
        /// so the decoded samples are RGB.
        case ybrICT = "YBR_ICT"
        case ybrRCT = "YBR_RCT"

        var samplesPerPixel: Int { self == .monochrome1 || self == .monochrome2 ? 1 : 3 }
    }

    /// A linear VOI window (PS3.3 C.11.2.1.2).
    public struct Window: Sendable, Hashable {
        /// Window Center.
        public var center: Double
        /// Window Width, at least 1.
        public var width: Double
    }

    /// Rows (0028,0010).
    public private(set) var rows: Int
    /// Columns (0028,0011).
    public private(set) var columns: Int
    /// Samples per Pixel (0028,0002): 1 or 3.
    public let samplesPerPixel: Int
    /// Photometric Interpretation (0028,0004).
    public private(set) var photometric: Photometric
    /// Planar Configuration (0028,0006): `true` when each colour plane is stored whole.
    public let planar: Bool
    /// Bits Allocated (0028,0100): 8 or 16.
    public private(set) var bitsAllocated: Int
    /// Bits Stored (0028,0101).
    public private(set) var bitsStored: Int
    /// Pixel Representation (0028,0103): `true` for two's-complement samples.
    public let signed: Bool
    /// Number of Frames (0028,0008); 1 when absent.
    public let numberOfFrames: Int
    /// Window Center and Width (0028,1050/1051), first values, when present: the
    /// display mapping for samples deeper than 8 bits.
    public let window: Window?

    /// Bytes of one native frame.
    var frameBytes: Int {
        let bytesPerSample = bitsAllocated / 8
        // YBR_FULL_422 stores two luma and one pair of chroma samples per two pixels.
        let samples = photometric == .ybrFull422 ? 2 : samplesPerPixel
        return rows * columns * samples * bytesPerSample
    }

    init(_ set: DataSet, syntax: TransferSyntax, pixelLimit: Int) throws {
        guard syntax.isSupported else {
            throw ImageDecodingError(.unsupportedFormat, "transfer syntax \(syntax) is not supported")
        }
        guard let rows = set.uint16(.rows), let columns = set.uint16(.columns) else {
            throw ImageDecodingError(.corrupt, "Rows (0028,0010) or Columns (0028,0011) is missing")
        }
        try checkDICOMPixelLimit(PixelSize(width: columns, height: rows), pixelLimit)
        self.rows = rows
        self.columns = columns

        guard let text = set.string(.photometricInterpretation) else {
            throw ImageDecodingError(.corrupt, "Photometric Interpretation (0028,0004) is missing")
        }
        guard let photometric = Photometric(rawValue: text) else {
            throw ImageDecodingError(.unsupportedFormat, "Photometric Interpretation \(text) is not supported")
        }
        self.photometric = photometric
        samplesPerPixel = set.uint16(.samplesPerPixel) ?? photometric.samplesPerPixel
        guard samplesPerPixel == photometric.samplesPerPixel else {
            throw ImageDecodingError(.corrupt, "Samples per Pixel is \(samplesPerPixel) but \(text) needs \(photometric.samplesPerPixel)")
        }
        planar = samplesPerPixel == 3 && set.uint16(.planarConfiguration) == 1
        bitsAllocated = set.uint16(.bitsAllocated) ?? 0
        guard bitsAllocated == 8 || bitsAllocated == 16 else {
            throw ImageDecodingError(bitsAllocated == 0 ? .corrupt : .unsupportedFormat,
                                     "Bits Allocated \(bitsAllocated) is not supported (8 or 16 are)")
        }
        bitsStored = set.uint16(.bitsStored) ?? bitsAllocated
        guard (1...bitsAllocated).contains(bitsStored) else {
            throw ImageDecodingError(.corrupt, "Bits Stored \(bitsStored) does not fit Bits Allocated \(bitsAllocated)")
        }
        signed = set.uint16(.pixelRepresentation) == 1
        let frames = set.integerString(.numberOfFrames) ?? 1
        guard frames >= 1 else { throw ImageDecodingError(.corrupt, "Number of Frames is \(frames)") }
        numberOfFrames = frames
        if let center = set.decimal(DICOMTag(0x0028, 0x1050)), let width = set.decimal(DICOMTag(0x0028, 0x1051)), width >= 1 {
            window = Window(center: center, width: width)
        } else {
            window = nil
        }
        if (photometric == .ybrICT || photometric == .ybrRCT) && syntax.pixelEncoding != .jpeg2000 {
            throw ImageDecodingError(.corrupt, "\(text) belongs to JPEG 2000, not to \(syntax)")
        }
        if photometric == .ybrFull422 && columns % 2 != 0 && syntax.pixelEncoding == .native {
            throw ImageDecodingError(.corrupt, "YBR_FULL_422 pixel data needs an even number of columns, not \(columns)")
        }
    }
}

extension PixelDescription {
    /// The layout of a frame a JPEG 2000 or JPEG-LS codec decoded: its (possibly reduced)
    /// size, its sample width, and the colour model of the decoded samples, in which the
    /// codec has undone JPEG 2000's colour transforms and every pixel has all its samples.
    func decoded(as samples: CodecSamples) -> PixelDescription {
        var copy = self
        copy.rows = samples.height
        copy.columns = samples.width
        copy.bitsAllocated = samples.bytesPerSample * 8
        copy.bitsStored = samples.bytesPerSample == 2 ? min(bitsStored, samples.precision) : 8
        switch photometric {
        case .ybrICT, .ybrRCT: copy.photometric = .rgb
        case .ybrFull422: copy.photometric = .ybrFull
        default: break
        }
        return copy
    }
}

extension DataSet {
    /// A decimal string (VR DS), first value.
    func decimal(_ tag: DICOMTag) -> Double? {
        guard let text = string(tag) else { return nil }
        return Double((text.split(separator: "\\").first.map(String.init) ?? text).trimmingCharacters(in: .whitespaces))
    }
}

func checkDICOMPixelLimit(_ size: PixelSize, _ limit: Int) throws {
    guard size.width > 0, size.height > 0 else {
        throw ImageDecodingError(.corrupt, "Rows and Columns declare an empty image (\(size))")
    }
    guard size.width * size.height <= limit else {
        throw ImageDecodingError(.tooManyPixels, "Rows and Columns declare \(size) pixels, over the limit of \(limit)")
    }
}
