/// Max or average pooling over each channel of each image.
///
/// Output size follows Caffe when `ceilMode` is set: rounded up, then reduced by one if the
/// last window would start inside the bottom or right padding. Averages divide by the window
/// clipped to the padded input (Caffe's and ONNX's `count_include_pad` rule), so padded
/// zeros count, while the part of a ceil-mode window beyond the padding does not.
public struct Pooling: Sendable {
    /// Which reduction.
    public enum Kind: String, Sendable, Codable {
        /// The largest value in the window.
        case max
        /// The mean of the window.
        case average
    }

    /// Which reduction.
    public let kind: Kind
    /// Kernel, stride and padding.
    public let window: Window
    /// Round the output size up (Caffe) instead of down (most other frameworks).
    public let ceilMode: Bool

    /// Creates a pooling layer.
    public init(kind: Kind, window: Window, ceilMode: Bool) throws {
        guard window.isValid else { throw TensorShapeError("invalid pooling window: \(window)") }
        self.kind = kind
        self.window = window
        self.ceilMode = ceilMode
    }

    /// The output shape for `input`.
    public func outputShape(for input: Tensor.Shape) throws -> Tensor.Shape {
        func extent(_ size: Int, _ padA: Int, _ padB: Int, _ kernel: Int, _ stride: Int) -> Int {
            let span = size + padA + padB - kernel
            guard span >= 0 else { return 0 }
            var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
            if ceilMode, padA > 0 || padB > 0, (out - 1) * stride >= size + padA { out -= 1 }
            return out
        }
        let h = extent(input.height, window.padTop, window.padBottom, window.kernelHeight, window.strideY)
        let w = extent(input.width, window.padLeft, window.padRight, window.kernelWidth, window.strideX)
        guard h > 0, w > 0 else { throw TensorShapeError("pooling \(window) leaves no output for \(input)") }
        return Tensor.Shape(channels: input.channels, batch: input.batch, height: h, width: w)
    }

    /// Pools `input`; its shape must have passed ``outputShape(for:)``.
    public func forward(_ input: Tensor) -> Tensor {
        let inShape = input.shape
        let outShape = try! outputShape(for: inShape)  // checked when the graph was planned
        var output = Tensor(uninitialized: outShape)  // every output is written below
        let isMax = kind == .max
        let threeByThree = window.kernelHeight == 3 && window.kernelWidth == 3
        input.storage.withUnsafeBufferPointer { src in
            output.storage.withUnsafeMutableBufferPointer { dst in
                let dstBase = dst.baseAddress!
                ComputeThreads.parallelFor(outShape.channels * outShape.batch) { plane in
                    let inPlane = src.baseAddress! + plane * inShape.plane
                    let outPlane = dstBase + plane * outShape.plane
                    for oy in 0..<outShape.height {
                        let y0 = oy * window.strideY - window.padTop
                        let yEnd = min(y0 + window.kernelHeight, inShape.height + window.padBottom)
                        let ys = max(y0, 0), ye = min(yEnd, inShape.height)
                        let outRow = outPlane + oy * outShape.width
                        // Interior columns, whose 3×3 window lies inside the image, take the
                        // unrolled path; edge columns and other windows the general one.
                        let interiorLo = (window.padLeft + window.strideX - 1) / window.strideX
                        let interiorHi = min(outShape.width,
                                             max(interiorLo, (inShape.width + window.padLeft - window.kernelWidth) / window.strideX + 1))
                        for ox in 0..<outShape.width {
                            if isMax && threeByThree && ox >= interiorLo && ox < interiorHi && ye - ys == 3 {
                                // The common 3×3 window, unrolled.
                                let p = inPlane + ys * inShape.width + ox * window.strideX - window.padLeft
                                let w = inShape.width
                                let a = Swift.max(Swift.max(p[0], p[1]), p[2])
                                let b = Swift.max(Swift.max(p[w], p[w + 1]), p[w + 2])
                                let c = Swift.max(Swift.max(p[2 * w], p[2 * w + 1]), p[2 * w + 2])
                                outRow[ox] = Swift.max(Swift.max(a, b), c)
                                continue
                            }
                            let x0 = ox * window.strideX - window.padLeft
                            let xEnd = min(x0 + window.kernelWidth, inShape.width + window.padRight)
                            let xs = max(x0, 0), xe = min(xEnd, inShape.width)
                            var acc: Float = isMax ? -.infinity : 0
                            if ys < ye && xs < xe {
                                for y in ys..<ye {
                                    let row = inPlane + y * inShape.width
                                    for x in xs..<xe { acc = isMax ? Swift.max(acc, row[x]) : acc + row[x] }
                                }
                            }
                            if !isMax { acc /= Float((yEnd - y0) * (xEnd - x0)) }
                            outRow[ox] = acc
                        }
                    }
                }
            }
        }
        return output
    }
}
