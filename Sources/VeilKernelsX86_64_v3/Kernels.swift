#if arch(x86_64)
import VeilKernels

/// The engine's kernels compiled for x86-64-v3 (AVX2, FMA): eight lanes, fused.
/// Only called after a CPU check finds those features: anywhere else they would trap.
public enum X86_64_v3Kernels {
    /// ``PackedGemm/multiply(_:m:n:k:packedA:b:ldb:c:ldc:scratch:packedB:rows:)`` with ``FusedLanes8``.
    public static func multiply(m: Int, n: Int, k: Int, packedA: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>?,
                                packedB: UnsafePointer<Float>?, rows: Range<Int>) {
        PackedGemm.multiply(FusedLanes8.self, m: m, n: n, k: k, packedA: packedA, b: b, ldb: ldb, c: c, ldc: ldc,
                            scratch: scratch, packedB: packedB, rows: rows)
    }

    /// ``PointwiseKernels/convolve(_:input:inputs:inputStride:weights:bias:relu:residual:output:outputStride:outputShift:positions:blocks:)``
    /// with ``FusedLanes8``.
    public static func pointwise(input: UnsafePointer<Float>, inputs: Int, inputStride: Int, weights: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?, relu: Bool, residual: UnsafePointer<Float>?,
                                 output: UnsafeMutablePointer<Float>, outputStride: Int, outputShift: Int, positions: Range<Int>,
                                 blocks: Range<Int>) {
        PointwiseKernels.convolve(FusedLanes8.self, input: input, inputs: inputs, inputStride: inputStride, weights: weights,
                                  bias: bias, relu: relu, residual: residual, output: output, outputStride: outputStride,
                                  outputShift: outputShift, positions: positions, blocks: blocks)
    }

    /// ``ElementwiseKernels/biasResidualActivation(_:into:count:bias:relu:residual:)``.
    public static func biasResidualActivation(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int,
                                              bias: Float, relu: Bool, residual: UnsafePointer<Float>?) {
        ElementwiseKernels.biasResidualActivation(x, into: out, count: count, bias: bias, relu: relu, residual: residual)
    }

    /// ``ElementwiseKernels/winogradColumns(_:into:width:)``.
    public static func winogradColumns(_ rows: UnsafePointer<Float>, into strip: UnsafeMutablePointer<Float>, width: Int) {
        ElementwiseKernels.winogradColumns(rows, into: strip, width: width)
    }

    /// ``StemKernels/convolveRow(_:input:offsets:depth:count:weights:channels:into:)`` with ``FusedLanes8``.
    public static func convolveRow(input: UnsafePointer<Float>, offsets: UnsafePointer<Int>, depth: Int, count: Int,
                                   weights: UnsafePointer<Float>, channels: Int, into out: UnsafeMutablePointer<Float>) {
        StemKernels.convolveRow(FusedLanes8.self, input: input, offsets: offsets, depth: depth, count: count,
                                weights: weights, channels: channels, into: out)
    }

    /// ``StemKernels/poolRow(_:rowCount:width:channels:spans:outCount:bias:relu:columnMax:pooled:into:outStride:outChannels:)``.
    public static func poolRow(_ rows: UnsafePointer<UnsafePointer<Float>>, rowCount: Int, width: Int, channels: Int,
                               spans: UnsafePointer<Int>, outCount: Int, bias: UnsafePointer<Float>, relu: Bool,
                               columnMax: UnsafeMutablePointer<Float>, pooled: UnsafeMutablePointer<Float>,
                               into out: UnsafeMutablePointer<Float>, outStride: Int, outChannels: Int) {
        StemKernels.poolRow(rows, rowCount: rowCount, width: width, channels: channels, spans: spans, outCount: outCount,
                            bias: bias, relu: relu, columnMax: columnMax, pooled: pooled, into: out, outStride: outStride,
                            outChannels: outChannels)
    }
}
#endif
