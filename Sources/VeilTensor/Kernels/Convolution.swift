import VeilKernels

/// What a layer does to its output before handing it on; fused into the layer's last pass.
package enum Activation: String, Sendable, Hashable, Codable {
    /// Leaves values as they are.
    case none
    /// `max(0, x)`.
    case relu
}

/// The geometry of a 2-D convolution or pooling window.
package struct Window: Hashable, Sendable, CustomStringConvertible {
    /// Kernel rows.
    package var kernelHeight: Int
    /// Kernel columns.
    package var kernelWidth: Int
    /// Vertical step between windows.
    package var strideY: Int
    /// Horizontal step between windows.
    package var strideX: Int
    /// Zero (or, for pooling, ignored) rows added above the input.
    package var padTop: Int
    /// Columns added left of the input.
    package var padLeft: Int
    /// Rows added below the input.
    package var padBottom: Int
    /// Columns added right of the input.
    package var padRight: Int

    /// Creates a window; `pad` applies to all four sides unless a side is given.
    package init(kernelHeight: Int, kernelWidth: Int, strideY: Int = 1, strideX: Int = 1,
                padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0) {
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideY = strideY
        self.strideX = strideX
        self.padTop = padTop
        self.padLeft = padLeft
        self.padBottom = padBottom
        self.padRight = padRight
    }

    /// A square kernel with equal stride and padding on every side.
    package static func square(_ kernel: Int, stride: Int = 1, pad: Int = 0) -> Window {
        Window(kernelHeight: kernel, kernelWidth: kernel, strideY: stride, strideX: stride,
               padTop: pad, padLeft: pad, padBottom: pad, padRight: pad)
    }

    var isValid: Bool {
        kernelHeight > 0 && kernelWidth > 0 && strideY > 0 && strideX > 0
            && padTop >= 0 && padLeft >= 0 && padBottom >= 0 && padRight >= 0
    }

    package var description: String {
        "kernel \(kernelHeight)x\(kernelWidth) stride \(strideY)x\(strideX) pad t\(padTop) l\(padLeft) b\(padBottom) r\(padRight)"
    }
}

