/// Turns a decoded RGB image into one model input, following the manifest's preprocessing
/// steps so that the code and the model cannot drift apart.
///
/// Steps are pure functions applied in manifest order: `resize`, `centerCrop` on the image,
/// then `channelOrder` and `normalize` when converting to `(C, H, W)` floats.
public struct Preprocessor: Sendable {
    enum ImageStep: Sendable {
        case resize(PixelSize, ResizeFilter)
        case centerCrop(PixelSize)
    }

    let imageSteps: [ImageStep]
    let bgr: Bool
    let mean: [Float]
    let scale: [Float]
    /// The size the model finally sees.
    public let inputSize: PixelSize
    /// The smallest decoded size that loses nothing: the first resize's target, which is
    /// what scaled JPEG decoding should cover.
    public let decodeSize: PixelSize?

    /// Builds the chain from a manifest, checking that it ends at the model's input size.
    public init(manifest: ModelManifest) throws {
        var steps: [ImageStep] = []
        var bgr = false
        var mean: [Float] = [0, 0, 0], scale: [Float] = [1, 1, 1]
        var decodeSize: PixelSize?
        func fail(_ reason: String) -> ModelLoadingError {
            ModelLoadingError(file: "manifest of \(manifest.name)", "preprocessing: \(reason)")
        }
        for step in manifest.preprocessing {
            switch step.op {
            case "resize":
                guard let w = step.width, let h = step.height, w > 0, h > 0 else { throw fail("resize needs positive width and height") }
                let filter: ResizeFilter
                switch step.filter ?? "bilinear" {
                case "bilinear": filter = .bilinear
                case "box": filter = .box
                case let other: throw fail("unknown resize filter '\(other)'")
                }
                if decodeSize == nil { decodeSize = PixelSize(width: w, height: h) }
                steps.append(.resize(PixelSize(width: w, height: h), filter))
            case "centerCrop":
                guard let w = step.width, let h = step.height, w > 0, h > 0 else { throw fail("centerCrop needs positive width and height") }
                steps.append(.centerCrop(PixelSize(width: w, height: h)))
            case "channelOrder":
                guard let order = step.order, order == "RGB" || order == "BGR" else { throw fail("channelOrder must be RGB or BGR") }
                bgr = order == "BGR"
            case "normalize":
                guard let m = step.mean, m.count == 3 else { throw fail("normalize needs three mean values") }
                mean = m
                if let s = step.scale {
                    guard s.count == 3 else { throw fail("normalize needs three scale values") }
                    scale = s
                }
            default:
                throw fail("unknown step '\(step.op)'")
            }
        }
        // Without a fixed-size step the model could not take arbitrary images.
        var size: PixelSize?
        for step in steps {
            switch step {
            case .resize(let s, _): size = s
            case .centerCrop(let s):
                guard let current = size, s.width <= current.width, s.height <= current.height else {
                    throw fail("centerCrop to \(s) needs a larger resize before it")
                }
                size = s
            }
        }
        guard let size, size.width == manifest.input.width, size.height == manifest.input.height,
              manifest.input.channels == 3 else {
            throw fail("the steps produce \(size?.description ?? "no fixed size"), but the model takes 3x\(manifest.input.height)x\(manifest.input.width)")
        }
        self.imageSteps = steps
        self.bgr = bgr
        self.mean = mean
        self.scale = scale
        self.inputSize = size
        self.decodeSize = decodeSize
    }

    /// The resized and cropped image, before conversion to floats.
    public func prepare(_ image: RGBImage) -> RGBImage {
        var current = image
        for step in imageSteps {
            switch step {
            case let .resize(size, filter): current = current.resized(to: size, filter: filter)
            case let .centerCrop(size): current = current.centerCropped(to: size)
            }
        }
        return current
    }

    /// One `(C, H, W)` model input for `image`.
    public func tensorValues(for image: RGBImage) -> [Float] {
        let prepared = prepare(image)
        let plane = prepared.width * prepared.height
        var values = [Float](repeating: 0, count: 3 * plane)
        prepared.pixels.withUnsafeBufferPointer { px in
            for c in 0..<3 {
                let source = bgr ? 2 - c : c
                let m = mean[c], s = scale[c]
                for i in 0..<plane {
                    values[c * plane + i] = (Float(px[i * 3 + source]) - m) * s
                }
            }
        }
        return values
    }
}
