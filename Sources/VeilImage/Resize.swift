/// The filter a resize convolves with.
///
/// Both are applied as separable convolutions whose support widens with the downscale
/// factor, so shrinking a photo averages every source pixel instead of skipping most of them
/// (which would alias). This is the scheme Pillow's `Image.resize` uses, and the default
/// model's reference preprocessing was written against Pillow.
public enum ResizeFilter: Sendable, CaseIterable {
    /// Box (area) filter: each output pixel is the mean of the source pixels it covers.
    case box
    /// Triangle (bilinear) filter: bilinear interpolation when enlarging, a tent-weighted
    /// average when shrinking.
    case bilinear

    var support: Double {
        switch self {
        case .box: return 0.5
        case .bilinear: return 1.0
        }
    }

    func weight(_ x: Double) -> Double {
        switch self {
        case .box: return (x >= -0.5 && x < 0.5) ? 1 : 0
        case .bilinear:
            let a = abs(x)
            return a < 1 ? 1 - a : 0
        }
    }
}

extension RGBImage {
    /// This image resampled to `size` with `filter`. Pure: `self` is unchanged.
    ///
    /// - Throws: ``ImageGeometryError`` if `size` is not positive in both dimensions.
    public func resized(to size: PixelSize, filter: ResizeFilter = .bilinear) throws -> RGBImage {
        do { try Self.checkSize(size.width, size.height) } catch { throw ImageGeometryError("cannot resize to \(size): \(error)") }
        return resampled(to: size, filter: filter)
    }

    /// ``resized(to:filter:)`` for sizes this package has already checked.
    package func resampled(to size: PixelSize, filter: ResizeFilter = .bilinear) -> RGBImage {
        assert(size.width > 0 && size.height > 0, "resize target must be positive, got \(size)")
        if size.width == width && size.height == height { return self }
        var current = self
        // Horizontal first, then vertical, each rounding to 8 bits, as Pillow does.
        if size.width != width {
            current = current.resampledRows(to: size.width, filter: filter)
        }
        if size.height != height {
            current = current.resampledColumns(to: size.height, filter: filter)
        }
        return current
    }

    /// The `size`-sized region whose top-left corner is at (`x`, `y`).
    ///
    /// - Throws: ``ImageGeometryError`` if the region is empty or does not lie inside the image.
    public func cropped(x: Int, y: Int, size: PixelSize) throws -> RGBImage {
        // Compared without adding, so that no position or size can overflow.
        guard x >= 0 && y >= 0 && size.width > 0 && size.height > 0
                && size.width <= width && size.height <= height && x <= width - size.width && y <= height - size.height else {
            throw ImageGeometryError("a \(size) region at (\(x), \(y)) does not lie inside a \(width)x\(height) image")
        }
        return region(x: x, y: y, size: size)
    }

    /// ``cropped(x:y:size:)`` for a region this package has already checked.
    package func region(x: Int, y: Int, size: PixelSize) -> RGBImage {
        assert(x >= 0 && y >= 0 && x + size.width <= width && y + size.height <= height)
        var buffer = [UInt8]()
        buffer.reserveCapacity(size.width * size.height * 3)
        for row in y..<(y + size.height) {
            let start = (row * width + x) * 3
            buffer.append(contentsOf: pixels[start..<(start + size.width * 3)])
        }
        return RGBImage(valid: size.width, size.height, buffer)
    }

    /// The centred `size`-sized region; an odd margin leaves the extra pixel on the
    /// right and bottom (offsets round down), as Caffe's and torchvision's centre crops do.
    ///
    /// - Throws: ``ImageGeometryError`` if `size` is empty or larger than the image.
    public func centerCropped(to size: PixelSize) throws -> RGBImage {
        guard size.width > 0 && size.height > 0 && size.width <= width && size.height <= height else {
            throw ImageGeometryError("a \(size) centre crop does not fit a \(width)x\(height) image")
        }
        return region(x: (width - size.width) / 2, y: (height - size.height) / 2, size: size)
    }

