#if arch(x86_64)
import VeilKernels

/// The engine's kernels compiled for x86-64-v3 (AVX2, FMA): eight lanes, fused.
/// Only called after a CPU check finds those features: anywhere else they would trap.
public enum X86_64_v3Kernels {
    /// ``PackedGemm/multiply(_:m:n:k:packedA:b:ldb:c:ldc:scratch:)`` with ``FusedLanes8``.
    public static func multiply(m: Int, n: Int, k: Int, packedA: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>) {
        PackedGemm.multiply(FusedLanes8.self, m: m, n: n, k: k, packedA: packedA, b: b, ldb: ldb, c: c, ldc: ldc,
                            scratch: scratch)
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
}
#endif
