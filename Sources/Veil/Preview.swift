import Foundation
import VeilImage
import VeilPolicy
import VeilTensor

/// Reviewer-safe thumbnails: small, and pixelated strongly enough that nothing intimate or
/// identifying can be made out, so that confirming a label never requires seeing the image
/// in full. A reviewer may ask for less obscured levels; `veil preview` records every such
/// reveal in the review ledger.
public enum Preview {
    /// What a preview obscures.
    public enum Mode: Sendable, Equatable {
        /// The whole image: `nudity`, `body-region` or `sensitive-content` is pending.
        case whole
        /// Only these face boxes (original-image pixels): only `face` is pending.
        case faces([FaceDetection])
        /// Nothing is pending: a plain thumbnail.
        case clear
    }

    /// Level 0 is the most obscured and the default; `clearLevel` shows the thumbnail as is.
    public static let clearLevel = 3

    /// The mosaic at each obscured level: blocks across the longer side of the image. At 6
    /// blocks a body is a handful of colour patches.
    static let blocksAcrossImage = [6, 12, 24]
    /// The same across a face box (grown by a quarter on each side). Level 0 fills the box
    /// with one colour: at even 6 blocks a face detector still finds a head shape.
    static let blocksAcrossFace = [1, 5, 10]

    /// What to obscure for these suggestions: anything pending or restricted other than
    /// `face` obscures the whole image; `face` alone, only the faces.
    public static func mode(for suggestions: [Suggestion], faces: [FaceDetection]) -> Mode {
        let waiting = suggestions.filter { $0.state != .belowThreshold }.map(\.flag)
        if waiting.contains(where: { $0 != "face" }) { return .whole }
        if waiting.contains("face") { return faces.isEmpty ? .whole : .faces(faces) }
        return .clear
    }

    /// The preview of `image` (which may be a reduced decode of an image of `fullSize`):
    /// at most `maxSide` pixels on its longer side, obscured per `mode` at `level`.
    /// A `fullSize` that is not positive is taken to be the image's own size.
    public static func render(_ image: RGBImage, fullSize: PixelSize, mode: Mode, level: Int, maxSide: Int = 256) -> RGBImage {
        let fullSize = fullSize.width > 0 && fullSize.height > 0 ? fullSize : PixelSize(width: image.width, height: image.height)
        let scale = min(1, Double(maxSide) / Double(max(image.width, image.height)))
        let size = PixelSize(width: max(1, Int((Double(image.width) * scale).rounded())),
                             height: max(1, Int((Double(image.height) * scale).rounded())))
        let thumbnail = image.resampled(to: size, filter: .box)
        guard level < clearLevel else { return thumbnail }
        switch mode {
        case .clear:
            return thumbnail
        case .whole:
            let blocks = blocksAcrossImage[max(0, level)]
            let block = max(1, Int((Double(max(size.width, size.height)) / Double(blocks)).rounded(.up)))
            return thumbnail.pixelated(block: block, inside: (0, 0, size.width, size.height))
        case let .faces(faces):
            // Face boxes in thumbnail pixels, grown by a quarter on each side to cover hair and ears.
            let sx = Double(size.width) / Double(fullSize.width), sy = Double(size.height) / Double(fullSize.height)
            var result = thumbnail
            for face in faces {
                // A box that is not a number cannot say where the face is: hide everything.
                guard [face.x, face.y, face.width, face.height].allSatisfy(\.isFinite) else {
                    return render(image, fullSize: fullSize, mode: .whole, level: level, maxSide: maxSide)
                }
                let grow = 0.25 * max(face.width, face.height)
                // Clamped in floating point first, so that no box converts to an Int out of range.
                func clamped(_ v: Double, _ limit: Int) -> Double { min(Double(limit), max(0, v)) }
                let x0 = Int(clamped((face.x - grow) * sx, size.width).rounded(.down))
                let y0 = Int(clamped((face.y - grow) * sy, size.height).rounded(.down))
                let x1 = Int(clamped((face.x + face.width + grow) * sx, size.width).rounded(.up))
                let y1 = Int(clamped((face.y + face.height + grow) * sy, size.height).rounded(.up))
                guard x1 > x0, y1 > y0 else { continue }
                let blocks = blocksAcrossFace[max(0, level)]
                let block = max(1, Int((Double(max(x1 - x0, y1 - y0)) / Double(blocks)).rounded(.up)))
                result = result.pixelated(block: block, inside: (x0, y0, x1, y1))
            }
            return result
        }
    }
}

extension RGBImage {
    /// Each `block`×`block` cell of the region `[x0, x1) × [y0, y1)` filled with its mean colour.
    func pixelated(block: Int, inside region: (x0: Int, y0: Int, x1: Int, y1: Int)) -> RGBImage {
        var out = pixels
        for by in stride(from: region.y0, to: region.y1, by: block) {
            for bx in stride(from: region.x0, to: region.x1, by: block) {
                let xe = min(bx + block, region.x1), ye = min(by + block, region.y1)
                var sum = [0, 0, 0]
                for y in by..<ye { for x in bx..<xe { for c in 0..<3 { sum[c] += Int(pixels[(y * width + x) * 3 + c]) } } }
                let n = (xe - bx) * (ye - by)
                let mean = sum.map { UInt8(($0 + n / 2) / n) }
                for y in by..<ye { for x in bx..<xe { for c in 0..<3 { out[(y * width + x) * 3 + c] = mean[c] } } }
            }
        }
        return RGBImage(valid: width, height, out)
    }
}
