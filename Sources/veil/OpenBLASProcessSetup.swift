import COpenBLAS
import Foundation
import VeilTensor
#if canImport(Glibc)
import Glibc
#endif

/// The `veil` command's process-wide set-up of OpenBLAS. It lives here, in the executable,
/// because it changes the whole process: the library only takes a `Runtime` value and reads
/// OpenBLAS's state (`BLASDiagnostics`); an embedder sets `OPENBLAS_NUM_THREADS=1` in its
/// service's environment instead.
///
/// ``apply()`` changes exactly three things, all process-wide:
/// 1. **OpenBLAS's thread count becomes 1** (`openblas_set_num_threads(1)`), so that each of
///    Veil's ``Runtime`` threads runs its products on its own and N threads never start N²;
///    any other OpenBLAS user in the process also finds it single-threaded.
/// 2. **OpenBLAS's idle worker threads are ended** (`blas_thread_shutdown_`, found with
///    `dlsym`; pthreads builds only). They spin on `sched_yield` for a while after the
///    library loads, which costs a short run a quarter of its cycles. OpenBLAS starts them
///    again if someone later asks it for more threads.
/// 3. **Better kernels where OpenBLAS misjudged the CPU.** OpenBLAS picks its kernels once,
///    from the CPU model, and builds older than the processor (Debian 12's 0.3.21 predates
///    Sapphire Rapids) fall back to generic SSE3 kernels, several times slower. If it runs
///    generic kernels, `OPENBLAS_CORETYPE` is unset, and the CPU reports AVX-512 (or AVX2 with
///    FMA), this sets `OPENBLAS_CORETYPE` to SkylakeX (or Haswell), re-runs OpenBLAS's kernel
///    selection through its `gotoblas_dynamic_quit`/`gotoblas_dynamic_init` entry points
///    (found with `dlsym`; DYNAMIC_ARCH builds only), and unsets the variable again.
///    Setting `OPENBLAS_CORETYPE` yourself keeps OpenBLAS's choice.
///
/// Because it writes the environment (`setenv` is not thread-safe) and swaps OpenBLAS's
/// kernel table, call it before any other thread starts and before anything uses OpenBLAS.
/// Only the first call acts; later calls return the first outcome.
enum OpenBLASProcessSetup {
    /// What ``apply()`` did.
    struct Outcome: Sendable {
        /// OpenBLAS's thread count before it was set to 1.
        var previousThreadCount: Int
        /// The kernels OpenBLAS had chosen by itself, when they were replaced; nil otherwise.
        var replacedCoreName: String?
    }

    /// Applies the three changes above, once per process.
    @discardableResult
    static func apply() -> Outcome { done }

    private static let done: Outcome = {
        var replaced: String?
        let picked = BLASDiagnostics.coreName
        if getenv("OPENBLAS_CORETYPE") == nil, BLASDiagnostics.genericCores.contains(picked),
           let better = BLASDiagnostics.bestCore(for: BLASDiagnostics.cpuFlags()), reinitialize(as: better) {
            replaced = picked
        }
        let threads = BLASDiagnostics.threadCount
        openblas_set_num_threads(1)
        stopIdleThreads()
        return Outcome(previousThreadCount: max(1, threads), replacedCoreName: replaced)
    }()

    private static func stopIdleThreads() {
        guard let program = dlopen(nil, RTLD_NOW), let shutdown = dlsym(program, "blas_thread_shutdown_") else { return }
        typealias Entry = @convention(c) () -> Int32
        _ = unsafeBitCast(shutdown, to: Entry.self)()
    }

    private static func reinitialize(as core: String) -> Bool {
        guard let program = dlopen(nil, RTLD_NOW),
              let quit = dlsym(program, "gotoblas_dynamic_quit"),
              let initialize = dlsym(program, "gotoblas_dynamic_init") else { return false }
        typealias Entry = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", core, 1)
        unsafeBitCast(quit, to: Entry.self)()
        unsafeBitCast(initialize, to: Entry.self)()
        unsetenv("OPENBLAS_CORETYPE")
        return BLASDiagnostics.coreName.caseInsensitiveCompare(core) == .orderedSame
    }
}
