/// A convolution whose output feeds nothing but a max pooling, as a ResNet's stem does: run a
/// band of output rows at a time and pooled while the band is still in cache.
///
/// Why: the stem's output is the largest tensor of the network (open_nsfw at batch 16:
/// 64 × 16 × 112 × 112 floats, 51 MB), written once by the convolution and read once by the
/// pooling, both bound by that memory traffic. Fused, it never exists whole: each worker
/// keeps one band of it in a scratch buffer, and the rows that two neighbouring windows share
/// are carried over to the next band instead of being computed twice.
package struct ConvolutionThenMaxPool: Sendable {
    /// The convolution, activation included.
    package let convolution: Convolution2D
    /// The max pooling of its output.
    package let pooling: Pooling

    /// Fuses `convolution` and `pooling`, which must be a max pooling.
    package init(_ convolution: Convolution2D, _ pooling: Pooling) throws {
        guard pooling.kind == .max else { throw TensorShapeError("only a max pooling fuses into the convolution before it") }
        self.convolution = convolution
        self.pooling = pooling
    }

    /// The pooled output's shape for `input`, or an error naming the mismatch.
    package func outputShape(for input: Tensor.Shape) throws -> Tensor.Shape {
        try pooling.outputShape(for: convolution.outputShape(for: input))
    }

    /// Convolves and pools `input`; `input.shape` must have passed ``outputShape(for:)``.
    /// Takes storage from `pool` when it can. The same result as the two layers one after
    /// the other, which is also how convolutions that the band schedule does not cover run
    /// (grouped, depthwise, or Winograd's).
    package func forward(_ input: Tensor, pool: inout TensorPool) -> Tensor {
        let convShape = try! convolution.outputShape(for: input.shape)  // checked when the graph was planned
        guard convolution.groups == 1, convolution.winograd?.pays(for: convShape) != true else {
            let full = convolution.forward(input, pool: &pool)
            defer { pool.recycle(full) }
            return pooling.forward(full, pool: &pool)
        }
        let outShape = try! pooling.outputShape(for: convShape)
        var output = pool.uninitialized(outShape)  // every pooled element is written below
        if Im2Col.splitsPhases(convolution.window) {
            let phased = Im2Col.splitColumnPhases(input, pool: &pool)
            run(phased, columnPhases: true, convShape: convShape, into: &output)
            pool.recycle(phased)
        } else {
            run(input, columnPhases: false, convShape: convShape, into: &output)
        }
        return output
    }

    /// The convolution rows that pooled rows `pooled` read: `[lo, hi)`, clipped to the image.
    private func convolutionRows(_ pooled: Range<Int>, _ convShape: Tensor.Shape) -> Range<Int> {
        let w = pooling.window
        let first = pooling.span(pooled.lowerBound, stride: w.strideY, pad: w.padTop, kernel: w.kernelHeight,
                                 size: convShape.height, padAfter: w.padBottom)
        let last = pooling.span(pooled.upperBound - 1, stride: w.strideY, pad: w.padTop, kernel: w.kernelHeight,
                                size: convShape.height, padAfter: w.padBottom)
        return first.lo..<max(first.lo, last.hi)
    }

    private func run(_ input: Tensor, columnPhases: Bool, convShape: Tensor.Shape, into output: inout Tensor) {
        let conv = convolution
        let inShape = input.shape, outShape = output.shape
        let k = conv.inputChannels * conv.window.kernelHeight * conv.window.kernelWidth
        let m = conv.outputChannels, width = convShape.width
        // Pooled rows per band: as many as keep the band's im2col panel and product within
        // one L2-sized block, as the unfused convolution's blocks are.
        let rowsInBlock = max(1, Convolution2D.columnBlock / ((k + m) * width))
        let stride = pooling.window.strideY, overlap = max(0, pooling.window.kernelHeight - stride)
        let pooledPerBand = max(1, (rowsInBlock - overlap) / stride)
        let bandsPerImage = (outShape.height + pooledPerBand - 1) / pooledPerBand
        let bands = outShape.batch * bandsPerImage
        let mostRows = (0..<bandsPerImage).map { j in
            convolutionRows((j * pooledPerBand)..<min(outShape.height, (j + 1) * pooledPerBand), convShape).count
        }.max() ?? 1
        let capacity = max(1, mostRows) * width  // floats of one channel's band
        let epilogue = Epilogue(bias: conv.bias, relu: conv.activation == .relu)
        input.storage.withUnsafeBufferPointer { src in
            output.storage.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (src.baseAddress!, dst.baseAddress!)
                let workers = min(Runtime.current.threads, bands)
                Runtime.current.parallelFor(workers) { worker in
                    let columns = UnsafeMutablePointer<Float>.allocate(capacity: k * capacity)
                    // Two products, this band's and the last one's, whose shared rows
                    // are copied over rather than computed again.
                    var product = UnsafeMutablePointer<Float>.allocate(capacity: m * capacity)
                    var previous = UnsafeMutablePointer<Float>.allocate(capacity: m * capacity)
                    let columnMax = UnsafeMutablePointer<Float>.allocate(capacity: width)
                    let scratch = GemmScratch(columns: capacity)
                    defer {
                        columns.deallocate(); product.deallocate(); previous.deallocate(); columnMax.deallocate()
                        scratch.deallocate()
                    }
                    var last: (image: Int, rows: Range<Int>)?
                    for band in (bands * worker / workers)..<(bands * (worker + 1) / workers) {
                        let n = band / bandsPerImage, j = band % bandsPerImage
                        let pooled = (j * pooledPerBand)..<min(outShape.height, (j + 1) * pooledPerBand)
                        let rows = convolutionRows(pooled, convShape)
                        let ld = max(1, rows.count) * width  // one channel's rows in `product`
                        var computeFrom = rows.lowerBound
                        if let last, last.image == n, last.rows.overlaps(rows), last.rows.lowerBound <= rows.lowerBound {
                            let shared = rows.lowerBound..<min(last.rows.upperBound, rows.upperBound)
                            let lastLd = last.rows.count * width
                            for c in 0..<m {
                                (product + c * ld).update(from: previous + c * lastLd + (shared.lowerBound - last.rows.lowerBound) * width,
                                                          count: shared.count * width)
                            }
                            computeFrom = shared.upperBound
                        }
                        if computeFrom < rows.upperBound {
                            let first = n * convShape.plane + computeFrom * width
                            let count = (rows.upperBound - computeFrom) * width
                            let offset = (computeFrom - rows.lowerBound) * width
                            Im2Col.fill(columns, input: src, inShape: inShape, columnPhases: columnPhases,
                                        channels: 0..<conv.inputChannels, columns: first..<(first + count),
                                        window: conv.window, outShape: convShape)
                            conv.packed[0].multiply(columns, ldb: count, n: count, into: product + offset, ldc: ld,
                                                    scratch: scratch)
                            for c in 0..<m {
                                let row = product + c * ld + offset
                                epilogue.apply(row, into: row, count: count, channel: c, residual: nil)
                            }
                        }
                        for c in 0..<m {
                            pooling.maxRows(product + c * ld, firstRow: rows.lowerBound, convShape, outRows: pooled,
                                            into: dst + (c * outShape.batch + n) * outShape.plane, outShape, columnMax)
                        }
                        last = (n, rows)
                        swap(&product, &previous)
                    }
                }
            }
        }
    }
}
