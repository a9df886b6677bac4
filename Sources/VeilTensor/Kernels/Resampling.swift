/// Layers that move values between pixels instead of combining channels: bilinear
/// upsampling and depth-to-space, as feature-pyramid detectors (BlazeFace full range) use
/// them. Each image is resampled on its own, so its values never depend on its batch.
package enum Resampling {
    /// TensorFlow's bilinear resize: for each output row and column, a source coordinate
    /// (`i · scale`, or `(i + 0.5) · scale − 0.5` with half-pixel centres; `scale` from the
    /// corner pixels when `alignCorners`), the two neighbours clamped to the image and
    /// their weights. The same formula as TFLite's reference kernel.
    package static func resizeBilinear(_ x: Tensor, height: Int, width: Int, alignCorners: Bool, halfPixelCenters: Bool) -> Tensor {
        let s = x.shape
        let rows = taps(from: s.height, to: height, alignCorners: alignCorners, halfPixelCenters: halfPixelCenters)
        let columns = taps(from: s.width, to: width, alignCorners: alignCorners, halfPixelCenters: halfPixelCenters)
        var out = Tensor(uninitialized: Tensor.Shape(channels: s.channels, batch: s.batch, height: height, width: width))
        let planes = s.channels * s.batch, inPlane = s.plane, outPlane = height * width
        x.storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                for p in 0..<planes {
                    let input = src.baseAddress! + p * inPlane, output = dst.baseAddress! + p * outPlane
                    for (oy, row) in rows.enumerated() {
                        let top = input + row.lower * s.width, bottom = input + row.upper * s.width
                        for (ox, column) in columns.enumerated() {
                            let a = top[column.lower] * (1 - row.fraction) * (1 - column.fraction)
                            let b = bottom[column.lower] * row.fraction * (1 - column.fraction)
                            let c = top[column.upper] * (1 - row.fraction) * column.fraction
                            let d = bottom[column.upper] * row.fraction * column.fraction
                            output[oy * width + ox] = a + b + c + d
                        }
                    }
                }
            }
        }
        return out
    }

    struct Tap {
        var lower: Int, upper: Int
        /// The source coordinate minus `lower`.
        var fraction: Float
    }

    static func taps(from input: Int, to output: Int, alignCorners: Bool, halfPixelCenters: Bool) -> [Tap] {
        let scale = alignCorners && output > 1 ? Float(input - 1) / Float(output - 1) : Float(input) / Float(output)
        return (0..<output).map { i in
            let source = halfPixelCenters ? (Float(i) + 0.5) * scale - 0.5 : Float(i) * scale
            let lower = max(Int(source.rounded(.down)), 0)
            let upper = min(Int(source.rounded(.up)), input - 1)
            return Tap(lower: lower, upper: max(upper, 0), fraction: source - Float(lower))
        }
    }

    /// TensorFlow's depth-to-space (DCR order): input channel `(dy · block + dx) · C + c` of
    /// pixel `(y, x)` becomes channel `c` of pixel `(y · block + dy, x · block + dx)`.
    package static func depthToSpace(_ x: Tensor, blockSize block: Int) -> Tensor {
        let s = x.shape, channels = s.channels / (block * block)
        let outWidth = s.width * block, outHeight = s.height * block
        var out = Tensor(uninitialized: Tensor.Shape(channels: channels, batch: s.batch, height: outHeight, width: outWidth))
        x.storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                for dy in 0..<block {
                    for dx in 0..<block {
                        for c in 0..<channels {
                            for n in 0..<s.batch {
                                let input = src.baseAddress! + (((dy * block + dx) * channels + c) * s.batch + n) * s.plane
                                let output = dst.baseAddress! + (c * s.batch + n) * outHeight * outWidth
                                for y in 0..<s.height {
                                    for x in 0..<s.width {
                                        output[(y * block + dy) * outWidth + x * block + dx] = input[y * s.width + x]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
