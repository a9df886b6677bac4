import Testing
import VeilTestSupport
@testable import VeilTensor

/// The optimised convolution against its naive twin, across kernel sizes, strides, padding,
/// groups (depthwise included), batch sizes and odd spatial sizes.
///
/// Tolerance: float32 accumulation over K = (Cin/groups)·kh·kw products of values in [-1, 1]
/// has a rounding error bounded by about K·ε·Σ|x·w|; we allow 4·K·ε·(1 + |bias|) per output,
/// with ε = 2⁻²³, far above what a correct GEMM produces and far below any indexing bug.
struct ConvolutionTests {
    struct Case: CustomStringConvertible, Sendable {
        var cin, cout, groups, batch, height, width: Int
        var window: Window
        var activation: Activation = .none
        /// Whether a shortcut tensor is added before the activation.
        var residual = false
        var description: String {
            "cin \(cin) cout \(cout) groups \(groups) batch \(batch) input \(height)x\(width) \(window) \(activation)"
                + (residual ? " + shortcut" : "")
        }
    }

    static let cases: [Case] = [
        Case(cin: 3, cout: 8, groups: 1, batch: 1, height: 9, width: 11, window: .square(3, stride: 1, pad: 1)),
        Case(cin: 3, cout: 5, groups: 1, batch: 3, height: 15, width: 13, window: .square(7, stride: 2, pad: 3), activation: .relu),
        Case(cin: 8, cout: 16, groups: 1, batch: 2, height: 6, width: 5, window: .square(1)),
        Case(cin: 8, cout: 6, groups: 1, batch: 4, height: 7, width: 7, window: .square(1, stride: 2)),
        Case(cin: 6, cout: 6, groups: 6, batch: 2, height: 10, width: 9, window: .square(3, stride: 1, pad: 1)),
        Case(cin: 6, cout: 6, groups: 6, batch: 1, height: 10, width: 9, window: .square(5, stride: 2, pad: 2), activation: .relu),
        Case(cin: 8, cout: 4, groups: 2, batch: 3, height: 5, width: 8, window: .square(3, stride: 2, pad: 0)),
        Case(cin: 4, cout: 4, groups: 4, batch: 2, height: 8, width: 8,
             window: Window(kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2, padTop: 0, padLeft: 0, padBottom: 1, padRight: 1)),
        Case(cin: 5, cout: 7, groups: 1, batch: 2, height: 4, width: 12,
             window: Window(kernelHeight: 1, kernelWidth: 5, strideY: 1, strideX: 3, padTop: 0, padLeft: 2, padBottom: 0, padRight: 1)),
        Case(cin: 16, cout: 16, groups: 1, batch: 5, height: 3, width: 3, window: .square(3, stride: 1, pad: 1), activation: .relu),
        // More output positions than one im2col block holds (2000 > 262144 / 144), so blocks
        // start mid-image and mid-row.
        Case(cin: 16, cout: 8, groups: 1, batch: 5, height: 20, width: 20, window: .square(3, stride: 1, pad: 1)),
        Case(cin: 16, cout: 4, groups: 2, batch: 3, height: 41, width: 37, window: .square(3, stride: 2, pad: 1), activation: .relu),
        // Shortcuts added in the epilogue: a pointwise product, im2col blocks, groups, depthwise.
        Case(cin: 8, cout: 16, groups: 1, batch: 3, height: 30, width: 29, window: .square(1), activation: .relu, residual: true),
        Case(cin: 16, cout: 8, groups: 1, batch: 5, height: 20, width: 20, window: .square(3, stride: 1, pad: 1), activation: .relu, residual: true),
        Case(cin: 8, cout: 4, groups: 2, batch: 3, height: 5, width: 8, window: .square(3, stride: 2, pad: 0), residual: true),
        Case(cin: 6, cout: 6, groups: 6, batch: 2, height: 10, width: 9, window: .square(3, stride: 1, pad: 1), activation: .relu, residual: true),
        // Stride 2 across from rows split into even and odd columns (Im2Col.splitsPhases): a
        // stem over several blocks with an even width, and uneven padding with a wide kernel.
        Case(cin: 3, cout: 16, groups: 1, batch: 2, height: 100, width: 90, window: .square(7, stride: 2, pad: 3), activation: .relu),
        Case(cin: 4, cout: 6, groups: 1, batch: 2, height: 9, width: 10,
             window: Window(kernelHeight: 3, kernelWidth: 5, strideY: 2, strideX: 2, padTop: 1, padLeft: 2, padBottom: 0, padRight: 1),
             residual: true),
        // Small maps with many output channels, which two workers share by channels
        // (Convolution2D.sharesByRows): a pointwise product with a shortcut, a strided one
        // through im2col, and one deeper than a chunk of k (256), whose packed weights are
        // laid out by chunk across all rows.
        Case(cin: 24, cout: 100, groups: 1, batch: 1, height: 9, width: 11, window: .square(1), activation: .relu, residual: true),
        Case(cin: 20, cout: 103, groups: 1, batch: 1, height: 10, width: 9, window: .square(1, stride: 2)),
        Case(cin: 300, cout: 97, groups: 1, batch: 1, height: 5, width: 6, window: .square(1), activation: .relu),
        // The same with the columns laid out and packed by several workers into one matrix
        // (a 7×7 map's 49 columns: panels of different widths, then the column kernel's
        // tail), and with two L2-sized blocks of columns, pointwise and through im2col
        // (shared by rows on three workers, by columns on two).
        Case(cin: 20, cout: 100, groups: 1, batch: 1, height: 14, width: 14, window: .square(1, stride: 2), residual: true),
        Case(cin: 24, cout: 700, groups: 1, batch: 1, height: 20, width: 20, window: .square(1), activation: .relu, residual: true),
        Case(cin: 20, cout: 700, groups: 1, batch: 1, height: 40, width: 40, window: .square(1, stride: 2)),
        // One L2-sized block, but enough columns for four blocks a worker: by columns.
        Case(cin: 24, cout: 150, groups: 1, batch: 1, height: 28, width: 28, window: .square(1), activation: .relu, residual: true),
    ]

