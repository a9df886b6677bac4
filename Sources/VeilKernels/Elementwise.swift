/// The engine's element-wise passes, written once like ``PackedGemm`` and compiled per
/// instruction set: plain loops that the compiler vectorizes to whatever width the module
/// that inlines them targets. Each element's arithmetic is the same at every width (no
/// products are fused), so every kernel set gives these passes the same bits.
public enum ElementwiseKernels {
    /// `out[i] = activation(x[i] + bias + residual[i])`, summed in that order, with ReLU as
    /// `x > 0 ? x : 0`. `out` may be `x`, or `residual` (a shortcut overwritten in place).
    @inlinable @inline(__always)
    public static func biasResidualActivation(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int,
                                              bias b: Float, relu: Bool, residual: UnsafePointer<Float>?) {
        // A shortcut held in `out` itself gets loops that read only `out`: with two pointers
        // that overlap exactly, the vectorized loop's overlap check sends every element to
        // the scalar one.
        let inPlace = residual == UnsafePointer(out)
        switch (residual, relu) {
        case (nil, false): for i in 0..<count { out[i] = x[i] + b }
        case (nil, true): for i in 0..<count { let v = x[i] + b; out[i] = v > 0 ? v : 0 }
        case (_?, false) where inPlace: for i in 0..<count { out[i] = x[i] + b + out[i] }
        case (_?, true) where inPlace: for i in 0..<count { let v = x[i] + b + out[i]; out[i] = v > 0 ? v : 0 }
        case let (r?, false): for i in 0..<count { out[i] = x[i] + b + r[i] }
        case let (r?, true): for i in 0..<count { let v = x[i] + b + r[i]; out[i] = v > 0 ? v : 0 }
        }
    }

    /// The column half of Winograd F(4×4, 3×3)'s input transform, `strip[i][x] = (Bᵀ d)[i]`,
    /// for `width` columns of six rows `width` apart at `rows`: done once per column rather
    /// than once per overlapping tile.
    @inlinable @inline(__always)
    public static func winogradColumns(_ rows: UnsafePointer<Float>, into strip: UnsafeMutablePointer<Float>, width: Int) {
        let (d0, d1, d2, d3, d4, d5) = (rows, rows + width, rows + 2 * width, rows + 3 * width, rows + 4 * width, rows + 5 * width)
        let (s0, s1, s2, s3, s4, s5) = (strip, strip + width, strip + 2 * width, strip + 3 * width, strip + 4 * width, strip + 5 * width)
        for x in 0..<width {
            let a0 = d0[x], a1 = d1[x], a2 = d2[x], a3 = d3[x], a4 = d4[x], a5 = d5[x]
            s0[x] = 4 * a0 - 5 * a2 + a4
            s1[x] = -4 * (a1 + a2) + a3 + a4
            s2[x] = 4 * (a1 - a2) - a3 + a4
            s3[x] = -2 * (a1 - a3) - a2 + a4
            s4[x] = 2 * (a1 - a3) - a2 + a4
            s5[x] = 4 * a1 - 5 * a3 + a5
        }
    }
}

/// The baseline instantiation of ``ElementwiseKernels``.
extension PortableKernels {
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
