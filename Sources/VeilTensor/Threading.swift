import Dispatch
import Foundation

/// How many threads Veil's compute may use.
///
/// Every layer is split into blocks that these threads take whole; each block's matrix
/// product is a single-threaded OpenBLAS call (OpenBLAS's own threads are turned off the
/// first time Veil touches it, see ``BLASDiagnostics``). So a process that runs Veil on
/// `count` threads keeps at most `count` cores busy: N threads, never N². OpenBLAS's thread
/// count is process-wide, so an application that also calls OpenBLAS itself finds it
/// single-threaded after Veil's first product.
public enum ComputeThreads {
    /// Sets the number of threads for Veil's layers. Call once at start-up; every loaded
    /// model shares it.
    public static func configure(_ count: Int) {
        _ = OpenBLASSetup.done
        state.withLock { $0 = max(1, count) }
    }

    /// The configured thread count; until ``configure(_:)`` is called, the count OpenBLAS
    /// would have used (its default, or `OPENBLAS_NUM_THREADS`).
    public static var count: Int {
        state.withLock { value in
            if value == 0 { value = OpenBLASSetup.done.defaultThreads }
            return value
        }
    }

    private static let state = LockedValue(0)

    /// Runs `body(i)` for every `i` in `0..<iterations`, spread over the configured threads.
    static func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
        let threads = min(count, iterations)
        if threads <= 1 {
            for i in 0..<iterations { body(i) }
            return
        }
        // Contiguous chunks, one per thread, keep each thread's memory traffic local.
        // Callers write disjoint parts of a buffer per index, and concurrentPerform returns
        // only when every iteration has finished, so sharing `body` across threads is sound
        // even though Swift cannot prove it.
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let start = iterations * t / threads, end = iterations * (t + 1) / threads
                for i in start..<end { shared.value(i) }
            }
        }
    }
}

/// A value behind a lock (`Mutex` would need macOS 15 as the deployment target).
/// Shared with Veil's other modules (`package`), which need the same small lock.
package final class LockedValue<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    package init(_ value: Value) { self.value = value }

    package func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