/// A 2-D convolution whose weights were packed once, at load; ``forward(_:residual:)`` only reads.
///
/// Weights are `(outputChannels, inputChannels / groups, kernelHeight, kernelWidth)`, row-major,
/// which is both Caffe's and ONNX's order. Non-depthwise convolutions are GEMMs over the
/// whole batch (see ``Tensor`` for why the layout makes that possible), cut into blocks of
/// output columns that one worker takes whole: im2col of the block (none for a 1×1,
/// stride-1, unpadded convolution, which multiplies the input directly), its product, then
/// bias, shortcut and activation while the block is still in cache (small maps with many
/// output channels are shared by channels instead: ``sharesByRows(blocks:workers:groups:rows:columns:)``).
/// Depthwise convolutions (`groups == inputChannels == outputChannels`) use a direct loop,
/// since a GEMM with one input channel per group would do no useful blocking.
package struct Convolution2D: Sendable {
    /// Input channels.
    package let inputChannels: Int
    /// Output channels.
    package let outputChannels: Int
    /// Channel groups; `inputChannels` for a depthwise convolution.
    package let groups: Int
    /// Kernel, stride and padding.
    package let window: Window
    /// Applied after the bias.
    package let activation: Activation
    /// The weights as given, kept for a depthwise convolution only: the others read `packed`.
    let weights: [Float]
    let bias: [Float]
    /// Each group's weights as a `Cout/groups × (Cin/groups · kh · kw)` matrix packed for the
    /// products; empty for a depthwise convolution, which needs none, and for one packed for
    /// blocked channels, which uses ``pointwise`` or its Winograd form.
    let packed: [PackedMatrix]
    /// The Winograd form of a 3×3, stride-1 convolution with enough channels; nil otherwise.
    let winograd: WinogradF43?
    /// The F(2×2, 3×3) form of the same convolution, for maps too small for ``winograd``.
    let smallWinograd: WinogradF23?
    /// An ungrouped 1×1 convolution packed for tensors with blocked channels; nil otherwise.
    let pointwise: BlockedPointwise?

    /// The working set of one block, in floats (1 MiB): its im2col panel plus its output
    /// panel. A block goes from im2col through the GEMM to the bias pass in the L2 cache
    /// instead of through main memory: with few channels, that traffic, not the arithmetic,
    /// was what bounded these layers.
    static let columnBlock = 256 << 10

    /// Creates a convolution, checking every size against the others.
    ///
    /// With `blockedChannels`, the convolution is packed for tensors whose channels are in
    /// blocks (``Tensor/Shape/blocked``) and runs on those only; it must be an ungrouped 1×1
    /// convolution or a 3×3 one with a Winograd form
    /// (``runsBlocked(window:groups:inputChannels:outputChannels:output:)``).
    package init(inputChannels: Int, outputChannels: Int, groups: Int = 1, window: Window,
                weights: [Float], bias: [Float]?, activation: Activation = .none, blockedChannels: Bool = false) throws {
        guard inputChannels > 0, outputChannels > 0, groups > 0,
              inputChannels % groups == 0, outputChannels % groups == 0 else {
            throw TensorShapeError("convolution channels \(inputChannels)→\(outputChannels) do not divide into \(groups) groups")
        }
        guard window.isValid else { throw TensorShapeError("invalid convolution window: \(window)") }
        let expected = outputChannels * (inputChannels / groups) * window.kernelHeight * window.kernelWidth
        guard weights.count == expected else {
            throw TensorShapeError("convolution weights hold \(weights.count) values, expected \(expected) "
                                   + "(\(outputChannels)x\(inputChannels / groups)x\(window.kernelHeight)x\(window.kernelWidth))")
        }
        if let bias, bias.count != outputChannels {
            throw TensorShapeError("convolution bias holds \(bias.count) values, expected \(outputChannels)")
        }
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.groups = groups
        self.window = window
        self.activation = activation
        self.bias = bias ?? [Float](repeating: 0, count: outputChannels)
        let depthwise = groups > 1 && groups == inputChannels && groups == outputChannels
        self.weights = depthwise ? weights : []
        let (cinG, coutG) = (inputChannels / groups, outputChannels / groups)
        let k = cinG * window.kernelHeight * window.kernelWidth
        self.blockedChannels = blockedChannels
        self.packed = depthwise || blockedChannels ? [] : weights.withUnsafeBufferPointer { w in
            (0..<groups).map { g in PackedMatrix(w.baseAddress! + g * coutG * k, lda: k, rows: coutG, columns: k) }
        }
        self.winograd = WinogradF43.suits(inputChannels: inputChannels, outputChannels: outputChannels, groups: groups, window: window)
            ? WinogradF43(weights: weights, inputChannels: inputChannels, outputChannels: outputChannels, blocked: blockedChannels) : nil
        self.smallWinograd = WinogradF23.suits(inputChannels: inputChannels, outputChannels: outputChannels, groups: groups, window: window)
            ? WinogradF23(weights: weights, inputChannels: inputChannels, outputChannels: outputChannels, blocked: blockedChannels) : nil
        let oneByOne = groups == 1 && window.kernelHeight == 1 && window.kernelWidth == 1
            && window.padTop == 0 && window.padLeft == 0 && window.padBottom == 0 && window.padRight == 0
        self.pointwise = blockedChannels && oneByOne
            ? BlockedPointwise(weights: weights, bias: self.bias, outputs: outputChannels, inputs: inputChannels) : nil
        if blockedChannels && !oneByOne && winograd == nil && smallWinograd == nil {
            throw TensorShapeError("convolution \(window) \(inputChannels)→\(outputChannels) in \(groups) group(s) has no kernel for channels in blocks")
        }
    }

    /// Whether the convolution runs on tensors with blocked channels (and only on those).
    package let blockedChannels: Bool

    /// The weight of output channel `output` for channel `input` of its group at (`ky`, `kx`),
    /// read back from where the kernels keep it: for naive twins.
    func weight(output: Int, input: Int, ky: Int, kx: Int) -> Float {
        precondition(!blockedChannels, "weights are read back from a convolution over planes")
        let taps = window.kernelHeight * window.kernelWidth
        if isDepthwise { return weights[output * taps + ky * window.kernelWidth + kx] }
        let coutG = outputChannels / groups
        return packed[output / coutG].element(row: output % coutG, column: (input * window.kernelHeight + ky) * window.kernelWidth + kx)
    }

    var isDepthwise: Bool { groups > 1 && groups == inputChannels && groups == outputChannels }
    var isPointwise: Bool {
        window == .square(1)
    }

    /// The output shape for `input`, or an error naming the mismatch.
    package func outputShape(for input: Tensor.Shape) throws -> Tensor.Shape {
        guard input.channels == inputChannels else {
            throw TensorShapeError("convolution expects \(inputChannels) input channels, got \(input)")
        }
        let h = (input.height + window.padTop + window.padBottom - window.kernelHeight) / window.strideY + 1
        let w = (input.width + window.padLeft + window.padRight - window.kernelWidth) / window.strideX + 1
        guard h > 0, w > 0 else { throw TensorShapeError("convolution \(window) leaves no output for \(input)") }
        let output = Tensor.Shape(channels: outputChannels, batch: input.batch, height: h, width: w, blocked: blockedChannels)
        guard input.blocked == blockedChannels else {
            throw TensorShapeError("convolution packed for channels \(blockedChannels ? "in blocks" : "in planes") given \(input)")
        }
        if blockedChannels && !Self.runsBlocked(window: window, groups: groups, inputChannels: inputChannels,
                                                outputChannels: outputChannels, output: output) {
            throw TensorShapeError("convolution \(window) \(inputChannels)→\(outputChannels) has no kernel for channels in blocks at \(output)")
        }
        return output
    }

    /// Whether a convolution of this kind has a kernel for tensors with blocked channels at
    /// this output size: an ungrouped 1×1 convolution without padding, or a 3×3 one in one
    /// of its Winograd forms.
    package static func runsBlocked(window: Window, groups: Int, inputChannels: Int, outputChannels: Int,
                                    output: Tensor.Shape) -> Bool {
        if groups == 1 && window.kernelHeight == 1 && window.kernelWidth == 1 && window.padTop == 0 && window.padLeft == 0
            && window.padBottom == 0 && window.padRight == 0 { return true }
        guard WinogradF43.suits(inputChannels: inputChannels, outputChannels: outputChannels, groups: groups, window: window)
        else { return false }
        return WinogradF43.pays(for: output) || WinogradF23.pays(for: output)
    }

    /// Convolves `input`; `input.shape` must have passed ``outputShape(for:)``.
    ///
    /// With `residual` (a tensor of the output's shape) the result is
    /// `activation(convolution + bias + residual)`: a ResNet shortcut added while each block
    /// of the output is still in cache, instead of in a separate pass over memory.
    package func forward(_ input: Tensor, residual: Tensor? = nil) -> Tensor {
        var pool = TensorPool()
        return forward(input, residual: residual, pool: &pool)
    }

    /// Convolves like ``forward(_:residual:)``, taking the output's storage from `pool` when it can.
    package func forward(_ input: Tensor, residual: Tensor? = nil, pool: inout TensorPool) -> Tensor {
        let outShape = try! outputShape(for: input.shape)  // checked when the graph was planned
        if let residual { precondition(residual.shape == outShape, "residual \(residual.shape) does not match output \(outShape)") }
        // Every path writes every output element (GEMMs with beta 0), so no zero fill is needed.
        var output = pool.uninitialized(outShape)
        if let residual {
            residual.storage.withUnsafeBufferPointer { r in
                run(input, into: &output, shortcut: .separate(r.baseAddress!), pool: &pool)
            }
        } else {
            run(input, into: &output, shortcut: .none, pool: &pool)
        }
        return output
    }

    /// Convolves like ``forward(_:residual:pool:)`` with `shortcut` as the residual, writing
    /// the result over the shortcut's own storage when the caller hands over its last
    /// reference to it. Reading the shortcut and writing the output then touch the same
    /// memory once, instead of streaming through two tensors. The shortcut layers of a ResNet,
    /// whose few input channels leave them bound by that traffic, took a quarter less time.
    package func forward(_ input: Tensor, addingInto shortcut: consuming Tensor, pool: inout TensorPool) -> Tensor {
        // A depthwise layer writes its sums before its epilogue reads the shortcut.
        guard !isDepthwise else { return forward(input, residual: shortcut, pool: &pool) }
        let outShape = try! outputShape(for: input.shape)
        precondition(shortcut.shape == outShape, "shortcut \(shortcut.shape) does not match output \(outShape)")
        var output = consume shortcut
        run(input, into: &output, shortcut: .inOutput, pool: &pool)
        return output
    }

    /// Where the shortcut a convolution adds is read from.
    enum Shortcut {
        case none
        case separate(UnsafePointer<Float>)
        /// The output's own storage: each epilogue reads an element, then overwrites it.
        case inOutput

        func pointer(output: UnsafeMutablePointer<Float>) -> UnsafePointer<Float>? {
            switch self {
            case .none: nil
            case .separate(let pointer): pointer
            case .inOutput: UnsafePointer(output)
            }
        }
    }

    private func run(_ input: Tensor, into output: inout Tensor, shortcut: Shortcut, pool: inout TensorPool) {
        let epilogue = Epilogue(bias: bias, relu: activation == .relu)
        if input.shape.blocked {
            runBlocked(input, into: &output, shortcut: shortcut, epilogue: epilogue, pool: &pool)
        } else if isDepthwise {
            switch shortcut {
            case .none: depthwise(input, into: &output, epilogue: epilogue, residual: nil)
            case .separate(let residual): depthwise(input, into: &output, epilogue: epilogue, residual: residual)
            case .inOutput: preconditionFailure("a depthwise convolution cannot add a shortcut held in its output")
            }
        } else if let winograd = winogradForm(for: output.shape) {
            let outShape = output.shape
            input.storage.withUnsafeBufferPointer { src in
            output.storage.withUnsafeMutableBufferPointer { dst in
                winograd.forward(src.baseAddress!, input.shape, padTop: window.padTop, padLeft: window.padLeft,
                                 into: dst.baseAddress!, outShape, epilogue: epilogue,
                                 residual: shortcut.pointer(output: dst.baseAddress!))
            }
            }
        } else {
            let outShape = output.shape
            output.storage.withUnsafeMutableBufferPointer { dst in
                let planes = OutputPlanes(dst.baseAddress!, total: outShape.batch * outShape.plane)
                product(input, outShape: outShape, into: planes, epilogue: epilogue,
                        residual: shortcut.pointer(output: dst.baseAddress!), pool: &pool)
            }
        }
    }

    /// The convolution as products (im2col where the window needs it), into `planes`.
    func product(_ input: Tensor, outShape: Tensor.Shape, into planes: OutputPlanes, epilogue: Epilogue,
                 residual: UnsafePointer<Float>?, pool: inout TensorPool) {
        if Im2Col.splitsPhases(window) {
            let phased = Im2Col.splitColumnPhases(input, pool: &pool)
            gemmConvolution(phased, columnPhases: true, outShape: outShape, into: planes, epilogue: epilogue, residual: residual)
            pool.recycle(phased)
        } else {
            gemmConvolution(input, columnPhases: false, outShape: outShape, into: planes, epilogue: epilogue, residual: residual)
        }
    }

    /// The Winograd form that runs an image of this output size: F(4×4, 3×3) where it has
    /// enough tiles, else F(2×2, 3×3) where that has, else none (im2col).
    func winogradForm(for outShape: Tensor.Shape) -> (any WinogradForm)? {
        if let winograd, winograd.pays(for: outShape) { return winograd }
        if let smallWinograd, smallWinograd.pays(for: outShape) { return smallWinograd }
        return nil
    }

    /// The column blocks of a product with `k` rows of input and `m` rows of output, over
    /// `total` columns shared by `workers`: the im2col panel and the output panel together
    /// stay within ``columnBlock`` floats (so in L2); several workers get at least
    /// ``blocksPerWorker`` blocks each, of at least ``fewestColumns``, so that when one is
    /// slowed the others take its blocks (``Runtime/share(_:_:)``); the blocks come in a
    /// multiple of the workers, so that none is left with one extra; and they hold whole
    /// micro-tiles, as evenly as those allow.
    static func columnBlocks(k: Int, m: Int, total: Int, workers: Int) -> EvenRuns {
        let blocks = blockCount(cached: cachedBlocks(k: k, m: m, total: total), total: total, workers: workers,
                                perWorker: blocksPerWorker, fewest: fewestColumns)
        return EvenRuns(count: total, unit: PackedGemm.widestTile, parts: blocks)
    }

    /// Blocks to cut `total` items into for `workers`: at least `cached` (the fewest that fit
    /// in L2); for several workers, `perWorker` each where every block keeps `fewest` items,
    /// so that a slowed worker leaves some to the others; and a multiple of the workers.
    /// Shared by the products' columns and Winograd's tiles.
    static func blockCount(cached: Int, total: Int, workers: Int, perWorker: Int, fewest: Int) -> Int {
        var blocks = cached
        if workers > 1 { blocks = max(blocks, min(perWorker * workers, total / fewest)) }
        return roundedUp(max(1, blocks), max(1, workers))
    }

    /// The fewest blocks of `total` columns whose panels fit in ``columnBlock``.
    static func cachedBlocks(k: Int, m: Int, total: Int) -> Int {
        let cached = max(16, columnBlock / (k + m))
        return (total + cached - 1) / cached
    }

    /// Blocks per worker wanted when a product is shared by columns: enough that a worker
    /// slowed by the host leaves a few to the others.
    static let blocksPerWorker = 4

    /// The narrowest block worth cutting for balance: two of the widest micro-tiles.
    static let fewestColumns = 2 * PackedGemm.widestTile

    /// Whether the workers share a product by rows (output channels), each taking every
    /// column, rather than by blocks of columns: when the map is small enough that its
    /// L2-sized blocks (``cachedBlocks(k:m:total:)``) are fewer than the workers, and the
    /// rows are many.
    ///
    /// Split by columns, two workers write parts of every output row, meeting mid cache line
    /// in every row unless the row length happens to suit; with the shortcut held in the
    /// output, each then reads and writes lines the other is writing. When first measured at
    /// batch 1 on two threads, the 1×1 shortcut layers of the 28×28 and 14×14 stages ran
    /// slower that way than on one thread (0.28–0.33 ms against 0.25 ms); measured again
    /// with today's blocks, the 28×28 ones no longer do (below). By rows, each worker owns
    /// whole output planes.
    /// By rows, every worker needs every column: when each packed them for itself, that
    /// cost more than it saved with few rows (a 128→32 layer over 56×56 took 0.20 ms by
    /// rows, 0.17 ms by columns). ``byRowsTogether`` now packs them once between them.
    ///
    /// A map with a block for every worker stays shared by columns, as the layers around
    /// it are (the stem's rows, Winograd's tiles): by rows, the 56×56 stage's 1×1 layers
    /// with 128 outputs read half their input from the other core and left half their
    /// output there; by columns, whole passes at batch 1 on two threads took 2–3% less time.
    /// So does a map wide enough to give every worker ``blocksPerWorker`` blocks of
    /// ``fewestColumns`` (28×28 at batch 1, not 14×14): by rows, the 28×28 shortcut layers
    /// were as fast in quiet stretches of the VM, and up to 1.7 times slower in the slow
    /// ones, where moving data between the two cores costs more.
    /// `blocks` is ``cachedBlocks(k:m:total:)``; `columns` the product's columns.
    static func sharesByRows(blocks: Int, workers: Int, groups: Int, rows: Int, columns: Int) -> Bool {
        workers > 1 && groups == 1 && blocks < workers && columns < blocksPerWorker * fewestColumns * workers
            && rows >= 8 * PackedGemm.rows * workers
    }

    /// `columnPhases`: `input`'s rows come from ``Im2Col/splitColumnPhases(_:pool:)``.
    private func gemmConvolution(_ input: Tensor, columnPhases: Bool, outShape: Tensor.Shape, into planes: OutputPlanes,
                                 epilogue: Epilogue, residual: UnsafePointer<Float>?) {
        let inShape = input.shape
        let cinG = inputChannels / groups, coutG = outputChannels / groups
        let k = cinG * window.kernelHeight * window.kernelWidth
        let total = outShape.batch * outShape.plane
        let direct = isPointwise  // a 1×1, stride-1 convolution multiplies the input itself
        let workers = Runtime.current.threads
        let byRows = Self.sharesByRows(blocks: Self.cachedBlocks(k: direct ? 0 : k, m: coutG, total: total),
                                       workers: workers, groups: groups, rows: coutG, columns: total)
        let blocks = Self.columnBlocks(k: direct ? 0 : k, m: coutG, total: total, workers: byRows ? 1 : workers)
        input.storage.withUnsafeBufferPointer { src in
            let src = src.baseAddress!
            if byRows {
                byRowsTogether(inShape, outShape, columnPhases: columnPhases, src: src, planes: planes, blocks: blocks,
                               epilogue: epilogue, residual: residual)
                return
            }
            Runtime.current.share(blocks.parts) { items in
                let block = blocks.longest
                let columns = direct ? nil : UnsafeMutablePointer<Float>.allocate(capacity: k * block)
                // The product lands here, contiguous and in cache, and the epilogue
                // writes each output element once: the strided output in memory is
                // never read back.
                let product = UnsafeMutablePointer<Float>.allocate(capacity: coutG * block)
                let scratch = GemmScratch(columns: block)
                defer { columns?.deallocate(); product.deallocate(); scratch.deallocate() }
                while let b = items.next() {
                    let first = blocks[b].lowerBound, count = blocks[b].count
                    for g in 0..<groups {
                        let panel: UnsafePointer<Float>, ldb: Int
                        if let columns {
                            Im2Col.fill(columns, input: src, inShape: inShape, columnPhases: columnPhases,
                                        channels: (g * cinG)..<((g + 1) * cinG),
                                        columns: first..<(first + count), window: window, outShape: outShape)
                            panel = UnsafePointer(columns)
                            ldb = count
                        } else {
                            panel = src + g * cinG * total + first
                            ldb = total
                        }
                        packed[g].multiply(panel, ldb: ldb, n: count, into: product, ldc: count, scratch: scratch)
                        for row in 0..<coutG {
                            let channel = g * coutG + row, offset = channel * total + first
                            epilogue.apply(product + row * count, into: planes.channel(channel) + first, count: count,
                                           channel: channel, residual: residual.map { $0 + offset })
                        }
                    }
                }
            }
        }
    }

    /// The product shared by rows (``sharesByRows(blocks:workers:groups:rows:columns:)``), one block
    /// of columns at a time: first the workers lay out the block's columns (im2col) and pack
    /// them once, a run of input channels each in turn; then they take its rows in runs
    /// (``Runtime/share(_:_:)``), each run's product and epilogue done by one worker.
    private func byRowsTogether(_ inShape: Tensor.Shape, _ outShape: Tensor.Shape, columnPhases: Bool,
                                src: UnsafePointer<Float>, planes: OutputPlanes, blocks: EvenRuns,
                                epilogue: Epilogue, residual: UnsafePointer<Float>?) {
        let m = outputChannels, k = inputChannels * window.kernelHeight * window.kernelWidth
        let total = outShape.batch * outShape.plane
        // Rows of the shared im2col matrix and product start on cache lines, so that two
        // workers filling neighbouring rows never write the same line.
        let pitch = roundedUp(blocks.longest, 16)
        func lines(_ floats: Int) -> UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer.allocate(byteCount: floats * 4, alignment: 64).bindMemory(to: Float.self, capacity: floats)
        }
        let raw = isPointwise ? nil : lines(k * pitch)
        let product = lines(m * pitch)
        defer { raw.map { UnsafeMutableRawPointer($0).deallocate() }; UnsafeMutableRawPointer(product).deallocate() }
        let runs = EvenRuns(count: m, unit: PackedGemm.rows, parts: Self.rowRunsPerWorker * Runtime.current.threads)
        let perChannel = window.kernelHeight * window.kernelWidth
        let channelRuns = EvenRuns(count: inputChannels, unit: 2, parts: Self.rowRunsPerWorker * Runtime.current.threads)
        for b in 0..<blocks.parts {
            let first = blocks[b].lowerBound, count = blocks[b].count
            let columns = PackedColumns(rows: k, columns: count)
            defer { columns.deallocate() }
            let (source, ldb) = raw.map { (UnsafePointer($0), pitch) } ?? (src + first, total)
            // By input channels: each worker lays out and packs the rows of the channels it
            // mostly wrote itself in the layer before (which shared its output channels the
            // same way), so that only the product reads what the other core wrote. Runs of
            // two channels: the portable kernels' panel rows are half a cache line.
            Runtime.current.share(channelRuns.parts) { claimed in
                while let item = claimed.next() {
                    let channels = channelRuns[item]
                    if let raw {
                        Im2Col.fill(raw + channels.lowerBound * perChannel * pitch, rowStride: pitch, input: src, inShape: inShape,
                                    columnPhases: columnPhases, channels: channels, columns: first..<(first + count),
                                    window: window, outShape: outShape)
                    }
                    columns.pack(source, ldb: ldb, rows: (channels.lowerBound * perChannel)..<(channels.upperBound * perChannel))
                }
            }
            Runtime.current.share(runs.parts) { claimed in
                while let r = claimed.next() {
                    let rows = runs[r]
                    packed[0].multiply(source, ldb: ldb, n: count, packed: columns, into: product, ldc: pitch, rows: rows)
                    for row in rows {
                        let offset = row * total + first
                        epilogue.apply(product + row * pitch, into: planes.channel(row) + first, count: count, channel: row,
                                       residual: residual.map { $0 + offset })
                    }
                }
            }
        }
    }

    /// Runs of rows per worker in ``byRowsTogether``, and of input channels to pack: enough
    /// to even out a slowed worker, few enough that each run of rows reuses a packed panel of
    /// columns over several row panels.
    static let rowRunsPerWorker = 4

    private func depthwise(_ input: Tensor, into output: inout Tensor, epilogue: Epilogue, residual: UnsafePointer<Float>?) {
        let inShape = input.shape, outShape = output.shape
        let kh = window.kernelHeight, kw = window.kernelWidth
        let sx = window.strideX, sy = window.strideY
        // Each plane is first copied into a zero-bordered buffer, so that every tap reads in
        // bounds: the inner loop then has no tests and, for 3×3 at stride 1, vectorizes.
        // Taps are summed in the naive twin's (ky, kx) order; a padding tap adds zero.
        let paddedWidth = inShape.width + window.padLeft + window.padRight
        let paddedHeight = inShape.height + window.padTop + window.padBottom
        input.storage.withUnsafeBufferPointer { src in
            weights.withUnsafeBufferPointer { w in
                output.storage.withUnsafeMutableBufferPointer { dst in
                    let dstBase = dst.baseAddress!
                    let planes = outShape.channels * outShape.batch
                    let workers = min(Runtime.current.threads, planes)
                    Runtime.current.parallelFor(workers) { worker in
                        let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedWidth * paddedHeight)
                        padded.initialize(repeating: 0, count: paddedWidth * paddedHeight)
                        defer { padded.deallocate() }
                        for plane in (planes * worker / workers)..<(planes * (worker + 1) / workers) {
                            let c = plane / outShape.batch
                            let inPlane = src.baseAddress! + plane * inShape.plane
                            for y in 0..<inShape.height {
                                (padded + (y + window.padTop) * paddedWidth + window.padLeft)
                                    .update(from: inPlane + y * inShape.width, count: inShape.width)
                            }
                            let outPlane = dstBase + plane * outShape.plane
                            let kernel = w.baseAddress! + c * kh * kw
                            if kh == 3 && kw == 3 && sx == 1 {
                                let (w0, w1, w2, w3, w4, w5, w6, w7, w8) = (kernel[0], kernel[1], kernel[2], kernel[3], kernel[4],
                                                                           kernel[5], kernel[6], kernel[7], kernel[8])
                                for oy in 0..<outShape.height {
                                    let r0 = padded + (oy * sy) * paddedWidth, r1 = r0 + paddedWidth, r2 = r1 + paddedWidth
                                    let out = outPlane + oy * outShape.width
                                    for ox in 0..<outShape.width {
                                        var sum: Float = 0
                                        sum += r0[ox] * w0; sum += r0[ox + 1] * w1; sum += r0[ox + 2] * w2
                                        sum += r1[ox] * w3; sum += r1[ox + 1] * w4; sum += r1[ox + 2] * w5
                                        sum += r2[ox] * w6; sum += r2[ox + 1] * w7; sum += r2[ox + 2] * w8
                                        out[ox] = sum
                                    }
                                }
                            } else {
                                for oy in 0..<outShape.height {
                                    let out = outPlane + oy * outShape.width
                                    for ox in 0..<outShape.width {
                                        var sum: Float = 0
                                        for ky in 0..<kh {
                                            let row = padded + (oy * sy + ky) * paddedWidth + ox * sx
                                            for kx in 0..<kw { sum += row[kx] * kernel[ky * kw + kx] }
                                        }
                                        out[ox] = sum
                                    }
                                }
                            }
                            epilogue.apply(outPlane, into: outPlane, count: outShape.plane, channel: c,
                                           residual: residual.map { $0 + plane * outShape.plane })
                        }
                    }
                }
            }
        }
    }
}

