import VeilKernels

/// Max or average pooling over each channel of each image.
///
/// Output size follows Caffe when `ceilMode` is set: rounded up, then reduced by one if the
/// last window would start inside the bottom or right padding. Averages divide by the window
/// clipped to the padded input (Caffe's and ONNX's `count_include_pad` rule), so padded
/// zeros count, while the part of a ceil-mode window beyond the padding does not.
package struct Pooling: Sendable {
    /// Which reduction.
    package enum Kind: String, Sendable, Codable {
        /// The largest value in the window.
        case max
        /// The mean of the window.
        case average
    }

    /// Which reduction.
    package let kind: Kind
    /// Kernel, stride and padding.
    package let window: Window
    /// Round the output size up (Caffe) instead of down (most other frameworks).
    package let ceilMode: Bool

    /// Creates a pooling layer.
    package init(kind: Kind, window: Window, ceilMode: Bool) throws {
        guard window.isValid else { throw TensorShapeError("invalid pooling window: \(window)") }
        self.kind = kind
        self.window = window
        self.ceilMode = ceilMode
    }

    /// The output shape for `input`.
    package func outputShape(for input: Tensor.Shape) throws -> Tensor.Shape {
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
        guard !input.blocked || kind == .average else {
            throw TensorShapeError("max pooling has no kernel for channels in blocks (\(input))")
        }
        // Over blocked channels, an average pooling writes planes: a ResNet's global pool is
        // where the blocked part of the graph ends.
        return Tensor.Shape(channels: input.channels, batch: input.batch, height: h, width: w)
    }

    /// Pools `input`; its shape must have passed ``outputShape(for:)``.
    package func forward(_ input: Tensor) -> Tensor {
        var pool = TensorPool()
        return forward(input, pool: &pool)
    }

    /// Pools `input`, taking the output's storage from `pool` when it can.
    package func forward(_ input: Tensor, pool: inout TensorPool) -> Tensor {
        let inShape = input.shape
        let outShape = try! outputShape(for: inShape)  // checked when the graph was planned
        var output = pool.uninitialized(outShape)  // every output is written below
        if inShape.blocked {
            averageBlocked(input, into: &output)
            return output
        }
        input.storage.withUnsafeBufferPointer { src in
            output.storage.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (src.baseAddress!, dst.baseAddress!)
                let planes = outShape.channels * outShape.batch
                let workers = min(Runtime.current.threads, planes)
                Runtime.current.parallelFor(workers) { worker in
                    let columnMax = UnsafeMutablePointer<Float>.allocate(capacity: inShape.width)
                    defer { columnMax.deallocate() }
                    for plane in (planes * worker / workers)..<(planes * (worker + 1) / workers) {
                        let inPlane = src + plane * inShape.plane
                        let outPlane = dst + plane * outShape.plane
                        if kind == .max {
                            maxPlane(inPlane, inShape, into: outPlane, outShape, columnMax)
                        } else {
                            averagePlane(inPlane, inShape, outPlane, outShape)
                        }
                    }
                }
            }
        }
        return output
    }

    /// The input rows and columns a window covers, clipped to the image; `full` is the
    /// window's extent within the padded input, which averages divide by.
    func span(_ o: Int, stride: Int, pad: Int, kernel: Int, size: Int, padAfter: Int) -> (lo: Int, hi: Int, full: Int) {
        let start = o * stride - pad
        let end = min(start + kernel, size + padAfter)
        return (max(start, 0), min(end, size), end - start)
    }

    /// Max pooling of one plane, separably: for each output row, first the maximum down each
    /// input column over the window's rows (a contiguous loop that vectorizes), then the
    /// maximum across each window's columns of that. Same result as the 2-D window, since max
    /// is exact, with a third of the loads for 3×3. `columnMax` holds a row.
    func maxPlane(_ plane: UnsafePointer<Float>, _ inShape: Tensor.Shape,
                  into outPlane: UnsafeMutablePointer<Float>, _ outShape: Tensor.Shape,
                  _ columnMax: UnsafeMutablePointer<Float>) {
        let w = inShape.width
        for oy in 0..<outShape.height {
            let rows = span(oy, stride: window.strideY, pad: window.padTop, kernel: window.kernelHeight,
                            size: inShape.height, padAfter: window.padBottom)
            let outRow = outPlane + oy * outShape.width
            guard rows.lo < rows.hi else {
                outRow.update(repeating: -.infinity, count: outShape.width)
                continue
            }
            columnMax.update(from: plane + rows.lo * w, count: w)
            for y in (rows.lo + 1)..<max(rows.lo + 1, rows.hi) {
                let row = plane + y * w
                for x in 0..<w { columnMax[x] = larger(columnMax[x], row[x]) }
            }
            // Windows wholly inside the row need no clipping: [inLo, inHi). The 3-wide ones
            // (ResNet's stem pool) are unrolled; a per-window span and loop cost more than the max.
            let sx = window.strideX, kw = window.kernelWidth, pad = window.padLeft
            let inLo = min(outShape.width, (pad + sx - 1) / sx)
            let inHi = max(inLo, min(outShape.width, w + pad - kw < 0 ? 0 : (w + pad - kw) / sx + 1))
            func clipped(_ ox: Int) {
                let cols = span(ox, stride: sx, pad: pad, kernel: kw, size: w, padAfter: window.padRight)
                var acc = -Float.infinity
                for x in cols.lo..<max(cols.lo, cols.hi) { acc = larger(acc, columnMax[x]) }
                outRow[ox] = acc
            }
            for ox in 0..<inLo { clipped(ox) }
            if kw == 3 {
                for ox in inLo..<inHi {
                    let x = ox * sx - pad
                    outRow[ox] = larger(larger(columnMax[x], columnMax[x + 1]), columnMax[x + 2])
                }
            } else {
                for ox in inLo..<inHi {
                    let x = ox * sx - pad
                    var acc = columnMax[x]
                    for dx in 1..<kw { acc = larger(acc, columnMax[x + dx]) }
                    outRow[ox] = acc
                }
            }
            for ox in inHi..<outShape.width { clipped(ox) }
        }
    }

    /// ``averagePlane(_:_:_:_:)`` for sixteen channels at once, from blocked channels into
    /// planes: each lane sums its window in the same order.
    private func averageBlocked(_ input: Tensor, into output: inout Tensor) {
        let inShape = input.shape, outShape = output.shape, width = BlockedChannels.width
        input.storage.withUnsafeBufferPointer { src in
            output.storage.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (src.baseAddress!, dst.baseAddress!)
                for block in 0..<inShape.blocks {
                    let lanes = min(width, inShape.channels - block * width)
                    for n in 0..<inShape.batch {
                        let image = src + (block * inShape.positions + n * inShape.plane) * width
                        averageWindows(inShape, outShape) { o, rows, columns, count in
                            var sum = SIMD16<Float>()
                            for y in rows {
                                for x in columns {
                                    sum += UnsafeRawPointer(image + (y * inShape.width + x) * width).loadUnaligned(as: SIMD16<Float>.self)
                                }
                            }
                            let mean = sum / count
                            for l in 0..<lanes { dst[((block * width + l) * outShape.batch + n) * outShape.plane + o] = mean[l] }
                        }
                    }
                }
            }
        }
    }

    private func averagePlane(_ inPlane: UnsafePointer<Float>, _ inShape: Tensor.Shape,
                              _ outPlane: UnsafeMutablePointer<Float>, _ outShape: Tensor.Shape) {
        averageWindows(inShape, outShape) { o, rows, columns, count in
            var sum: Float = 0
            for y in rows {
                let row = inPlane + y * inShape.width
                for x in columns { sum += row[x] }
            }
            outPlane[o] = sum / count
        }
    }

    /// For each output position of an average pooling (its offset in the output plane): the
    /// input rows and columns its window covers, and what the sum is divided by (padding
    /// counted). Shared by both layouts, so that they sum and divide alike.
    @inline(__always)
    private func averageWindows(_ inShape: Tensor.Shape, _ outShape: Tensor.Shape,
                                _ body: (_ output: Int, _ rows: Range<Int>, _ columns: Range<Int>, _ count: Float) -> Void) {
        for oy in 0..<outShape.height {
            let rows = span(oy, stride: window.strideY, pad: window.padTop, kernel: window.kernelHeight,
                            size: inShape.height, padAfter: window.padBottom)
            for ox in 0..<outShape.width {
                let cols = span(ox, stride: window.strideX, pad: window.padLeft, kernel: window.kernelWidth,
                                size: inShape.width, padAfter: window.padRight)
                body(oy * outShape.width + ox, rows.lo..<max(rows.lo, rows.hi), cols.lo..<max(cols.lo, cols.hi),
                     Float(rows.full * cols.full))
            }
        }
    }
}
