import Foundation
import Testing
import VeilKernels
import VeilTestSupport
@testable import VeilTensor

/// Each layer that runs over blocked channels against the same layer over planes, on the
/// same input: converted back to planes, the outputs must be the same bits, so that moving
/// a graph to blocked channels changes no score. The planes kernels are themselves checked
/// against naive twins (`ConvolutionTests`, `ConvolutionThenMaxPoolTests`, `PoolingTests`).
struct BlockedLayoutTests {
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var rng = TestRandom(seed: seed)
        return (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    static func tensor(_ shape: Tensor.Shape, seed: UInt64) -> Tensor { Tensor(shape: shape, storage: random(shape.count, seed: seed)) }

    static func blocked(_ x: Tensor) -> Tensor {
        var pool = TensorPool()
        return ChannelBlocks.blocked(x, pool: &pool)
    }

    static func planes(_ x: Tensor) -> Tensor {
        var pool = TensorPool()
        return ChannelBlocks.planes(x, pool: &pool)
    }

    /// How many elements differ in their bits.
    static func differences(_ a: Tensor, _ b: Tensor) -> Int {
        precondition(a.shape == b.shape, "\(a.shape) against \(b.shape)")
        return zip(a.storage, b.storage).filter { $0.bitPattern != $1.bitPattern }.count
    }

    @Test func layoutsRoundTrip() {
        let x = Self.tensor(.init(channels: 21, batch: 2, height: 3, width: 5), seed: 1)
        let b = Self.blocked(x)
        #expect(b.shape.blocked && b.storage.count == 2 * 16 * 2 * 15)
        // Channel 17 of image 1 at (2, 4) sits in block 1, position 1·15 + 2·5 + 4, lane 1.
        let lane: Int = (1 * 30 + 15 + 14) * 16 + 1, plane: Int = (17 * 2 + 1) * 15 + 14
        #expect(b.storage[lane] == x.storage[plane])
        #expect(Self.differences(Self.planes(b), x) == 0)
    }

    struct Layer: CustomStringConvertible, Sendable {
        var cin, cout, kernel, stride, size, batch: Int
        var shortcut = false, inPlace = false
        var description: String {
            "\(kernel)x\(kernel) s\(stride) \(cin)→\(cout) at \(size)x\(size), batch \(batch)" + (shortcut ? (inPlace ? " + shortcut in place" : " + shortcut") : "")
        }
    }

    /// 1×1 at strides 1 and 2; 3×3 by F(4×4) shared by blocks of tiles (56×56, several
    /// images) and phase by phase (14×14), and by F(2×2) (7×7); channels not multiples of 16.
    static let layers: [Layer] = [
        Layer(cin: 64, cout: 32, kernel: 1, stride: 1, size: 9, batch: 1),
        Layer(cin: 40, cout: 72, kernel: 1, stride: 1, size: 7, batch: 3, shortcut: true),
        Layer(cin: 48, cout: 96, kernel: 1, stride: 2, size: 14, batch: 2, shortcut: true, inPlace: true),
        Layer(cin: 32, cout: 32, kernel: 3, stride: 1, size: 56, batch: 1, shortcut: true),
        Layer(cin: 32, cout: 48, kernel: 3, stride: 1, size: 30, batch: 2),
        Layer(cin: 64, cout: 64, kernel: 3, stride: 1, size: 14, batch: 1, shortcut: true, inPlace: true),
        Layer(cin: 48, cout: 40, kernel: 3, stride: 1, size: 7, batch: 2, shortcut: true),
    ]

    @Test(arguments: layers, [1, 2, 3])
    func convolutionMatchesPlanes(_ l: Layer, threads: Int) throws {
        let window = Window.square(l.kernel, stride: l.stride, pad: l.kernel / 2)
        let weights = Self.random(l.cout * l.cin * l.kernel * l.kernel, seed: UInt64(l.cin * 100 + l.cout))
        let bias = Self.random(l.cout, seed: 9)
        let planes = try Convolution2D(inputChannels: l.cin, outputChannels: l.cout, window: window, weights: weights,
                                       bias: bias, activation: .relu)
        let blocked = try Convolution2D(inputChannels: l.cin, outputChannels: l.cout, window: window, weights: weights,
                                        bias: bias, activation: .relu, blockedChannels: true)
        let x = Self.tensor(.init(channels: l.cin, batch: l.batch, height: l.size, width: l.size), seed: 3)
        let outShape = try planes.outputShape(for: x.shape)
        #expect(try blocked.outputShape(for: x.shape.laidOut(blocked: true)) == outShape.laidOut(blocked: true))
        let shortcut = l.shortcut ? Self.tensor(outShape, seed: 4) : nil
        let runtime = Runtime(threads: threads)
        var pool = TensorPool()
        let expected = runtime.enter { planes.forward(x, residual: shortcut, pool: &pool) }
        let got: Tensor = runtime.enter {
            let input = Self.blocked(x)
            guard let shortcut else { return blocked.forward(input, pool: &pool) }
            return l.inPlace ? blocked.forward(input, addingInto: Self.blocked(shortcut), pool: &pool)
                : blocked.forward(input, residual: Self.blocked(shortcut), pool: &pool)
        }
        #expect(got.shape == outShape.laidOut(blocked: true))
        #expect(Self.differences(Self.planes(got), expected) == 0)
    }

    @Test(arguments: [1, 2])
    func siblingsMatchPlanes(threads: Int) throws {
        let (cin, a, b) = (48, 32, 24)
        let wa = Self.random(a * cin, seed: 1), wb = Self.random(b * cin, seed: 2)
        let ba = Self.random(a, seed: 3), bb = Self.random(b, seed: 4)
        for stride in [1, 2] {
            let window = Window.square(1, stride: stride, pad: 0)
            let planes = try SiblingConvolutions(inputChannels: cin, window: window, first: (a, wa, ba, .none), second: (b, wb, bb, .relu))
            let blocked = try SiblingConvolutions(inputChannels: cin, window: window, first: (a, wa, ba, .none),
                                                  second: (b, wb, bb, .relu), blockedChannels: true)
            let x = Self.tensor(.init(channels: cin, batch: 2, height: 10, width: 10), seed: 5)
            var pool = TensorPool()
            let runtime = Runtime(threads: threads)
            let expected = runtime.enter { planes.forward(x, pool: &pool) }
            let got = runtime.enter { blocked.forward(Self.blocked(x), pool: &pool) }
            #expect(Self.differences(Self.planes(got.first), expected.first) == 0)
            #expect(Self.differences(Self.planes(got.second), expected.second) == 0)
        }
        // The first part must end on a block boundary.
        #expect(throws: TensorShapeError.self) {
            try SiblingConvolutions(inputChannels: cin, window: .square(1), first: (b, wb, bb, .none), second: (a, wa, ba, .none),
                                    blockedChannels: true)
        }
    }