    /// 3×3 stride-1 layers that take the Winograd path: sizes that are and are not multiples
    /// of the 4×4 tile, padding 1, 0 and uneven, channels that differ, a shortcut, more tiles
    /// than one block holds, and few enough that the products are split instead of the tiles.
    static let winogradCases: [Case] = [
        Case(cin: 32, cout: 32, groups: 1, batch: 2, height: 32, width: 32, window: .square(3, stride: 1, pad: 1), activation: .relu),
        Case(cin: 48, cout: 32, groups: 1, batch: 3, height: 23, width: 27, window: .square(3, stride: 1, pad: 1)),
        Case(cin: 32, cout: 40, groups: 1, batch: 4, height: 26, width: 25, window: .square(3, stride: 1, pad: 0), activation: .relu, residual: true),
        Case(cin: 32, cout: 32, groups: 1, batch: 5, height: 21, width: 22,
             window: Window(kernelHeight: 3, kernelWidth: 3, padTop: 1, padLeft: 0, padBottom: 2, padRight: 1)),
        Case(cin: 64, cout: 96, groups: 1, batch: 2, height: 60, width: 44, window: .square(3, stride: 1, pad: 1), activation: .relu, residual: true),
        // 32 to 63 tiles on two workers: the 36 products, not the tiles, are split.
        Case(cin: 32, cout: 48, groups: 1, batch: 1, height: 24, width: 22, window: .square(3, stride: 1, pad: 1), activation: .relu, residual: true),
        Case(cin: 40, cout: 32, groups: 1, batch: 1, height: 28, width: 28, window: .square(3, stride: 1, pad: 1)),
    ]

    @Test(arguments: winogradCases)
    func winogradMatchesNaiveTwin(_ c: Case) throws {
        let conv = try Convolution2D(inputChannels: c.cin, outputChannels: c.cout, groups: c.groups, window: c.window,
                                     weights: [Float](repeating: 0, count: c.cout * c.cin * 9), bias: nil)
        let outShape = try conv.outputShape(for: .init(channels: c.cin, batch: c.batch, height: c.height, width: c.width))
        try #require(conv.winograd?.pays(for: outShape) == true, "\(c) would not run by Winograd")
        try matchesNaiveTwin(c)
    }

    /// Winograd's output transform takes up to four tiles of a tile row at once, clipped to
    /// the map, or one tile alone at the end of a block; which one depends on where an image
    /// falls in the batch and the block. Maps whose tiles hang over the edge (14×14: all of
    /// them; 28×28: 49 tiles an image, so images start mid-group; 27×25 unevenly padded):
    /// each image of a batch of three, with a shortcut and ReLU, is the same bits as that
    /// image alone, on one thread and on two.
    @Test(arguments: [(14, 14, 1), (28, 28, 1), (27, 25, 0)])
    func winogradImageIsTheSameBitsInABatch(height: Int, width: Int, pad: Int) throws {
        var rng = TestRandom(seed: UInt64(height * 100 + width))
        let (cin, cout, batch) = (32, 40, 3)
        let conv = try Convolution2D(inputChannels: cin, outputChannels: cout, window: .square(3, stride: 1, pad: pad),
                                     weights: (0..<(cout * cin * 9)).map { _ in rng.uniform() },
                                     bias: (0..<cout).map { _ in rng.uniform() }, activation: .relu)
        let shape = Tensor.Shape(channels: cin, batch: batch, height: height, width: width)
        let input = Tensor(shape: shape, storage: (0..<shape.count).map { _ in rng.uniform() })
        let outShape = try conv.outputShape(for: shape)
        try #require(conv.winograd?.pays(for: outShape) == true, "\(height)x\(width) would not run by F(4x4)")
        let residual = Tensor(shape: outShape, storage: (0..<outShape.count).map { _ in rng.uniform() })
        let together = Runtime(threads: 2).enter { conv.forward(input, residual: residual) }
        for image in 0..<batch {
            for threads in [1, 2] {
                let alone = Runtime(threads: threads).enter {
                    conv.forward(input.images(image..<(image + 1)), residual: residual.images(image..<(image + 1)))
                }
                let same = alone.storage == together.images(image..<(image + 1)).storage  // not the arrays, on failure
                #expect(same, "\(height)x\(width): image \(image) alone on \(threads) threads differs from it in the batch")
            }
        }
    }

