/// Tensors with their channels in blocks (NCHW16c): for each block of ``width`` channels,
/// every position in turn, each holding its ``width`` channels side by side. A position's
/// channels of one block are then one cache line, which the kernels below read as vectors
/// of output channels or broadcast one by one, with no packing.
public enum BlockedChannels {
    /// Channels per block, the same for every kernel set so that a tensor's layout does not
    /// depend on the machine.
    public static let width = 16

    /// Blocks that hold `channels` channels; the last is padded.
    @inlinable public static func blocks(_ channels: Int) -> Int { (channels + width - 1) / width }
}

/// A 1×1 convolution over tensors with blocked channels, computed straight from its input:
/// `out[o][p] = activation(Σ_i w[o][i] · in[i][p] + bias[o] + residual[o][p])`.
///
/// Why: over planes of channels (NCHW), a 1×1 convolution is a matrix product whose right
/// operand, the activations, has to be packed for the micro-tiles, and whose result then
/// goes through a separate pass for the bias, shortcut and activation. At 56×56 those two
/// copies of the data cost a quarter of the layer. Here a micro-tile is ``positions``
/// positions by two vectors of output channels: for each input channel it broadcasts the
/// positions' values, read where they lie, against two vectors of packed weights, and it
/// finishes the sums in registers.
///
/// Written once like ``PackedGemm`` and compiled per instruction set. Each output is summed
/// exactly as ``PackedGemm`` sums it: chunks of ``PackedGemm/chunk`` input channels, each
/// from zero in channel order by one multiply-add per channel, added in chunk order; then
/// `(sum + bias) + residual`, then `x > 0 ? x : 0`, as ``ElementwiseKernels`` does. So a
/// layer gives the same bits either way, on every kernel set.
public enum PointwiseKernels {
    /// Positions per micro-tile.
    public static let positions = 6

    /// Floats of the packed weights of a convolution with `outputs × inputs` weights.
    public static func packedCount(outputs: Int, inputs: Int) -> Int { BlockedChannels.blocks(outputs) * inputs * BlockedChannels.width }

    /// Packs row-major `outputs × inputs` weights as the kernel reads them: for each block
    /// of output channels, input channel by input channel, the block's weights side by side,
    /// zero for the padding channels of the last block.
    public static func pack(_ weights: UnsafePointer<Float>, outputs: Int, inputs: Int, into packed: UnsafeMutablePointer<Float>) {
        let width = BlockedChannels.width
        for block in 0..<BlockedChannels.blocks(outputs) {
            for i in 0..<inputs {
                let target = packed + (block * inputs + i) * width
                for lane in 0..<width {
                    let o = block * width + lane
                    target[lane] = o < outputs ? weights[o * inputs + i] : 0
                }
            }
        }
    }

    /// Computes output channel blocks `blocks` at positions `positions`.
    ///
    /// - `input`: `inputs` channels in blocks, `inputStride` floats from one block to the
    ///   next (at least every position's 16 floats); positions count from `input`.
    /// - `weights`: as ``pack(_:outputs:inputs:into:)`` left them.
    /// - `bias`: one value per channel of every block computed, padding included; nil for
    ///   none (not even a zero, which would turn a sum of −0 into +0).
    /// - `residual`, `output`: blocked like the input, `outputStride` floats per block;
    ///   `residual` may be `output` itself. Output block `b` of the layer is block
    ///   `b − outputShift` of these tensors (two tensors can take a layer's blocks between
    ///   them).
    @inlinable @inline(__always)
    public static func convolve<L: GemmLanes>(_ lanes: L.Type, input: UnsafePointer<Float>, inputs: Int, inputStride: Int,
                                              weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool,
                                              residual: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                                              outputStride: Int, outputShift: Int = 0, positions range: Range<Int>,
                                              blocks: Range<Int>) {
        precondition(blocks.lowerBound >= outputShift, "blocks \(blocks) before the output's first, \(outputShift)")
        let width = BlockedChannels.width, vector = L.Vector.scalarCount
        precondition(width % vector == 0, "a block holds whole vectors")
        let last = blocks.upperBound * width
        var channel = blocks.lowerBound * width
        while channel < last {
            // A group of two vectors of channels; on sixteen lanes a lone last block repeats
            // its vector, computed twice and written once.
            let second = channel + vector < last ? channel + vector : channel
            let w0 = weights + (channel / width) * inputs * width + channel % width
            let w1 = weights + (second / width) * inputs * width + second % width
            let o0 = (channel / width - outputShift) * outputStride + channel % width
            let o1 = (second / width - outputShift) * outputStride + second % width
            var p = range.lowerBound
            while p < range.upperBound {
                tile(lanes, input: input, inputs: inputs, inputStride: inputStride, w0: w0, w1: w1,
                     bias0: bias.map { $0 + channel }, bias1: bias.map { $0 + second }, relu: relu, residual: residual, output: output,
                     o0: o0, o1: o1, writesSecond: second != channel, first: p, count: Swift.min(positions, range.upperBound - p))
                p += positions
            }
            channel += second != channel ? 2 * vector : vector
        }
    }

