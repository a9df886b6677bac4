import Testing
import VeilTestSupport
@testable import VeilTensor

/// Two 1×1 convolutions of one input run as one product (``SiblingConvolutions``): each
/// output is the same bits as its convolution run alone, which ``ConvolutionTests`` checks
/// against the naive twin, and within rounding of the naive twin too. Across strides, each
/// ReLU on or off, one to three workers, and every way of sharing the product.
struct SiblingConvolutionsTests {
    struct Case: CustomStringConvertible, Sendable {
        var cin: Int, first: Int, second: Int
        var batch: Int, height: Int, width: Int
        var stride: Int
        var activations: (Activation, Activation)
        var description: String {
            "\(cin)→\(first)+\(second) batch \(batch) input \(height)x\(width) stride \(stride) \(activations)"
        }
    }

    static let cases: [Case] = [
        // Small maps with many output channels, shared by rows on two workers: pointwise,
        // strided through im2col (a 7×7 output, as in a ResNet's last stage), and deeper than
        // one chunk of the products' depth (256).
        Case(cin: 24, first: 100, second: 25, batch: 1, height: 9, width: 11, stride: 1, activations: (.none, .relu)),
        Case(cin: 20, first: 103, second: 26, batch: 1, height: 14, width: 14, stride: 2, activations: (.relu, .relu)),
        Case(cin: 300, first: 40, second: 57, batch: 1, height: 5, width: 6, stride: 1, activations: (.relu, .none)),
        // Larger maps shared by columns, over several blocks, several images.
        Case(cin: 16, first: 48, second: 12, batch: 2, height: 30, width: 29, stride: 1, activations: (.none, .relu)),
        Case(cin: 20, first: 64, second: 16, batch: 1, height: 100, width: 100, stride: 2, activations: (.none, .none)),
        Case(cin: 8, first: 6, second: 3, batch: 3, height: 7, width: 7, stride: 2, activations: (.relu, .none)),
    ]

    @Test(arguments: cases)
    func eachOutputIsItsConvolutionAlone(_ c: Case) throws {
        var rng = TestRandom(seed: UInt64(c.cin * 1000 + c.first * 10 + c.second))
        let window = Window.square(1, stride: c.stride)
        func part(_ outputs: Int) -> (weights: [Float], bias: [Float]) {
            ((0..<(outputs * c.cin)).map { _ in rng.uniform() }, (0..<outputs).map { _ in rng.uniform() })
        }
        let (a, b) = (part(c.first), part(c.second))
        let pair = try SiblingConvolutions(inputChannels: c.cin, window: window,
                                           first: (c.first, a.weights, a.bias, c.activations.0),
                                           second: (c.second, b.weights, b.bias, c.activations.1))
        let alone = try [(c.first, a, c.activations.0), (c.second, b, c.activations.1)].map { outputs, p, activation in
            try Convolution2D(inputChannels: c.cin, outputChannels: outputs, window: window, weights: p.weights,
                              bias: p.bias, activation: activation)
        }
        let shape = Tensor.Shape(channels: c.cin, batch: c.batch, height: c.height, width: c.width)
        let input = Tensor(shape: shape, storage: (0..<shape.count).map { _ in rng.uniform() })
        let shapes = try pair.outputShapes(for: shape)
        let shapesAlone = try alone.map { try $0.outputShape(for: shape) }
        #expect(shapes.first == shapesAlone[0] && shapes.second == shapesAlone[1])
        let expected = alone.map { conv in Runtime(threads: 1).enter { conv.forward(input) } }
        for threads in 1...3 {
            // Outputs from a pool of NaN-filled arrays of the right sizes: an element the
            // product never wrote shows up as a NaN.
            var pool = TensorPool()
            for s in [shapes.first, shapes.second] {
                pool.recycle(Tensor(shape: s, storage: [Float](repeating: .nan, count: s.count)))
            }
            let (first, second) = Runtime(threads: threads).enter { pair.forward(input, pool: &pool) }
            for (name, got, want) in [("first", first, expected[0]), ("second", second, expected[1])] {
                #expect(got.shape == want.shape, "\(c) on \(threads): \(name) shape")
                let same = got.storage.map(\.bitPattern) == want.storage.map(\.bitPattern)
                #expect(same, "\(c) on \(threads) threads: the \(name) output differs from its convolution alone")
            }
        }
        // And within rounding of the naive twins (the bound of ConvolutionTests).
        let tolerance = 4 * Float(c.cin + 1) * Float.ulpOfOne * 2
        let (first, second) = Runtime(threads: 2).enter { var pool = TensorPool(); return pair.forward(input, pool: &pool) }
        for (got, conv) in [(first, alone[0]), (second, alone[1])] {
            let slow = ReferenceKernels.convolution(conv, input)
            let worst = zip(got.storage, slow.storage).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= tolerance, "\(c): max difference \(worst) from the naive twin, tolerance \(tolerance)")
        }
    }

    /// The cases reach both ways of sharing the merged product on two workers.
    @Test func theCasesShareByRowsAndByColumns() {
        let byRows = Self.cases.map { c in
            let outH = (c.height - 1) / c.stride + 1, outW = (c.width - 1) / c.stride + 1
            let k = c.stride == 1 ? 0 : c.cin, m = c.first + c.second, total = c.batch * outH * outW
            return Convolution2D.sharesByRows(blocks: Convolution2D.cachedBlocks(k: k, m: m, total: total), workers: 2,
                                              groups: 1, rows: m, columns: total)
        }
        #expect(byRows.filter { $0 }.count == 3 && byRows.filter { !$0 }.count == 3, "\(byRows)")
    }

    @Test func onlyOneByOneConvolutionsWithConsistentWeightsJoin() {
        let one = (outputChannels: 2, weights: [Float](repeating: 1, count: 6), bias: [Float]?.none, activation: Activation.none)
        #expect(throws: TensorShapeError.self) {
            try SiblingConvolutions(inputChannels: 3, window: .square(3, stride: 1, pad: 1),
                                    first: (2, [Float](repeating: 1, count: 54), nil, .none),
                                    second: (2, [Float](repeating: 1, count: 54), nil, .none))
        }
        #expect(throws: TensorShapeError.self) {
            try SiblingConvolutions(inputChannels: 3, window: .square(1), first: one, second: (2, [1, 2, 3], nil, .none))
        }
        #expect(throws: TensorShapeError.self) {
            try SiblingConvolutions(inputChannels: 3, window: .square(1), first: (2, one.weights, [1], .relu), second: one)
        }
    }
}
