import COpenBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
        _ = OpenBLASSetup.done
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
        _ = OpenBLASSetup.done
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
    /// `C = A · B` for row-major matrices; `c` must hold `m × n` values. The columns of `C`
    /// are split among ``ComputeThreads``, each part one single-threaded OpenBLAS call: the
    /// same way the engine runs its products.
    public static func multiply(m: Int, n: Int, k: Int, a: [Float], b: [Float], into c: inout [Float]) {
        precondition(a.count >= m * k && b.count >= k * n && c.count >= m * n, "matrix buffers too small")
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    let (a, b, c) = (a.baseAddress!, b.baseAddress!, c.baseAddress!)
                    let parts = max(1, min(ComputeThreads.count, n / 16))
                    ComputeThreads.parallelFor(parts) { part in
                        let first = n * part / parts, last = n * (part + 1) / parts
                        BLAS.gemm(m: m, n: last - first, k: k, a: a, lda: k, b: b + first, ldb: n,
                                  c: c + first, ldc: n)
                    }
                }
            }
        }
    }
}

/// Which kernels OpenBLAS runs on this processor, and what Veil did about it.
///
/// OpenBLAS chooses its kernels once, when the library loads, from the CPU model. Builds
/// older than the processor (Debian 12 ships 0.3.21, which predates Sapphire Rapids) fall
/// back to generic SSE3 kernels ("Prescott") on CPUs they do not recognise, which makes
/// every matrix product several times slower. Before its first matrix product Veil
/// therefore checks: if OpenBLAS runs generic kernels, `OPENBLAS_CORETYPE` is not set, and
/// the processor reports AVX-512 (or AVX2 with FMA), Veil asks OpenBLAS to load its
/// SkylakeX (or Haswell) kernels instead, through OpenBLAS's own re-initialisation entry
/// points. Setting `OPENBLAS_CORETYPE` (to any core, `Prescott` included) keeps OpenBLAS's
/// choice as it is. The switch sets that variable for a moment, so, like any change to the
/// environment, it belongs at start-up: call ``ComputeThreads/configure(_:)`` before other
/// threads run.
public enum BLASDiagnostics {
    /// OpenBLAS's name for the kernels in use, e.g. `"SkylakeX"`.
    public static var coreName: String {
        _ = OpenBLASSetup.done
        return BLAS.coreName
    }

    /// The kernels OpenBLAS chose by itself, when Veil replaced them; nil when it did not.
    public static var replacedCoreName: String? {
        OpenBLASSetup.done.replaced
    }

    /// Whether OpenBLAS runs its generic kernels although the CPU offers AVX2 and FMA:
    /// true only when the user pinned them with `OPENBLAS_CORETYPE` or the switch failed.
    public static var isUsingGenericKernelsOnModernCPU: Bool {
        OpenBLASSetup.genericCores.contains(coreName) && OpenBLASSetup.bestCore(for: OpenBLASSetup.cpuFlags()) != nil
    }
}

/// The one-time set-up of OpenBLAS for Veil: better kernels where 0.3.21 misjudged the CPU
/// (see ``BLASDiagnostics``), and OpenBLAS's own threads turned off.
///
/// Why single-threaded: Veil splits every layer into cache-sized blocks that its own
/// workers (``ComputeThreads``) take whole, im2col, matrix product and bias together, so
/// that a block goes from one step to the next through the cache. Each worker's product is
/// one single-threaded OpenBLAS call; if OpenBLAS also spread each call over its threads,
/// N workers would start N² threads.
enum OpenBLASSetup {
    struct Outcome {
        /// Threads OpenBLAS would have used (its default, or `OPENBLAS_NUM_THREADS`).
        var defaultThreads: Int
        /// The core OpenBLAS picked when Veil replaced it.
        var replaced: String?
    }

    static let done: Outcome = {
        var replaced: String?
        let picked = BLAS.coreName
        if getenv("OPENBLAS_CORETYPE") == nil, genericCores.contains(picked),
           let better = bestCore(for: cpuFlags()), reinitialize(as: better) {
            replaced = picked
        }
        let threads = BLAS.threadCount
        BLAS.setThreadCount(1)
        stopIdleThreads()
        return Outcome(defaultThreads: max(1, threads), replaced: replaced)
    }()

    /// Ends OpenBLAS's worker threads, which single-threaded calls never use. They start when
    /// the library loads and spin on `sched_yield` for a while before they sleep: a one-photo
    /// `veil score` spent a quarter of its cycles in that spin, a core taken from start-up
    /// work. OpenBLAS starts them again if a caller later asks it for more threads. Only
    /// pthreads builds export this entry point; elsewhere nothing changes.
    private static func stopIdleThreads() {
        guard let program = dlopen(nil, RTLD_NOW), let shutdown = dlsym(program, "blas_thread_shutdown_") else { return }
        typealias Entry = @convention(c) () -> Int32
        _ = unsafeBitCast(shutdown, to: Entry.self)()
    }

    static let genericCores: Set<String> = ["Prescott", "Core2", "Penryn", "Katmai", "Coppermine", "Northwood", "Unknown"]

    /// OpenBLAS's name for the best kernels these CPU flags can run, if better than generic.
    static func bestCore(for flags: Set<String>) -> String? {
        if ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// The flags the kernel reports for the first processor (what the OS lets programs use).
    static func cpuFlags() -> Set<String> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }

    /// Re-runs OpenBLAS's kernel selection with `core` forced. Only builds with DYNAMIC_ARCH
    /// (Debian's, among others) export these entry points; elsewhere nothing changes.
    private static func reinitialize(as core: String) -> Bool {
        guard let program = dlopen(nil, RTLD_NOW),
              let quit = dlsym(program, "gotoblas_dynamic_quit"),
              let initialize = dlsym(program, "gotoblas_dynamic_init") else { return false }
        typealias Entry = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", core, 1)
        unsafeBitCast(quit, to: Entry.self)()
        unsafeBitCast(initialize, to: Entry.self)()
        unsetenv("OPENBLAS_CORETYPE")
        return BLAS.coreName.caseInsensitiveCompare(core) == .orderedSame
    }
}
