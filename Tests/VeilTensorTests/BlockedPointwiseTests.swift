import Foundation
import Testing
import VeilTestSupport
@testable import VeilTensor
import VeilKernels

/// The 1×1 convolution over blocked channels, on each kernel set this CPU can run, against
/// the same layer as the engine computes it over planes of channels: the packed product,
/// then bias, shortcut and activation element by element. The two must agree bit for bit,
/// so that moving a layer to blocked channels cannot change a score; and the product they
/// share is itself checked against double precision (`PackedGemmTests`, and below).
struct BlockedPointwiseTests {
    struct Case: CustomStringConvertible, Sendable {
        var inputs, outputs, positions: Int
        /// What to compute; nil for every position, or every block.
        var only: Range<Int>? = nil, blocks: Range<Int>? = nil
        var residual = false, relu = true, inPlace = false
        var description: String {
            "\(inputs)→\(outputs) at \(positions) positions \(only.map { "\($0)" } ?? "all") blocks \(blocks.map { "\($0)" } ?? "all")"
                + (residual ? (inPlace ? " shortcut in place" : " shortcut") : "") + (relu ? " relu" : "")
        }
    }

    /// Whole and partial tiles of six positions; channel counts below, at and past one block
    /// and not multiples of sixteen; an odd number of output blocks (a lone block on sixteen
    /// lanes); depths of one, two and three chunks of 256 input channels, the last chunk a
    /// part of a block; strided ranges of positions and blocks.
    static let cases: [Case] = [
        Case(inputs: 16, outputs: 16, positions: 6),
        Case(inputs: 3, outputs: 5, positions: 1, relu: false),
        Case(inputs: 32, outputs: 48, positions: 7, residual: true),
        Case(inputs: 300, outputs: 40, positions: 13, residual: true, inPlace: true),
        Case(inputs: 513, outputs: 64, positions: 49),
        Case(inputs: 64, outputs: 96, positions: 100, only: 5..<77, blocks: 1..<5, residual: true),
        Case(inputs: 128, outputs: 32, positions: 56, only: 50..<56, relu: false),
    ]

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var rng = TestRandom(seed: seed)
        return (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    /// Float offset of channel `c` at position `p` in a blocked tensor with `stride` floats per block.
    static func at(_ c: Int, _ p: Int, stride: Int) -> Int {
        (c / BlockedChannels.width) * stride + p * BlockedChannels.width + c % BlockedChannels.width
    }

    @Test(arguments: cases)
    func matchesTheProductThenTheElementwisePass(_ t: Case) throws {
        let width = BlockedChannels.width
        let weights = Self.random(t.outputs * t.inputs, seed: UInt64(t.outputs * 31 + t.inputs))
        let bias = Self.random(t.outputs, seed: UInt64(t.outputs))
        let planes = Self.random(t.inputs * t.positions, seed: UInt64(t.inputs * 7 + t.positions))
        let shortcut = Self.random(t.outputs * t.positions, seed: UInt64(t.positions * 3 + 1))
        // Strides past the positions' floats, so that a block's stride is not taken for its size.
        let inStride = t.positions * width + 32, outStride = t.positions * width + 48
        let outBlocks = BlockedChannels.blocks(t.outputs)
        var blocked = [Float](repeating: .nan, count: BlockedChannels.blocks(t.inputs) * inStride)
        for c in 0..<t.inputs { for p in 0..<t.positions { blocked[Self.at(c, p, stride: inStride)] = planes[c * t.positions + p] } }
        var residual = [Float](repeating: .nan, count: outBlocks * outStride)
        for c in 0..<outBlocks * width {
            for p in 0..<t.positions { residual[Self.at(c, p, stride: outStride)] = c < t.outputs ? shortcut[c * t.positions + p] : 0 }
        }
        let layer = BlockedPointwise(weights: weights, bias: bias, outputs: t.outputs, inputs: t.inputs)
        let positions = t.only ?? 0..<t.positions, blocks = t.blocks ?? 0..<outBlocks
        try #require(!ComputeKernels.supported.isEmpty)
        for kernels in ComputeKernels.supported {
            let product = PackedGemmTests.product(.init(m: t.outputs, n: t.positions, k: t.inputs), a: weights, b: planes,
                                                  kernels: kernels)
            var output = t.inPlace ? residual : [Float](repeating: .nan, count: outBlocks * outStride)
            blocked.withUnsafeBufferPointer { input in
                residual.withUnsafeBufferPointer { shortcut in
                    output.withUnsafeMutableBufferPointer { output in
                        let r: UnsafePointer<Float>? = t.residual ? (t.inPlace ? UnsafePointer(output.baseAddress!) : shortcut.baseAddress!) : nil
                        layer.run(input: input.baseAddress!, inputStride: inStride, relu: t.relu, residual: r,
                                  output: output.baseAddress!, outputStride: outStride, positions: positions, blocks: blocks,
                                  kernels: kernels)
                    }
                }
            }
            var mismatches = 0, written = 0
            for c in 0..<outBlocks * width {
                for p in 0..<t.positions {
                    let got = output[Self.at(c, p, stride: outStride)]
                    guard blocks.contains(c / width) && positions.contains(p) else {
                        // Outside the ranges nothing is written (in place: the shortcut stays).
                        let before = t.inPlace ? residual[Self.at(c, p, stride: outStride)] : Float.nan
                        if got.bitPattern != before.bitPattern { mismatches += 1 }
                        continue
                    }
                    written += 1
                    // Padding channels: no weights, no bias, the shortcut's zero.
                    let sum = c < t.outputs ? product[c * t.positions + p] : 0
                    var expected = sum + (c < t.outputs ? bias[c] : 0)
                    if t.residual { expected = expected + residual[Self.at(c, p, stride: outStride)] }
                    if t.relu { expected = expected > 0 ? expected : 0 }
                    if got.bitPattern != expected.bitPattern { mismatches += 1 }
                }
            }
            #expect(written == positions.count * blocks.count * width)
            #expect(mismatches == 0, "\(kernels): \(mismatches) outputs differ from the product and pass")
        }
    }

    /// The outputs against sums in double precision, independently of the packed product.
    @Test func closeToDoublePrecision() throws {
        let (inputs, outputs, positions, width) = (300, 24, 11, BlockedChannels.width)
        let weights = Self.random(outputs * inputs, seed: 5), bias = Self.random(outputs, seed: 6)
        let planes = Self.random(inputs * positions, seed: 7)
        let stride = positions * width
        var blocked = [Float](repeating: 0, count: BlockedChannels.blocks(inputs) * stride)
        for c in 0..<inputs { for p in 0..<positions { blocked[Self.at(c, p, stride: stride)] = planes[c * positions + p] } }
        let layer = BlockedPointwise(weights: weights, bias: bias, outputs: outputs, inputs: inputs)
        for kernels in ComputeKernels.supported {
            var output = [Float](repeating: .nan, count: layer.blocks * stride)
            blocked.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { output in
                    layer.run(input: input.baseAddress!, inputStride: stride, relu: false, residual: nil,
                              output: output.baseAddress!, outputStride: stride, positions: 0..<positions,
                              blocks: 0..<layer.blocks, kernels: kernels)
                }
            }
            var worst = 0.0
            for o in 0..<outputs {
                for p in 0..<positions {
                    var exact = Double(bias[o]), magnitude = abs(Double(bias[o]))
                    for i in 0..<inputs {
                        let term = Double(weights[o * inputs + i]) * Double(planes[i * positions + p])
                        exact += term
                        magnitude += abs(term)
                    }
                    let bound = 2 * Double(inputs + 1) * Double(Float.ulpOfOne) * magnitude
                    worst = max(worst, abs(Double(output[Self.at(o, p, stride: stride)]) - exact) / bound)
                }
            }
            #expect(worst <= 1, "\(kernels): error \(worst) of the bound")
        }
    }
}