/// What every convolution does to a run of one output channel right after computing it:
/// `out = activation(x + bias[channel] + residual)`, summed in that order.
struct Epilogue {
    let bias: [Float]
    /// The channels that go through the ReLU: all or none of one convolution's, and either
    /// part of two convolutions run as one (``SiblingConvolutions``).
    let rectified: Range<Int>

    init(bias: [Float], relu: Bool) {
        self.bias = bias
        rectified = relu ? 0..<bias.count : 0..<0
    }

    init(bias: [Float], rectified: Range<Int>) {
        (self.bias, self.rectified) = (bias, rectified)
    }

    /// Whether every channel goes through the ReLU (else none does); for the kernels that
    /// run one convolution only, which must never get a partly rectified epilogue.
    var relu: Bool {
        precondition(rectified.isEmpty || rectified == 0..<bias.count, "a partly rectified epilogue reached a whole-layer kernel")
        return !rectified.isEmpty
    }

    /// Reads `x`, writes `out` (which may be `x`, or `residual`).
    @inline(__always)
    func apply(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int, channel: Int,
               residual: UnsafePointer<Float>?) {
        // Compiled per instruction set: these passes run over every output element.
        Vectorized.biasResidualActivation(x, into: out, count: count, bias: bias[channel],
                                          relu: rectified.contains(channel), residual: residual)
    }
}

