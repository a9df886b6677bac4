import VeilKernels

/// Conversions between the two layouts of ``Tensor``, for the edges of the part of a graph
/// that runs on blocked channels.
package enum ChannelBlocks {
    /// `x`, which has planes of channels, with its channels in blocks.
    package static func blocked(_ x: Tensor, pool: inout TensorPool) -> Tensor {
        precondition(!x.shape.blocked, "\(x.shape) is already blocked")
        var out = pool.uninitialized(x.shape.laidOut(blocked: true))
        let positions = x.shape.positions, channels = x.shape.channels, width = BlockedChannels.width
        x.storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (src.baseAddress!, dst.baseAddress!)
                for block in 0..<x.shape.blocks {
                    let target = dst + block * positions * width
                    for lane in 0..<width {
                        let c = block * width + lane
                        if c < channels {
                            let plane = src + c * positions
                            for q in 0..<positions { target[q * width + lane] = plane[q] }
                        } else {
                            for q in 0..<positions { target[q * width + lane] = 0 }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `x`, which has blocked channels, with its channels in planes.
    package static func planes(_ x: Tensor, pool: inout TensorPool) -> Tensor {
        precondition(x.shape.blocked, "\(x.shape) is not blocked")
        var out = pool.uninitialized(x.shape.laidOut(blocked: false))
        let positions = x.shape.positions, width = BlockedChannels.width
        x.storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (src.baseAddress!, dst.baseAddress!)
                for c in 0..<x.shape.channels {
                    let from = src + (c / width) * positions * width + c % width, plane = dst + c * positions
                    for q in 0..<positions { plane[q] = from[q * width] }
                }
            }
        }
        return out
    }

    /// The positions of `x` (blocked) that a window of one pixel at strides `strideY`,
    /// `strideX` reads, as a tensor of the output's size.
    static func strided(_ x: Tensor, to out: Tensor.Shape, strideY: Int, strideX: Int, pool: inout TensorPool) -> Tensor {
        let inShape = x.shape, width = BlockedChannels.width
        var result = pool.uninitialized(out.laidOut(blocked: true).with(channels: inShape.channels))
        x.storage.withUnsafeBufferPointer { src in
            result.storage.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (UncheckedSendable(src.baseAddress!), UncheckedSendable(dst.baseAddress!))
                let rows = inShape.blocks * out.batch * out.height
                // Counted here: the workers run outside this runtime's scope.
                let parts = min(Runtime.current.threads, rows)
                Runtime.current.parallelFor(parts) { part in
                    for row in (rows * part / parts)..<(rows * (part + 1) / parts) {
                        let block = row / (out.batch * out.height), n = row / out.height % out.batch, y = row % out.height
                        let from = src.value + (block * inShape.positions + (n * inShape.height + y * strideY) * inShape.width) * width
                        let to = dst.value + (block * out.positions + (n * out.height + y) * out.width) * width
                        for x in 0..<out.width {
                            (to + x * width).update(from: from + x * strideX * width, count: width)
                        }
                    }
                }
            }
        }
        return result
    }
}

extension Tensor.Shape {
    /// The same shape with `channels` channels.
    func with(channels: Int) -> Tensor.Shape {
        var shape = self
        shape.channels = channels
        return shape
    }
}

extension Convolution2D {
    /// The convolution over blocked channels: the 1×1 kernel, after picking the strided
    /// positions; or a Winograd form.
    func runBlocked(_ input: Tensor, into output: inout Tensor, shortcut: Shortcut, epilogue: Epilogue, pool: inout TensorPool) {
        let outShape = output.shape
        if let pointwise {
            let strided = window.strideY > 1 || window.strideX > 1
            let source = strided
                ? ChannelBlocks.strided(input, to: outShape, strideY: window.strideY, strideX: window.strideX, pool: &pool) : input
            source.storage.withUnsafeBufferPointer { src in
                output.storage.withUnsafeMutableBufferPointer { dst in
                    let dst = dst.baseAddress!
                    pointwise.runShared(input: src.baseAddress!, positions: outShape.positions,
                                        residual: shortcut.pointer(output: dst),
                                        outputs: [(dst, 0..<pointwise.blocks, epilogue.relu)])
                }
            }
            if strided { pool.recycle(source) }
            return
        }
        guard let winograd = winogradForm(for: outShape) else { preconditionFailure("no blocked kernel for \(outShape)") }
        input.storage.withUnsafeBufferPointer { src in
            output.storage.withUnsafeMutableBufferPointer { dst in
                winograd.forwardBlocked(src.baseAddress!, input.shape, padTop: window.padTop, padLeft: window.padLeft,
                                        into: dst.baseAddress!, outShape, epilogue: epilogue,
                                        residual: shortcut.pointer(output: dst.baseAddress!))
            }
        }
    }
}

extension BlockedPointwise {
    /// Runs the layer over `positions` positions on this runtime's threads. Each of
    /// `outputs` takes a range of the layer's output blocks, written from its own tensor's
    /// first block on (two tensors for ``SiblingConvolutions``); all have `positions`
    /// positions, as has the input.
    ///
    /// Large maps are shared by runs of positions, each worker taking every output channel
    /// of its positions, so that it reads only the input it wrote itself in the layer
    /// before; small maps, whose few positions would not go round, by output blocks.
    func runShared(input: UnsafePointer<Float>, positions: Int, residual: UnsafePointer<Float>?,
                   outputs: [(tensor: UnsafeMutablePointer<Float>, blocks: Range<Int>, relu: Bool)]) {
        let stride = positions * BlockedChannels.width, workers = Runtime.current.threads
        let tiles = (positions + PointwiseKernels.positions - 1) / PointwiseKernels.positions
        let targets = outputs.map { UncheckedSendable($0) }, input = UncheckedSendable(input)
        let residual = residual.map(UncheckedSendable.init)
        func run(_ positions: Range<Int>, _ blocks: Range<Int>) {
            for target in targets {
                let (tensor, range, relu) = target.value
                let part = range.clamped(to: blocks)
                guard !part.isEmpty else { continue }
                // Block b of the layer is block b − range.lowerBound of its tensor.
                self.run(input: input.value, inputStride: stride, relu: relu, residual: residual?.value, output: tensor,
                         outputStride: stride, outputShift: range.lowerBound, positions: positions, blocks: part)
            }
        }
        if tiles >= 16 * workers || workers == 1 {
            let runs = EvenRuns(count: positions, unit: PointwiseKernels.positions, parts: 4 * workers)
            Runtime.current.share(runs.parts) { items in
                while let r = items.next() { run(runs[r], 0..<self.blocks) }
            }
        } else {
            // Pairs of blocks: the widest micro-tiles take two at a time.
            let runs = EvenRuns(count: blocks, unit: 2, parts: 4 * workers)
            Runtime.current.share(runs.parts) { items in
                while let r = items.next() { run(0..<positions, runs[r]) }
            }
        }
    }
}
