import Foundation
import Testing
import VeilTestSupport
@testable import VeilTensor

struct PoolingTests {
    @Test(arguments: [
        (Pooling.Kind.max, Window.square(3, stride: 2), true, 112, 112),   // open_nsfw pool1
        (.max, .square(3, stride: 2), true, 9, 10),
        (.max, .square(3, stride: 2, pad: 1), true, 8, 8),
        (.max, .square(2, stride: 2), false, 7, 9),
        (.max, Window(kernelHeight: 3, kernelWidth: 5, strideY: 1, strideX: 2, padTop: 1, padLeft: 2, padBottom: 1, padRight: 2), false, 6, 11),
        (.average, .square(7, stride: 1), true, 7, 7),                     // open_nsfw final pool
        (.average, .square(3, stride: 2, pad: 1), true, 7, 6),
        (.average, .square(3, stride: 1, pad: 1), false, 5, 5),
    ])
    func matchesNaiveTwin(kind: Pooling.Kind, window: Window, ceil: Bool, height: Int, width: Int) throws {
        let pool = try Pooling(kind: kind, window: window, ceilMode: ceil)
        let shape = Tensor.Shape(channels: 3, batch: 2, height: height, width: width)
        var rng = TestRandom(seed: UInt64(height * width))
        let input = Tensor(shape: shape, storage: (0..<shape.count).map { _ in rng.uniform() })
        let fast = Runtime(threads: 2).enter { pool.forward(input) }, slow = ReferenceKernels.pooling(pool, input)
        #expect(fast.shape == slow.shape)
        let worst = zip(fast.storage, slow.storage).map { abs($0 - $1) }.max() ?? 0
        // Max pooling selects exactly; average pooling sums at most 9 values in [-1, 1] and
        // divides, so the two orders differ by a few ulps of 1: 1e-6 is about 8ε.
        #expect(worst <= 1e-6, "\(kind) \(window) ceil \(ceil) \(height)x\(width): \(worst)")
    }

    /// Output sizes computed by hand from Caffe's pooling_layer.cpp rule.
    @Test func caffeCeilRounding() throws {
        let pool = try Pooling(kind: .max, window: .square(3, stride: 2), ceilMode: true)
        #expect(try pool.outputShape(for: .init(channels: 1, batch: 1, height: 112, width: 112)).height == 56)
        #expect(try pool.outputShape(for: .init(channels: 1, batch: 1, height: 10, width: 10)).height == 5)
        let floor = try Pooling(kind: .max, window: .square(3, stride: 2), ceilMode: false)
        #expect(try floor.outputShape(for: .init(channels: 1, batch: 1, height: 112, width: 112)).height == 55)
        // ceil((8 + 2 - 3) / 2) + 1 = 5; the last window starts at 8 - 1 = 7, inside the image.
        let padded = try Pooling(kind: .max, window: .square(3, stride: 2, pad: 1), ceilMode: true)
        #expect(try padded.outputShape(for: .init(channels: 1, batch: 1, height: 8, width: 8)).height == 5)
        // ceil((7 + 2 - 2) / 2) + 1 = 5, but that window would start at (5 - 1)·2 = 8 ≥ 7 + 1,
        // wholly in the padding, so Caffe drops it.
        let dropped = try Pooling(kind: .max, window: .square(2, stride: 2, pad: 1), ceilMode: true)
        #expect(try dropped.outputShape(for: .init(channels: 1, batch: 1, height: 7, width: 7)).height == 4)
    }

    @Test func elementwiseHelpers() throws {
        let shape = Tensor.Shape(channels: 2, batch: 1, height: 1, width: 2)
        let a = Tensor(shape: shape, storage: [1, -2, 3, -4])
        let b = Tensor(shape: shape, storage: [0.5, 1, -5, 1])
        #expect(try Elementwise.add(a, b, activation: .relu).storage == [1.5, 0, 0, 0])
        #expect(try Elementwise.add(a, b, activation: .none).storage == [1.5, -1, -2, -3])
        let soft = Elementwise.softmaxChannels(Tensor(shape: .init(channels: 2, batch: 1, height: 1, width: 1), storage: [0, Float(log(3.0))]))
        #expect(abs(soft.storage[1] - 0.75) < 1e-6)
        #expect(Elementwise.padChannels(a, extra: 1).shape.channels == 3)
        #expect(try Elementwise.concatChannels([a, b]).storage == a.storage + b.storage)
        // Per-image reshape: image 1's (2, 1, 2) values 10..13 become (4, 1, 1).
        let two = Tensor(batchNCHW: [[0, 1, 2, 3], [10, 11, 12, 13]], channels: 2, height: 1, width: 2)
        let flat = try Elementwise.reshapePerImage(two, to: (4, 1, 1))
        #expect(flat.image(1) == [10, 11, 12, 13] && flat.shape.channels == 4)
        #expect(throws: TensorShapeError.self) { try Elementwise.reshapePerImage(two, to: (3, 1, 1)) }
        #expect(throws: TensorShapeError.self) { try Elementwise.add(a, Tensor(zeros: .init(channels: 1, batch: 1, height: 1, width: 1)), activation: .none) }
    }
}