/// Where each output channel's planes go: one tensor's storage, or for two convolutions run
/// as one (``SiblingConvolutions``), the first's channels to one and the rest to another.
/// A channel's planes for the whole batch are contiguous (``Tensor``'s `(C, N, H, W)`).
struct OutputPlanes {
    let first: UnsafeMutablePointer<Float>
    let second: UnsafeMutablePointer<Float>
    /// Channels that go to `first`; floats per channel (batch × plane).
    let split: Int, total: Int

    init(_ only: UnsafeMutablePointer<Float>, total: Int) {
        (first, second, split, self.total) = (only, only, Int.max, total)
    }

    init(_ first: UnsafeMutablePointer<Float>, _ second: UnsafeMutablePointer<Float>, split: Int, total: Int) {
        (self.first, self.second, self.split, self.total) = (first, second, split, total)
    }

    /// Channel `c`'s first float.
    @inline(__always) func channel(_ c: Int) -> UnsafeMutablePointer<Float> {
        c < split ? first + c * total : second + (c - split) * total
    }
}

/// Lays convolution windows out as GEMM columns.
enum Im2Col {
    /// Whether ``splitColumnPhases(_:pool:)`` pays for a window: at stride 2 across, when an
    /// input element lands in more than one column (the 7×7 stem: twelve), so that one
    /// strided pass over the input replaces strided gathers of every column.
    static func splitsPhases(_ window: Window) -> Bool {
        window.strideX == 2 && window.kernelWidth * window.kernelHeight > window.strideX * window.strideY
    }