    /// Resamples each row to `newWidth` pixels.
    private func resampledRows(to newWidth: Int, filter: ResizeFilter) -> RGBImage {
        let taps = ResampleTaps(input: width, output: newWidth, filter: filter)
        let tapStride = taps.stride
        // Each source row is converted to floats once, not once per tap that reads it.
        let source = UnsafeMutablePointer<Float>.allocate(capacity: width * 3)
        defer { source.deallocate() }
        // Each output row's sums, rounded to bytes together.
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: newWidth * 3)
        defer { sums.deallocate() }
        let out = [UInt8](unsafeUninitializedCapacity: newWidth * height * 3) { dst, initialized in
            pixels.withUnsafeBufferPointer { src in
                taps.first.withUnsafeBufferPointer { first in
                    taps.count.withUnsafeBufferPointer { count in
                        taps.weights.withUnsafeBufferPointer { weights in
                            for row in 0..<height {
                                let srcRow = src.baseAddress! + row * width * 3
                                for i in 0..<(width * 3) { source[i] = Float(srcRow[i]) }
                                let dstRow = row * newWidth * 3
                                for x in 0..<newWidth {
                                    let start = source + first[x] * 3, tapWeights = weights.baseAddress! + x * tapStride
                                    var r: Float = 0, g: Float = 0, b: Float = 0
                                    for k in 0..<count[x] {
                                        let w = tapWeights[k]
                                        let s = start + k * 3
                                        r += w * s[0]
                                        g += w * s[1]
                                        b += w * s[2]
                                    }
                                    sums[x * 3] = r
                                    sums[x * 3 + 1] = g
                                    sums[x * 3 + 2] = b
                                }
                                storeClamped(sums, count: newWidth * 3, into: dst.baseAddress! + dstRow)
                            }
                        }
                    }
                }
            }
            initialized = newWidth * height * 3
        }
        return RGBImage(valid: newWidth, height, out)
    }

    /// Resamples each column to `newHeight` pixels, a whole row at a time: each output row is
    /// a weighted sum of consecutive input rows, so the loops run along memory and vectorize.
    /// The same taps, summed in the same order, as ``resampledRows(to:filter:)`` gives a
    /// transposed image (which is how this pass was done before, at two transposes a resize).
    private func resampledColumns(to newHeight: Int, filter: ResizeFilter) -> RGBImage {
        let taps = ResampleTaps(input: height, output: newHeight, filter: filter)
        let tapStride = taps.stride, rowLength = width * 3
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: rowLength)
        defer { sums.deallocate() }
        let out = [UInt8](unsafeUninitializedCapacity: rowLength * newHeight) { dst, initialized in
            pixels.withUnsafeBufferPointer { src in
                taps.first.withUnsafeBufferPointer { first in
                    taps.count.withUnsafeBufferPointer { count in
                        taps.weights.withUnsafeBufferPointer { weights in
                            for y in 0..<newHeight {
                                sums.update(repeating: 0, count: rowLength)
                                for k in 0..<count[y] {
                                    let w = weights[y * tapStride + k]
                                    let row = src.baseAddress! + (first[y] + k) * rowLength
                                    for i in 0..<rowLength { sums[i] += w * Float(row[i]) }
                                }
                                let outRow = dst.baseAddress! + y * rowLength
                                storeClamped(sums, count: rowLength, into: outRow)
                            }
                        }
                    }
                }
            }
            initialized = rowLength * newHeight
        }
        return RGBImage(valid: width, newHeight, out)
    }
}

/// `value` rounded half away from zero and clamped to 0...255, like
/// `UInt8(max(0, min(255, value.rounded())))`, in plain float and integer operations, which
/// ``clampToBytes(_:)`` runs on sixteen lanes: baseline x86-64 has no rounding instruction
/// (`rounded()` is a libm call), and a float-to-integer conversion is checked for range, one
/// branch a value. Resizing rounds every channel of every pixel, and those two had become
/// most of its time.
@inline(__always)
func clampToByte(_ value: Float) -> UInt8 {
    let v = value > 255 ? 255 : (value > 0 ? value : 0)
    // From 0.5 up, the float sum v + 0.5 has the floor of the exact sum (below 0.5 it can
    // round up to 1, hence the test at the end). Adding 1.5 × 2²³ leaves that sum rounded to
    // an integer in the low mantissa bits; where the rounding went up, the floor is one less.
    let t = v + 0.5
    let shifted = t + 12_582_912
    let nearest = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
    let floor = (shifted - 12_582_912) > t ? nearest &- 1 : nearest
    return v < 0.5 ? 0 : UInt8(truncatingIfNeeded: floor)
}

/// ``clampToByte(_:)`` on each of `count` values, sixteen at a time.
@inline(__always)
func storeClamped(_ values: UnsafePointer<Float>, count: Int, into bytes: UnsafeMutablePointer<UInt8>) {
    var i = 0
    while i + 16 <= count {
        let clamped = clampToBytes(UnsafeRawPointer(values + i).loadUnaligned(as: SIMD16<Float>.self))
        UnsafeMutableRawPointer(bytes + i).storeBytes(of: clamped, as: SIMD16<UInt8>.self)
        i += 16
    }
    while i < count {
        bytes[i] = clampToByte(values[i])
        i += 1
    }
}

/// ``clampToByte(_:)`` on sixteen values at once, the same operations lane by lane.
@inline(__always)
func clampToBytes(_ value: SIMD16<Float>) -> SIMD16<UInt8> {
    let zero = SIMD16<Float>(repeating: 0)
    let v = zero.replacing(with: value, where: value .> zero).replacing(with: 255, where: value .> 255)
    let t = v + 0.5
    let shifted = t + 12_582_912
    let nearest = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
    let floor = nearest.replacing(with: nearest &- 1, where: (shifted - 12_582_912) .> t)
    return SIMD16<UInt8>(truncatingIfNeeded: floor.replacing(with: 0, where: v .< 0.5))
}

/// Precomputed, normalised filter taps for resampling one axis from `input` to `output`
/// samples, with pixel centres at half-integers.
struct ResampleTaps {
    var first: [Int]
    var count: [Int]
    var weights: [Float]
    var stride: Int

    init(input: Int, output: Int, filter: ResizeFilter) {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        stride = Int(support.rounded(.up)) * 2 + 1
        first = []
        count = []
        weights = [Float](repeating: 0, count: output * stride)
        for x in 0..<output {
            let center = (Double(x) + 0.5) * scale
            let lo = max(0, Int((center - support + 0.5).rounded(.down)))
            let hi = min(input, Int((center + support + 0.5).rounded(.down)))
            var taps = [Double]()
            for i in lo..<max(lo, hi) {
                taps.append(filter.weight((Double(i) - center + 0.5) / filterScale))
            }
            let total = taps.reduce(0, +)
            first.append(lo)
            count.append(min(taps.count, stride))
            for (k, w) in taps.prefix(stride).enumerated() {
                weights[x * stride + k] = total > 0 ? Float(w / total) : 0
            }
        }
    }
}