    /// One micro-tile: `count` (at most six) positions from `first`, two vectors of output
    /// channels whose weights start at `w0` and `w1` and whose outputs sit `o0` and `o1`
    /// floats into a position's blocks. Positions past `count` repeat the last: computed,
    /// never written.
    @inlinable @inline(__always)
    static func tile<L: GemmLanes>(_: L.Type, input: UnsafePointer<Float>, inputs: Int, inputStride: Int,
                                   w0: UnsafePointer<Float>, w1: UnsafePointer<Float>,
                                   bias0: UnsafePointer<Float>?, bias1: UnsafePointer<Float>?, relu: Bool,
                                   residual: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                                   o0: Int, o1: Int, writesSecond: Bool, first: Int, count: Int) {
        typealias V = L.Vector
        let width = BlockedChannels.width
        // Float offsets of the six positions within a block of input channels.
        let x0 = first * width, x1 = Swift.min(first + 1, first + count - 1) * width
        let x2 = Swift.min(first + 2, first + count - 1) * width, x3 = Swift.min(first + 3, first + count - 1) * width
        let x4 = Swift.min(first + 4, first + count - 1) * width, x5 = Swift.min(first + 5, first + count - 1) * width
        var s00 = V(), s01 = V(), s10 = V(), s11 = V(), s20 = V(), s21 = V()
        var s30 = V(), s31 = V(), s40 = V(), s41 = V(), s50 = V(), s51 = V()
        var start = 0
        while start < inputs {
            let end = Swift.min(start + PackedGemm.chunk, inputs)
            var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
            var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
            var pw0 = UnsafeRawPointer(w0 + start * width), pw1 = UnsafeRawPointer(w1 + start * width)
            var i = start
            while i < end {
                // The input channels of one block: each position's values are consecutive.
                let block = input + (i / width) * inputStride + i % width
                let stop = Swift.min(end, (i / width + 1) * width)
                var s = block
                for _ in i..<stop {
                    let a = pw0.loadUnaligned(as: V.self), b = pw1.loadUnaligned(as: V.self)
                    var x = V(repeating: s[x0])
                    c00 = L.multiplyAdd(x, a, c00); c01 = L.multiplyAdd(x, b, c01)
                    x = V(repeating: s[x1])
                    c10 = L.multiplyAdd(x, a, c10); c11 = L.multiplyAdd(x, b, c11)
                    x = V(repeating: s[x2])
                    c20 = L.multiplyAdd(x, a, c20); c21 = L.multiplyAdd(x, b, c21)
                    x = V(repeating: s[x3])
                    c30 = L.multiplyAdd(x, a, c30); c31 = L.multiplyAdd(x, b, c31)
                    x = V(repeating: s[x4])
                    c40 = L.multiplyAdd(x, a, c40); c41 = L.multiplyAdd(x, b, c41)
                    x = V(repeating: s[x5])
                    c50 = L.multiplyAdd(x, a, c50); c51 = L.multiplyAdd(x, b, c51)
                    s += 1
                    pw0 += width * 4
                    pw1 += width * 4
                }
                i = stop
            }
            if start == 0 {
                (s00, s01, s10, s11, s20, s21) = (c00, c01, c10, c11, c20, c21)
                (s30, s31, s40, s41, s50, s51) = (c30, c31, c40, c41, c50, c51)
            } else {
                s00 += c00; s01 += c01; s10 += c10; s11 += c11; s20 += c20; s21 += c21
                s30 += c30; s31 += c31; s40 += c40; s41 += c41; s50 += c50; s51 += c51
            }
            start = end
        }
        let b0 = bias0.map { UnsafeRawPointer($0).loadUnaligned(as: V.self) }
        let b1 = bias1.map { UnsafeRawPointer($0).loadUnaligned(as: V.self) }
        @inline(__always) func finish(_ sum: V, _ bias: V?, _ at: Int) {
            var v = sum
            if let bias { v = v + bias }
            if let residual { v += UnsafeRawPointer(residual + at).loadUnaligned(as: V.self) }
            if relu { v = L.rectified(v) }
            UnsafeMutableRawPointer(output + at).storeBytes(of: v, as: V.self)
        }
        @inline(__always) func put(_ low: V, _ high: V, _ j: Int) {
            let position = (first + j) * width
            finish(low, b0, o0 + position)
            if writesSecond { finish(high, b1, o1 + position) }
        }
        put(s00, s01, 0)
        if count > 1 { put(s10, s11, 1) }
        if count > 2 { put(s20, s21, 2) }
        if count > 3 { put(s30, s31, 3) }
        if count > 4 { put(s40, s41, 4) }
        if count > 5 { put(s50, s51, 5) }
    }
}

/// The baseline instantiation of ``PointwiseKernels``.
extension PortableKernels {
    /// ``PointwiseKernels/convolve(_:input:inputs:inputStride:weights:bias:relu:residual:output:outputStride:outputShift:positions:blocks:)``
    /// with ``PortableLanes``.
    public static func pointwise(input: UnsafePointer<Float>, inputs: Int, inputStride: Int, weights: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?, relu: Bool, residual: UnsafePointer<Float>?,
                                 output: UnsafeMutablePointer<Float>, outputStride: Int, outputShift: Int, positions: Range<Int>,
                                 blocks: Range<Int>) {
        PointwiseKernels.convolve(PortableLanes.self, input: input, inputs: inputs, inputStride: inputStride, weights: weights,
                                  bias: bias, relu: relu, residual: residual, output: output, outputStride: outputStride,
                                  outputShift: outputShift, positions: positions, blocks: blocks)
    }
}