    /// `input` with each row reordered as its even columns, then its odd ones. At stride 2,
    /// the inputs that one kernel column reads along an output row are then consecutive, and
    /// ``fill`` copies runs instead of gathering every other element.
    static func splitColumnPhases(_ input: Tensor, pool: inout TensorPool) -> Tensor {
        var phased = pool.uninitialized(input.shape)
        let width = input.shape.width, evens = (width + 1) / 2
        let rows = input.shape.count / width
        input.storage.withUnsafeBufferPointer { src in
            phased.storage.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (src.baseAddress!, dst.baseAddress!)
                let workers = min(Runtime.current.threads, rows)
                Runtime.current.parallelFor(workers) { worker in
                    for row in (rows * worker / workers)..<(rows * (worker + 1) / workers) {
                        let from = src + row * width, to = dst + row * width
                        for j in 0..<evens { to[j] = from[2 * j] }
                        for j in 0..<(width - evens) { to[evens + j] = from[2 * j + 1] }
                    }
                }
            }
        }
        return phased
    }

    /// Fills `columns` as a `(channels × kh × kw) × columns.count` row-major matrix whose
    /// column `j` is the window of output position `columns.lowerBound + j`, positions being
    /// numbered `(image, outY, outX)` across the whole batch; its rows are `rowStride` apart
    /// (`columns.count` when nil), so that threads can fill column ranges of one matrix.
    /// Runs on the calling thread. With `columnPhases`, `input`'s rows are as
    /// ``splitColumnPhases(_:pool:)`` left them (and the stride across is 2).
    static func fill(_ columns: UnsafeMutablePointer<Float>, rowStride: Int? = nil, input: UnsafePointer<Float>,
                     inShape: Tensor.Shape, columnPhases: Bool, channels: Range<Int>, columns range: Range<Int>,
                     window: Window, outShape: Tensor.Shape) {
        let kh = window.kernelHeight, kw = window.kernelWidth
        let rows = channels.count * kh * kw
        let width = rowStride ?? range.count
        let outW = outShape.width, outPlane = outShape.plane
        let sx = window.strideX
        for r in 0..<rows {
            let c = channels.lowerBound + r / (kh * kw)
            let ky = (r / kw) % kh, kx = r % kw
            let ix0 = kx - window.padLeft
            // Output column ox reads the row at base + ox * step, and reads inside the image
            // for ox in [validLo, validHi).
            let base: Int, step: Int, validLo: Int, validHi: Int
            if columnPhases {
                // Input column 2·ox + ix0 sits in the half of its parity, at ox + ⌊ix0 / 2⌋.
                let odd = ix0 & 1 == 1, shift = ix0 >> 1
                let evens = (inShape.width + 1) / 2
                let halfWidth = odd ? inShape.width - evens : evens
                (base, step) = ((odd ? evens : 0) + shift, 1)
                validLo = max(0, -shift)
                validHi = max(0, min(outW, halfWidth - shift))
            } else {
                (base, step) = (ix0, sx)
                validLo = ix0 >= 0 ? 0 : (-ix0 + sx - 1) / sx
                validHi = inShape.width - 1 - ix0 < 0 ? 0 : min(outW, (inShape.width - 1 - ix0) / sx + 1)
            }
            var out = columns + r * width
            var q = range.lowerBound
            var n = q / outPlane, oy = (q % outPlane) / outW, ox = q % outW
            while q < range.upperBound {
                // One run along an output row: the same input row, consecutive columns.
                let run = min(outW - ox, range.upperBound - q)
                let iy = oy * window.strideY - window.padTop + ky
                if iy < 0 || iy >= inShape.height {
                    out.update(repeating: 0, count: run)
                } else {
                    let rowPtr = input + (c * inShape.batch + n) * inShape.plane + iy * inShape.width
                    // Padding on the left, the image, padding on the right: no test per element.
                    let lo = min(max(ox, validLo), ox + run), hi = max(min(ox + run, validHi), lo)
                    if lo > ox { out.update(repeating: 0, count: lo - ox) }
                    if hi > lo {
                        let dst = out + (lo - ox)
                        let src = rowPtr + base + lo * step
                        if step == 1 {
                            dst.update(from: src, count: hi - lo)
                        } else {
                            if step == 2 {
                                // 1×1 projections that halve the map.
                                copyEveryOther(from: src, to: dst, count: hi - lo)
                            } else {
                                for j in 0..<(hi - lo) { dst[j] = src[j * step] }
                            }
                        }
                    }
                    if ox + run > hi { (out + (hi - ox)).update(repeating: 0, count: ox + run - hi) }
                }
                out += run
                q += run
                ox += run
                if ox == outW {
                    ox = 0
                    oy += 1
                    if oy == outShape.height { oy = 0; n += 1 }
                }
            }
        }
    }
}

