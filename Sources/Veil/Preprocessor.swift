import Foundation
import VeilDICOM
import VeilEngine
import VeilImage
import VeilTensor
import VeilVocabulary

/// Turns a decoded RGB image into one model input, following the manifest's preprocessing
/// steps so that the code and the model cannot drift apart.
///
/// Steps are pure functions applied in manifest order: `resize`, `centerCrop` on the image,
/// then `channelOrder` and `normalize` when converting to `(C, H, W)` floats.
package struct Preprocessor: Sendable {
    enum ImageStep: Sendable {
        case resize(PixelSize, ResizeFilter)
        case centerCrop(PixelSize)
        case letterbox(PixelSize)
    }

    let imageSteps: [ImageStep]
    let bgr: Bool
    let mean: [Float]
    let scale: [Float]
    /// The size the model finally sees.
    package let inputSize: PixelSize
    /// The smallest decoded size that loses nothing: the first resize's target, which is
    /// what scaled JPEG decoding should cover.
    package let decodeSize: PixelSize?

    /// Builds the chain from a manifest's checked plan (see `ModelManifest.preprocessingPlan()`,
    /// which model loading has already run).
    package init(manifest: ModelManifest) throws {
        let plan = try manifest.preprocessingPlan()
        imageSteps = plan.steps.map { step in
            switch step {
            case let .resize(w, h, filter):
                return .resize(PixelSize(width: w, height: h), filter == .box ? .box : .bilinear)
            case let .letterbox(w, h): return .letterbox(PixelSize(width: w, height: h))
            case let .centerCrop(w, h): return .centerCrop(PixelSize(width: w, height: h))
            }
        }
        bgr = plan.bgr
        mean = plan.mean
        scale = plan.scale
        inputSize = PixelSize(width: manifest.input.width, height: manifest.input.height)
        decodeSize = plan.decodeSize.map { PixelSize(width: $0.width, height: $0.height) }
    }

    /// The resized and cropped image, before conversion to floats.
    package func prepare(_ image: RGBImage) -> RGBImage {
        var current = image
        for step in imageSteps {
            switch step {
            case let .resize(size, filter): current = current.resampled(to: size, filter: filter)
            case let .centerCrop(size):
                // The plan checked that the crop fits the resize before it.
                current = current.region(x: (current.width - size.width) / 2, y: (current.height - size.height) / 2, size: size)
            case let .letterbox(size): current = current.letterboxed(to: size).image
            }
        }
        return current
    }

    /// One `(C, H, W)` model input for `image`.
    package func tensorValues(for image: RGBImage) -> [Float] {
        tensorValues(prepared: prepare(image))
    }

    /// One `(C, H, W)` model input for an image already resized to ``inputSize``.
    package func tensorValues(prepared: RGBImage) -> [Float] {
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

/// Where a letterboxed image sits in its frame: model-input pixel = image pixel × scale + offset.
package struct Letterbox: Sendable, Hashable {
    package var scaleX: Double
    package var scaleY: Double
    package var offsetX: Double
    package var offsetY: Double
}

extension RGBImage {
    /// This image scaled to fit inside `size` with its aspect ratio kept, centred on black,
    /// as MediaPipe's ImageToTensorCalculator does it (`keep_aspect_ratio`, `BORDER_ZERO`, an
    /// OpenCV affine warp): each output pixel samples the source bilinearly at
    /// `(x − offset) / scale`, without averaging over the pixels a large reduction skips, and
    /// taps outside the image read black. Matching MediaPipe here keeps detection scores
    /// within 1e-3 of its own. Also returns the mapping back to this image's pixels.
    package func letterboxed(to size: PixelSize) -> (image: RGBImage, letterbox: Letterbox) {
        let scale = min(Double(size.width) / Double(width), Double(size.height) / Double(height))
        let tx = (Double(size.width) - Double(width) * scale) / 2, ty = (Double(size.height) - Double(height) * scale) / 2
        var out = [UInt8](repeating: 0, count: size.width * size.height * 3)
        pixels.withUnsafeBufferPointer { src in
            for y in 0..<size.height {
                let sy = (Double(y) - ty) / scale
                let y0 = Int(sy.rounded(.down)), fy = sy - Double(y0)
                guard y0 >= -1, y0 < height else { continue }
                for x in 0..<size.width {
                    let sx = (Double(x) - tx) / scale
                    let x0 = Int(sx.rounded(.down)), fx = sx - Double(x0)
                    guard x0 >= -1, x0 < width else { continue }
                    for c in 0..<3 {
                        func tap(_ xx: Int, _ yy: Int) -> Double {
                            xx >= 0 && xx < width && yy >= 0 && yy < height ? Double(src[(yy * width + xx) * 3 + c]) : 0
                        }
                        let top = tap(x0, y0) * (1 - fx) + tap(x0 + 1, y0) * fx
                        let bottom = tap(x0, y0 + 1) * (1 - fx) + tap(x0 + 1, y0 + 1) * fx
                        out[(y * size.width + x) * 3 + c] = UInt8(min(255, max(0, (top * (1 - fy) + bottom * fy).rounded())))
                    }
                }
            }
        }
        return (RGBImage(valid: size.width, size.height, out),
                Letterbox(scaleX: scale, scaleY: scale, offsetX: tx, offsetY: ty))
    }
}
