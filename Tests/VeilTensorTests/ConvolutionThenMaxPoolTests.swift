import Testing
import VeilTestSupport
@testable import VeilTensor

/// The fused convolution + max pooling against the naive twins of both layers, one after the
/// other: sizes whose rows split among the workers within an image and across images,
/// overlapping windows (stride below kernel), padded and ceil-mode pooling,
/// strides across other than two, and convolutions that fall back to running unfused.
struct ConvolutionThenMaxPoolTests {
    struct Case: CustomStringConvertible, Sendable {
        var cin: Int, cout: Int, groups = 1, batch: Int, height: Int, width: Int
        var convolution: Window
        var pooling: Window
        var ceil = true
        var threads = 2
        var description: String {
            "cin \(cin) cout \(cout) groups \(groups) batch \(batch) input \(height)x\(width) \(convolution) then \(pooling), \(threads) threads"
        }
    }

    static let cases: [Case] = [
        // The stem's shape, smaller: 7×7 stride 2, then 3×3 stride 2 with Caffe's ceil rounding;
        // 3 bands per image, 9 bands over 2 workers.
        Case(cin: 3, cout: 16, batch: 3, height: 128, width: 128, convolution: .square(7, stride: 2, pad: 3), pooling: .square(3, stride: 2)),
        Case(cin: 3, cout: 16, batch: 3, height: 128, width: 128, convolution: .square(7, stride: 2, pad: 3), pooling: .square(3, stride: 2), threads: 1),
        // One image on three workers: its padded input's three planes are laid out by rows,
        // the workers' shares ending mid-plane; an odd width leaves a few columns of each
        // phase to the scalar loop.
        Case(cin: 3, cout: 16, batch: 1, height: 67, width: 59, convolution: .square(7, stride: 2, pad: 3), pooling: .square(3, stride: 2),
             threads: 3),
        // Windows overlapping by two rows, padded pooling, an odd width.
        Case(cin: 4, cout: 8, batch: 2, height: 90, width: 77, convolution: .square(3, stride: 1, pad: 1), pooling: .square(3, stride: 1, pad: 1), ceil: false),
        // No overlap; ceil rounding leaves a last window that hangs over the edge.
        Case(cin: 5, cout: 6, batch: 2, height: 61, width: 45, convolution: .square(5, stride: 2, pad: 2), pooling: .square(2, stride: 2)),
        // Pointwise, the convolution multiplying its input directly.
        Case(cin: 8, cout: 24, batch: 2, height: 40, width: 38, convolution: .square(1), pooling: .square(3, stride: 2, pad: 1)),
        // A stride of three across and two down, uneven padding, and 40 channels: two
        // micro-tiles of channels, the second mostly padding.
        Case(cin: 2, cout: 40, batch: 1, height: 31, width: 29,
             convolution: Window(kernelHeight: 3, kernelWidth: 5, strideY: 2, strideX: 3, padTop: 1, padLeft: 2, padBottom: 0, padRight: 1),
             pooling: .square(2, stride: 2)),
        // A window of four rows and columns: the pooling's general loops, past the three
        // rows and columns it takes in one pass.
        Case(cin: 3, cout: 16, batch: 2, height: 45, width: 43, convolution: .square(7, stride: 2, pad: 3), pooling: .square(4, stride: 3, pad: 1)),
        // Fall back: grouped, and a 3×3 convolution that Winograd runs.
        Case(cin: 8, cout: 8, groups: 2, batch: 2, height: 20, width: 21, convolution: .square(3, stride: 1, pad: 1), pooling: .square(3, stride: 2)),
        Case(cin: 32, cout: 32, batch: 2, height: 24, width: 24, convolution: .square(3, stride: 1, pad: 1), pooling: .square(2, stride: 2)),
    ]

    @Test(arguments: cases)
    func matchesTheNaiveLayersInTurn(_ c: Case) throws {
        var rng = TestRandom(seed: UInt64(c.cin * 100 + c.cout + c.height))
        let k = (c.cin / c.groups) * c.convolution.kernelHeight * c.convolution.kernelWidth
        let conv = try Convolution2D(inputChannels: c.cin, outputChannels: c.cout, groups: c.groups, window: c.convolution,
                                     weights: (0..<(c.cout * k)).map { _ in rng.uniform() },
                                     bias: (0..<c.cout).map { _ in rng.uniform() }, activation: .relu)
        let pooling = try Pooling(kind: .max, window: c.pooling, ceilMode: c.ceil)
        let fused = try ConvolutionThenMaxPool(conv, pooling)
        let shape = Tensor.Shape(channels: c.cin, batch: c.batch, height: c.height, width: c.width)
        let input = Tensor(shape: shape, storage: (0..<shape.count).map { _ in rng.uniform() })
        let outShape = try fused.outputShape(for: shape)
        // Storage from a NaN-filled pool: every pooled element must be written.
        var pool = TensorPool()
        pool.recycle(Tensor(shape: outShape, storage: [Float](repeating: .nan, count: outShape.count)))
        let fast = Runtime(threads: c.threads).enter { fused.forward(input, pool: &pool) }
        let slow = ReferenceKernels.pooling(pooling, ReferenceKernels.convolution(conv, input))
        #expect(fast.shape == slow.shape, "\(c)")
        #expect(!fast.storage.contains { $0.isNaN }, "\(c): a pooled element was never written")
        // As in ConvolutionTests: k + 1 terms in [-1, 1] summed in another order; max pooling
        // only selects, so it adds no error of its own.
        let tolerance = 8 * Float(k + 1) * Float.ulpOfOne
        let worst = zip(fast.storage, slow.storage).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= tolerance, "\(c): max difference \(worst), tolerance \(tolerance)")
        // And the same bits as the engine's own convolution then pooling: the direct kernel
        // sums what the products sum, in their order, and pooling before the bias changes
        // nothing. (Winograd's sums differ, but a layer Winograd runs is never fused.)
        let unfused = Runtime(threads: c.threads).enter { pooling.forward(conv.forward(input)) }
        #expect(fast.storage == unfused.storage, "\(c): fused and unfused differ")
    }

    @Test func onlyMaxPoolingFuses() throws {
        let conv = try Convolution2D(inputChannels: 1, outputChannels: 1, window: .square(1), weights: [1], bias: nil)
        let average = try Pooling(kind: .average, window: .square(2, stride: 2), ceilMode: false)
        #expect(throws: TensorShapeError.self) { try ConvolutionThenMaxPool(conv, average) }
    }
}