/// A tensor's shape does not fit the operation asked of it.
package struct TensorShapeError: Error, Sendable, CustomStringConvertible {
    /// What does not fit.
    package var reason: String
    init(_ reason: String) { self.reason = reason }
    package var description: String { reason }
}

/// `to[j] = from[2 · j]` for `j < count`: four at a time from loads of eight, short of the
/// end so as never to read past `from[2 · (count − 1)]`. A loop of single strided loads does
/// not vectorize. For im2col at stride 2 and the stem's split of rows into phases.
@inline(__always) func copyEveryOther(from: UnsafePointer<Float>, to: UnsafeMutablePointer<Float>, count: Int) {
    var j = 0
    while j + 4 < count {
        let pair = UnsafeRawPointer(from + 2 * j).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(to + j).storeBytes(of: pair.evenHalf, as: SIMD4<Float>.self)
        j += 4
    }
    while j < count { to[j] = from[2 * j]; j += 1 }
}

/// `x` rounded up to a multiple of `multiple`.
@inline(__always) func roundedUp(_ x: Int, _ multiple: Int) -> Int { (x + multiple - 1) / multiple * multiple }

/// `max(0, x)` as one comparison and select, which vectorizes. `Swift.max` is generic over
/// `Comparable`, and in these loops it was left as a call per element through Float's
/// protocol witness (perf showed it).
@inline(__always) func rectified(_ x: Float) -> Float { x > 0 ? x : 0 }

/// The larger of two floats (`b` when they are equal, as `Swift.max`), without the generic call.
@inline(__always) func larger(_ a: Float, _ b: Float) -> Float { a > b ? a : b }