    /// 3×3 stride-1 layers on maps too small for F(4×4, 3×3), which take F(2×2, 3×3): 7×7
    /// (ResNet's last stage at 224 pixels), 8×7, an unpadded 7×8, a shortcut, one image and
    /// several.
    static let smallWinogradCases: [Case] = [
        Case(cin: 32, cout: 32, groups: 1, batch: 1, height: 7, width: 7, window: .square(3, stride: 1, pad: 1), activation: .relu),
        Case(cin: 48, cout: 40, groups: 1, batch: 3, height: 8, width: 7, window: .square(3, stride: 1, pad: 1),
             activation: .relu, residual: true),
        Case(cin: 32, cout: 64, groups: 1, batch: 2, height: 9, width: 10, window: .square(3, stride: 1, pad: 0)),
        // Tile rows that are not four tiles wide, so that the transforms' groups of four
        // tiles end short of a row: three tiles (5 wide), six (11 wide, the second group
        // half full), each image starting mid-group, with a shortcut.
        Case(cin: 32, cout: 40, groups: 1, batch: 3, height: 13, width: 5, window: .square(3, stride: 1, pad: 1),
             activation: .relu, residual: true),
        Case(cin: 40, cout: 32, groups: 1, batch: 2, height: 6, width: 11, window: .square(3, stride: 1, pad: 1),
             activation: .relu, residual: true),
    ]

