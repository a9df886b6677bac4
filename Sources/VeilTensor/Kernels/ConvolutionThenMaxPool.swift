import VeilKernels

/// A convolution whose output feeds nothing but a max pooling, as a ResNet's stem does,
/// computed directly and pooled row by row while the rows are in cache.
///
/// Why: the stem's output is the largest tensor of the network (open_nsfw at batch 16:
/// 64 × 16 × 112 × 112 floats, 51 MB), written once by the convolution and read once by the
/// pooling, both bound by that memory traffic. Fused, it never exists whole: each worker
/// keeps the few convolution rows that one pooled row reads, and computes a row twice only
/// where two workers' pooled rows meet (a window shares a row with the next). And with
/// few input channels, the im2col matrix a product would need (147 rows for the 7×7 stem,
/// each input element copied twelve times) cost as much as a third of the layer; the direct
/// kernels of ``StemKernels`` read a padded copy of the input instead.
package struct ConvolutionThenMaxPool: Sendable {
    /// The convolution, activation included.
    package let convolution: Convolution2D
    /// The max pooling of its output.
    package let pooling: Pooling
    /// The weights tap by tap, every output channel side by side (padded with zeros to
    /// ``channels``); empty when the layer runs unfused.
    let tapWeights: [Float]
    /// The bias, padded as ``tapWeights`` is.
    let paddedBias: [Float]
    /// Output channels rounded up to the widest micro-tile.
    let channels: Int

    /// Fuses `convolution` and `pooling`, which must be a max pooling.
    package init(_ convolution: Convolution2D, _ pooling: Pooling, blockedOutput: Bool = false) throws {
        guard pooling.kind == .max else { throw TensorShapeError("only a max pooling fuses into the convolution before it") }
        guard !convolution.blockedChannels else { throw TensorShapeError("the fused stem reads planes of channels") }
        self.convolution = convolution
        self.pooling = pooling
        self.blockedOutput = blockedOutput
        let w = convolution.window
        let k = convolution.inputChannels * w.kernelHeight * w.kernelWidth
        let m = convolution.outputChannels
        channels = roundedUp(m, PackedGemm.widestTile)
        // Grouped convolutions, depths that the products would sum in more than one chunk,
        // and Winograd's layers run unfused: the direct kernel's sums must be the products'.
        guard convolution.groups == 1, k <= PackedGemm.chunk, convolution.winograd == nil,
              convolution.smallWinograd == nil else {
            guard !blockedOutput else {
                throw TensorShapeError("only the direct kernel writes channels in blocks, not \(convolution.window) in \(convolution.groups) group(s)")
            }
            tapWeights = []
            paddedBias = []
            return
        }
        var weights = [Float](repeating: 0, count: k * channels)
        for p in 0..<k {
            for c in 0..<m { weights[p * channels + c] = convolution.packed[0].element(row: c, column: p) }
        }
        tapWeights = weights
        paddedBias = convolution.bias + [Float](repeating: 0, count: channels - m)
    }

    /// The pooled output's shape for `input`, or an error naming the mismatch.
    package func outputShape(for input: Tensor.Shape) throws -> Tensor.Shape {
        try pooling.outputShape(for: convolution.outputShape(for: input)).laidOut(blocked: blockedOutput)
    }

    /// Whether the output has its channels in blocks (``BlockedChannels``), for the layers
    /// after it; the input always has planes.
    package let blockedOutput: Bool

    /// Whether a convolution of this kind runs on the direct kernel, the only one that can
    /// write its output with blocked channels.
    package static func computesDirectly(inputChannels: Int, outputChannels: Int, groups: Int, window: Window) -> Bool {
        groups == 1 && inputChannels * window.kernelHeight * window.kernelWidth <= PackedGemm.chunk
            && !WinogradF43.suits(inputChannels: inputChannels, outputChannels: outputChannels, groups: groups, window: window)
    }

    /// Convolves and pools `input`; `input.shape` must have passed ``outputShape(for:)``.
    /// Takes storage from `pool` when it can. The same result as the two layers one after
    /// the other, which is also how grouped or deep convolutions run.
    package func forward(_ input: Tensor, pool: inout TensorPool) -> Tensor {
        guard !tapWeights.isEmpty else {
            let full = convolution.forward(input, pool: &pool)
            defer { pool.recycle(full) }
            return pooling.forward(full, pool: &pool)
        }
        let convShape = try! convolution.outputShape(for: input.shape)  // checked when the graph was planned
        let outShape = try! pooling.outputShape(for: convShape).laidOut(blocked: blockedOutput)
        var output = pool.uninitialized(outShape)  // every pooled element is written below
        let layout = PaddedInput(window: convolution.window, input: input.shape)
        let padded = layout.fill(input, pool: &pool)
        defer { pool.recycle(padded) }
        run(padded, layout, convShape: convShape, into: &output)
        return output
    }

    private func run(_ padded: Tensor, _ layout: PaddedInput, convShape: Tensor.Shape, into output: inout Tensor) {
        let pw = pooling.window
        let channels = self.channels, m = convolution.outputChannels, width = convShape.width
        let outShape = output.shape, batch = outShape.batch
        let offsets = layout.tapOffsets(inputChannels: convolution.inputChannels, batch: batch)
        let spans = (0..<outShape.width).flatMap { o -> [Int] in
            let s = pooling.span(o, stride: pw.strideX, pad: pw.padLeft, kernel: pw.kernelWidth, size: width, padAfter: pw.padRight)
            return [s.lo, s.hi]
        }
        // A window spans at most its height in rows, consecutive, so rows kept by their
        // index modulo that height never evict one the window still needs.
        let ring = pw.kernelHeight
        let units = batch * outShape.height
        let relu = convolution.activation == .relu
        let blocked = blockedOutput, positions = outShape.positions
        padded.storage.withUnsafeBufferPointer { src in
            output.storage.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (src.baseAddress!, dst.baseAddress!)
                // Output rows one at a time (Runtime.share); a worker's rows mostly follow
                // one another, so the convolved rows it holds serve the next window.
                Runtime.current.share(units) { items in
                    let rows = UnsafeMutablePointer<Float>.allocate(capacity: ring * width * channels)
                    let columnMax = UnsafeMutablePointer<Float>.allocate(capacity: width * channels)
                    let pooled = UnsafeMutablePointer<Float>.allocate(capacity: outShape.width * channels)
                    let windowRows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: ring)
                    defer { rows.deallocate(); columnMax.deallocate(); pooled.deallocate(); windowRows.deallocate() }
                    // Which (image, row) each slot holds.
                    var held = [(image: Int, row: Int)](repeating: (-1, -1), count: ring)
                    while let unit = items.next() {
                        let n = unit / outShape.height, oy = unit % outShape.height
                        let span = pooling.span(oy, stride: pw.strideY, pad: pw.padTop, kernel: pw.kernelHeight,
                                                size: convShape.height, padAfter: pw.padBottom)
                        let planeOffset = (n * outShape.height + oy) * outShape.width
                        guard span.lo < span.hi else {
                            if blocked {
                                for b in 0..<outShape.blocks {
                                    (dst + (b * positions + planeOffset) * 16).update(repeating: -.infinity, count: outShape.width * 16)
                                }
                                continue
                            }
                            for c in 0..<m {
                                (dst + c * batch * outShape.plane + planeOffset).update(repeating: -.infinity, count: outShape.width)
                            }
                            continue
                        }
                        for (i, y) in (span.lo..<span.hi).enumerated() {
                            let slot = y % ring, target = rows + slot * width * channels
                            if held[slot] != (n, y) {
                                Vectorized.convolveRow(input: src + layout.rowStart(image: n, outputRow: y),
                                                       offsets: offsets, depth: offsets.count, count: width,
                                                       weights: tapWeights, channels: channels, into: target)
                                held[slot] = (n, y)
                            }
                            windowRows[i] = UnsafePointer(target)
                        }
                        Vectorized.poolRow(windowRows, rowCount: span.hi - span.lo, width: width, channels: channels,
                                           spans: spans, outCount: outShape.width, bias: paddedBias, relu: relu,
                                           columnMax: columnMax, pooled: pooled, into: dst + planeOffset,
                                           outStride: batch * outShape.plane, outChannels: blocked ? 0 : m)
                        if blocked {
                            // Each pooled pixel's channels are already side by side: a block at a time.
                            for b in 0..<outShape.blocks {
                                let target = dst + (b * positions + planeOffset) * 16
                                for o in 0..<outShape.width {
                                    (target + o * 16).update(from: pooled + o * channels + b * 16, count: 16)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The input of a direct convolution: zero padding added on every side, and at a stride
/// across of `s`, each row split into its `s` phases (columns `i·s + phase`), so that the
/// inputs one tap reads along an output row are consecutive.
struct PaddedInput {
    /// Phases per row (the stride across), and floats per phase.
    let phases: Int, phaseLength: Int
    /// Padded rows per plane, plus one spare row: the micro-tile reads a few pixels past
    /// the end of a row.
    let rows: Int
    let window: Window
    let shape: Tensor.Shape

    init(window: Window, input: Tensor.Shape) {
        self.window = window
        shape = input
        phases = window.strideX
        phaseLength = (input.width + window.padLeft + window.padRight + phases - 1) / phases
        rows = input.height + window.padTop + window.padBottom + 1
    }

    var rowLength: Int { phases * phaseLength }

    /// The padded copy of `input`, one plane per (channel, image) as in ``Tensor``.
    func fill(_ input: Tensor, pool: inout TensorPool) -> Tensor {
        var padded = pool.uninitialized(Tensor.Shape(channels: shape.channels, batch: shape.batch, height: rows, width: rowLength))
        let planes = shape.channels * shape.batch, (h, w) = (shape.height, shape.width)
        let (rowLength, phases, phaseLength, window) = (rowLength, phases, phaseLength, window)
        let rows = self.rows
        input.storage.withUnsafeBufferPointer { src in
            padded.storage.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (src.baseAddress!, dst.baseAddress!)
                // By rows, not planes: at batch 1 the stem has three planes, which two
                // workers split one against two.
                let units = planes * rows
                let workers = min(Runtime.current.threads, units)
                Runtime.current.parallelFor(workers) { worker in
                    for unit in (units * worker / workers)..<(units * (worker + 1) / workers) {
                        let plane = unit / rows, r = unit % rows
                        let from = src + plane * h * w, row = dst + unit * rowLength
                        let y = r - window.padTop
                        guard y >= 0, y < h else {
                            row.update(repeating: 0, count: rowLength)
                            continue
                        }
                        let line = from + y * w
                        for phase in 0..<phases {
                            // Column i*phases + phase - padLeft, for i in [lo, hi) inside the row.
                            let shift = phase - window.padLeft
                            let lo = min(phaseLength, max(0, (-shift + phases - 1) / phases))
                            let last = w - 1 - shift  // the last column's i, when not negative
                            let hi = last < 0 ? lo : max(lo, min(phaseLength, last / phases + 1))
                            let out = row + phase * phaseLength
                            out.update(repeating: 0, count: lo)
                            if phases == 2 {
                                copyEveryOther(from: line + 2 * lo + shift, to: out + lo, count: hi - lo)
                            } else {
                                for i in lo..<hi { out[i] = line[i * phases + shift] }
                            }
                            (out + hi).update(repeating: 0, count: phaseLength - hi)
                        }
                    }
                }
            }
        }
        return padded
    }

    /// Where tap 0 of output row `outputRow`'s first pixel reads in image `image`.
    func rowStart(image: Int, outputRow: Int) -> Int {
        (image * rows + outputRow * window.strideY) * rowLength
    }

    /// Each tap's offset from ``rowStart(image:outputRow:)``, in the weights' order
    /// (input channel, kernel row, kernel column).
    func tapOffsets(inputChannels: Int, batch: Int) -> [Int] {
        var offsets: [Int] = []
        offsets.reserveCapacity(inputChannels * window.kernelHeight * window.kernelWidth)
        for c in 0..<inputChannels {
            for ky in 0..<window.kernelHeight {
                for kx in 0..<window.kernelWidth {
                    offsets.append((c * batch * rows + ky) * rowLength + (kx % phases) * phaseLength + kx / phases)
                }
            }
        }
        return offsets
    }
}
