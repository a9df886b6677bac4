import COpenBLAS
import Foundation

/// The whole BLAS backend: the one file that calls OpenBLAS.
///
/// Veil uses BLAS only for large, contiguous, row-major single-precision products, and
/// checks the stride preconditions here so that a wrong leading dimension is caught as a
/// programming error before OpenBLAS reads out of bounds.
enum BLAS {
    /// `C[m×n] = A[m×k] · B[k×n] + beta · C`, all row-major with leading dimensions
    /// `lda ≥ k`, `ldb ≥ n`, `ldc ≥ n`.
    static func gemm(m: Int, n: Int, k: Int,
                     a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int,
                     beta: Float = 0) {
        precondition(m > 0 && n > 0 && k > 0, "gemm needs positive sizes, got m=\(m) n=\(n) k=\(k)")
        precondition(lda >= k && ldb >= n && ldc >= n,
                     "gemm strides too small: lda=\(lda) (k=\(k)) ldb=\(ldb) ldc=\(ldc) (n=\(n))")
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `C[m×n] = A[m×k] · B[n×k]ᵀ`: used by the GEMM-ceiling benchmark and fully connected
    /// layers whose inputs arrive image-major.
    static func gemmTransposedB(m: Int, n: Int, k: Int,
                                a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m > 0 && n > 0 && k > 0 && lda >= k && ldb >= k && ldc >= n,
                     "gemmᵀ shapes: m=\(m) n=\(n) k=\(k) lda=\(lda) ldb=\(ldb) ldc=\(ldc)")
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    static var coreName: String { String(cString: openblas_get_corename()) }
    static var threadCount: Int { Int(openblas_get_num_threads()) }
}

/// Public access to the raw GEMM, for benchmarks that measure the machine's ceiling.
public enum MatrixMultiply {
    /// `C = A · B` for row-major square-or-not matrices; `c` must hold `m × n` values.
    public static func multiply(m: Int, n: Int, k: Int, a: [Float], b: [Float], into c: inout [Float]) {
        precondition(a.count >= m * k && b.count >= k * n && c.count >= m * n, "matrix buffers too small")
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                              c: c.baseAddress!, ldc: n)
                }
            }
        }
    }
}

/// Which kernels OpenBLAS picked for this processor, for diagnostics.
///
/// OpenBLAS chooses its kernels once, when the library loads, from the CPU model. Builds
/// older than the processor (Debian 12 ships 0.3.21) fall back to generic SSE3 kernels
/// ("Prescott") on CPUs they do not recognise, which makes every matrix product several
/// times slower. The fix is operational, not Veil's to make silently: set
/// `OPENBLAS_CORETYPE` (e.g. `Haswell` for AVX2, `SkylakeX` for AVX-512) in the service's
/// environment after checking results on that machine.
public enum BLASDiagnostics {
    /// OpenBLAS's name for the kernels in use, e.g. `"Haswell"`.
    public static var coreName: String { BLAS.coreName }

    /// Whether OpenBLAS runs its generic kernels although the CPU offers AVX2 and FMA.
    public static var isUsingGenericKernelsOnModernCPU: Bool {
        guard ["Prescott", "Core2", "Penryn", "Katmai", "Coppermine", "Northwood"].contains(coreName) else { return false }
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let set = Set(flags.split(separator: " ").map(String.init))
        return set.contains("avx2") && set.contains("fma")
    }
}