    @Test(arguments: smallWinogradCases)
    func smallWinogradMatchesNaiveTwin(_ c: Case) throws {
        let conv = try Convolution2D(inputChannels: c.cin, outputChannels: c.cout, groups: c.groups, window: c.window,
                                     weights: [Float](repeating: 0, count: c.cout * c.cin * 9), bias: nil)
        let outShape = try conv.outputShape(for: .init(channels: c.cin, batch: c.batch, height: c.height, width: c.width))
        try #require(conv.winograd?.pays(for: outShape) != true && conv.smallWinograd?.pays(for: outShape) == true,
                     "\(c) would not run by F(2×2, 3×3)")
        try matchesNaiveTwin(c)
    }

    @Test(arguments: cases)
    func matchesNaiveTwin(_ c: Case) throws {
        var rng = TestRandom(seed: UInt64(c.cin * 1000 + c.cout * 10 + c.batch))
        let k = (c.cin / c.groups) * c.window.kernelHeight * c.window.kernelWidth
        let weights = (0..<(c.cout * k)).map { _ in rng.uniform() }
        let bias = (0..<c.cout).map { _ in rng.uniform() }
        let conv = try Convolution2D(inputChannels: c.cin, outputChannels: c.cout, groups: c.groups,
                                     window: c.window, weights: weights, bias: bias, activation: c.activation)
        let shape = Tensor.Shape(channels: c.cin, batch: c.batch, height: c.height, width: c.width)
        let input = Tensor(shape: shape, storage: (0..<shape.count).map { _ in rng.uniform() })
        let outShape = try conv.outputShape(for: shape)
        let residual = c.residual ? Tensor(shape: outShape, storage: (0..<outShape.count).map { _ in rng.uniform() }) : nil
        // Output storage from a pool that holds a NaN-filled array of the right size: the
        // kernel must overwrite every element, or NaNs show up below.
        var pool = TensorPool()
        pool.recycle(Tensor(shape: outShape, storage: [Float](repeating: .nan, count: outShape.count)))
        // Two workers, as on the 2-core machines Veil is tested on: the split paths run.
        let fast = Runtime(threads: 2).enter { conv.forward(input, residual: residual, pool: &pool) }
        // However the two workers split the layer, each element is summed as one worker sums it.
        let single = Runtime(threads: 1).enter { conv.forward(input, residual: residual) }
        #expect(single.storage.map(\.bitPattern) == fast.storage.map(\.bitPattern), "\(c): one thread and two differ")
        // Three, where a map of two L2-sized blocks is shared by rows.
        let three = Runtime(threads: 3).enter { conv.forward(input, residual: residual) }
        #expect(single.storage.map(\.bitPattern) == three.storage.map(\.bitPattern), "\(c): one thread and three differ")
        var slow: Tensor
        if let residual {
            // The twin without activation, then the shortcut, then the activation.
            let linear = try Convolution2D(inputChannels: c.cin, outputChannels: c.cout, groups: c.groups,
                                           window: c.window, weights: weights, bias: bias, activation: .none)
            slow = ReferenceKernels.convolution(linear, input)
            for i in slow.storage.indices {
                let sum = slow.storage[i] + residual.storage[i]
                slow.storage[i] = c.activation == .relu ? max(0, sum) : sum
            }
        } else {
            slow = ReferenceKernels.convolution(conv, input)
        }
        #expect(fast.shape == slow.shape, "\(c)")
        // Each output is a sum of k products and a bias, all in [-1, 1] (TestRandom.uniform),
        // so any summation order is within (k + 1)·u·(k + 1) of the exact value (Higham's
        // bound, u = ε/2); measured differences are far below that, so the bound is taken per
        // term rather than squared: 4·(k + 1)·ε, doubled for the residual add and activation.
        let tolerance = 4 * Float(k + 1) * Float.ulpOfOne * 2
        let worst = zip(fast.storage, slow.storage).map { abs($0 - $1) }.max() ?? 0
        #expect(!fast.storage.contains { $0.isNaN }, "\(c): an output element was never written")
        #expect(worst <= tolerance, "\(c): max difference \(worst), tolerance \(tolerance)")
        if let residual {
            // The shortcut's storage becomes the output (as in a graph, where the convolution
            // is the shortcut's last reader): each element is read before it is overwritten,
            // so the result is the same, bit for bit. The caller's copy is left alone.
            var spare = TensorPool()
            let inPlace = conv.forward(input, addingInto: Tensor(shape: outShape, storage: residual.storage.map { $0 }), pool: &spare)
            #expect(inPlace.storage == fast.storage, "\(c): in place differs from a separate shortcut")
            let kept = residual.storage
            _ = conv.forward(input, addingInto: residual, pool: &spare)
            #expect(residual.storage == kept, "\(c): a shortcut the caller still holds was written")
        }
    }

    /// The cases above reach each way of sharing a product: the two-block ones by rows on
    /// three workers and by columns on two (a block for each), the small maps by rows on two,
    /// a 28×28 map of one block by columns.
    @Test func theCasesReachEveryWayOfSharingAProduct() {
        func byRows(_ k: Int, _ m: Int, _ total: Int, workers: Int) -> Bool {
            Convolution2D.sharesByRows(blocks: Convolution2D.cachedBlocks(k: k, m: m, total: total), workers: workers,
                                       groups: 1, rows: m, columns: total)
        }
        for (k, total) in [(0, 20 * 20), (20, 20 * 20)] {
            #expect(Convolution2D.cachedBlocks(k: k, m: 700, total: total) == 2)
            #expect(byRows(k, 700, total, workers: 3) && !byRows(k, 700, total, workers: 2))
        }
        #expect(byRows(0, 100, 9 * 11, workers: 2) && byRows(20, 100, 7 * 7, workers: 2))
        #expect(Convolution2D.cachedBlocks(k: 0, m: 150, total: 28 * 28) == 1 && !byRows(0, 150, 28 * 28, workers: 2))
    }

    @Test func inconsistentWeightsAreRejected() {
        #expect(throws: TensorShapeError.self) {
            try Convolution2D(inputChannels: 3, outputChannels: 4, window: .square(3), weights: [Float](repeating: 0, count: 10), bias: nil)
        }
        #expect(throws: TensorShapeError.self) {
            try Convolution2D(inputChannels: 3, outputChannels: 4, groups: 2, window: .square(1), weights: [], bias: nil)
        }
        #expect(throws: TensorShapeError.self) {
            try Convolution2D(inputChannels: 2, outputChannels: 2, window: .square(1), weights: [1, 0, 0, 1], bias: [1])
        }
    }

    @Test func layoutRoundTripsPerImageArrays() {
        let images: [[Float]] = [(0..<12).map(Float.init), (100..<112).map(Float.init)]
        let t = Tensor(batchNCHW: images, channels: 3, height: 2, width: 2)
        // Channel-major: channel 0 of image 0, channel 0 of image 1, channel 1 of image 0, ...
        #expect(Array(t.storage[0..<8]) == [0, 1, 2, 3, 100, 101, 102, 103])
        #expect(t.image(0) == images[0])
        #expect(t.image(1) == images[1])
    }
}
