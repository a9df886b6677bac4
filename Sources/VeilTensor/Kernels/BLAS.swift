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

/// The raw GEMM, for benchmarks that measure the machine's ceiling.
package enum MatrixMultiply {
    /// `C = A · B` for row-major matrices; `c` must hold `m × n` values. The columns of `C`
    /// are split among the current ``Runtime``'s threads, each part one OpenBLAS call: the
    /// same way the engine runs its products.
    package static func multiply(m: Int, n: Int, k: Int, a: [Float], b: [Float], into c: inout [Float]) {
        precondition(a.count >= m * k && b.count >= k * n && c.count >= m * n, "matrix buffers too small")
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    let (a, b, c) = (a.baseAddress!, b.baseAddress!, c.baseAddress!)
                    let parts = max(1, min(Runtime.current.threads, n / 16))
                    Runtime.current.parallelFor(parts) { part in
                        let first = n * part / parts, last = n * (part + 1) / parts
                        BLAS.gemm(m: m, n: last - first, k: k, a: a, lda: k, b: b + first, ldb: n,
                                  c: c + first, ldc: n)
                    }
                }
            }
        }
    }
}

extension MatrixMultiply {
    /// `A` packed for Veil's own kernels, once, as the engine packs a layer's weights at load.
    package struct Packed: Sendable {
        let matrix: PackedMatrix
        /// Packs the row-major `m × k` matrix `a`.
        package init(m: Int, k: Int, a: [Float]) {
            matrix = a.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, lda: k, rows: m, columns: k) }
        }
    }

    /// `C = A · B` with Veil's own kernels (`kernels`, or the process's), split among the
    /// current ``Runtime``'s threads by columns, as the engine's convolutions are.
    package static func multiply(_ a: Packed, n: Int, b: [Float], into c: inout [Float], kernels: ComputeKernels? = nil) {
        let m = a.matrix.rows, k = a.matrix.columns
        precondition(b.count >= k * n && c.count >= m * n, "matrix buffers too small")
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                let (b, c) = (b.baseAddress!, c.baseAddress!)
                let blocks = Convolution2D.columnBlocks(k: k, m: m, total: n, workers: Runtime.current.threads)
                Runtime.current.share(blocks.parts) { items in
                    let scratch = GemmScratch(columns: blocks.longest)
                    defer { scratch.deallocate() }
                    while let index = items.next() {
                        let first = blocks[index].lowerBound, count = blocks[index].count
                        a.matrix.multiply(b + first, ldb: n, n: count, into: c + first, ldc: n, scratch: scratch,
                                          kernels: kernels ?? ComputeKernels.current)
                    }
                }
            }
        }
    }
}

/// What OpenBLAS is doing in this process, read without changing anything.
public enum BLASDiagnostics {
    /// OpenBLAS's name for the kernels in use, e.g. `"SkylakeX"`.
    public static var coreName: String { BLAS.coreName }

    /// OpenBLAS's own thread count (process-wide): each of Veil's threads may start this many.
    public static var threadCount: Int { BLAS.threadCount }

    /// Whether OpenBLAS runs its generic kernels although the CPU offers AVX2 and FMA, which
    /// makes every product several times slower. Debian 12's OpenBLAS 0.3.21 predates some
    /// processors and falls back to them; `OPENBLAS_CORETYPE=Haswell` (or `SkylakeX`) in the
    /// environment picks better ones.
    public static var isUsingGenericKernelsOnModernCPU: Bool {
        genericCores.contains(coreName) && bestCore(for: cpuFlags()) != nil
    }

    /// OpenBLAS's names for its generic x86 kernels.
    package static let genericCores: Set<String> = ["Prescott", "Core2", "Penryn", "Katmai", "Coppermine", "Northwood", "Unknown"]

    /// OpenBLAS's name for the best kernels these CPU flags can run, if better than generic.
    package static func bestCore(for flags: Set<String>) -> String? {
        if ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// The flags the kernel reports for the first processor (what the OS lets programs use).
    package static func cpuFlags() -> Set<String> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }
}