    @Test(arguments: [1, 2])
    func stemMatchesPlanes(threads: Int) throws {
        let window = Window.square(7, stride: 2, pad: 3)
        let weights = Self.random(64 * 3 * 49, seed: 6), bias = Self.random(64, seed: 7)
        let conv = try Convolution2D(inputChannels: 3, outputChannels: 64, window: window, weights: weights, bias: bias, activation: .relu)
        let pooling = try Pooling(kind: .max, window: .square(3, stride: 2), ceilMode: true)
        let planes = try ConvolutionThenMaxPool(conv, pooling)
        let blocked = try ConvolutionThenMaxPool(conv, pooling, blockedOutput: true)
        let x = Self.tensor(.init(channels: 3, batch: 2, height: 45, width: 38), seed: 8)
        #expect(try blocked.outputShape(for: x.shape) == planes.outputShape(for: x.shape).laidOut(blocked: true))
        var pool = TensorPool()
        let runtime = Runtime(threads: threads)
        let expected = runtime.enter { planes.forward(x, pool: &pool) }
        let got = runtime.enter { blocked.forward(x, pool: &pool) }
        #expect(Self.differences(Self.planes(got), expected) == 0)
    }

    @Test func averagePoolingReadsBlocksWritesPlanes() throws {
        for window in [Window.square(7, stride: 1, pad: 0), Window.square(3, stride: 2, pad: 1)] {
            let pooling = try Pooling(kind: .average, window: window, ceilMode: false)
            let x = Self.tensor(.init(channels: 40, batch: 3, height: 7, width: 7), seed: 10)
            let expected = pooling.forward(x)
            let got = pooling.forward(Self.blocked(x))
            #expect(!got.shape.blocked)
            #expect(Self.differences(got, expected) == 0)
        }
        let max = try Pooling(kind: .max, window: .square(2, stride: 2), ceilMode: false)
        #expect(throws: TensorShapeError.self) { try max.outputShape(for: .init(channels: 16, batch: 1, height: 4, width: 4, blocked: true)) }
    }

    @Test func layoutsAreNotMixed() throws {
        let weights = Self.random(32 * 16, seed: 1)
        let blocked = try Convolution2D(inputChannels: 16, outputChannels: 32, window: .square(1), weights: weights, bias: nil,
                                        blockedChannels: true)
        let planes = try Convolution2D(inputChannels: 16, outputChannels: 32, window: .square(1), weights: weights, bias: nil)
        let shape = Tensor.Shape(channels: 16, batch: 1, height: 4, width: 4)
        #expect(throws: TensorShapeError.self) { try blocked.outputShape(for: shape) }
        #expect(throws: TensorShapeError.self) { try planes.outputShape(for: shape.laidOut(blocked: true)) }
        // A 5×5 convolution has no blocked kernel.
        #expect(throws: TensorShapeError.self) {
            try Convolution2D(inputChannels: 16, outputChannels: 16, window: .square(5, stride: 1, pad: 2),
                              weights: Self.random(16 * 16 * 25, seed: 2), bias: nil, blockedChannels: true)
        }
    }
}
