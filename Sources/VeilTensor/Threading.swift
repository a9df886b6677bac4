import Dispatch
import Foundation
import COpenBLAS

/// How many threads Veil's compute may use: a value the embedder creates once and hands to
/// the loaders, never a process-wide setting.
///
/// Every layer is split into blocks that these threads take whole; each block's matrix
/// product is one OpenBLAS call. OpenBLAS's own thread count is process-wide and Veil
/// leaves it alone, so each of Veil's threads may start that many more; ``automatic`` takes
/// this into account. For the best speed give OpenBLAS one thread (`OPENBLAS_NUM_THREADS=1`
/// in the service's environment) and Veil all the cores.
public struct Runtime: Sendable, Hashable, CustomStringConvertible {
    /// Veil's worker threads for one forward pass, from 1 to ``maximumThreads``.
    public let threads: Int

    /// The most threads a runtime takes: more than any machine Veil runs on has cores, and
    /// small enough that the kernels' work splits never overflow.
    public static let maximumThreads = 1024

    /// A runtime with `threads` worker threads; values below 1 mean 1, values above
    /// ``maximumThreads`` mean that many.
    public init(threads: Int) {
        self.threads = min(Self.maximumThreads, max(1, threads))
    }

    /// All the cores this process may use, shared with OpenBLAS so that Veil's threads times
    /// OpenBLAS's threads never exceed them: all the cores when OpenBLAS is single-threaded,
    /// one thread (and OpenBLAS's own threading) when it is not.
    public static var automatic: Runtime {
        let blasThreads = max(1, Int(openblas_get_num_threads()))
        return Runtime(threads: max(1, ProcessInfo.processInfo.activeProcessorCount / blasThreads))
    }

    public var description: String { "Runtime(threads: \(threads))" }

    /// Runs `body` with this runtime in force for the kernels it calls on this thread.
    ///
    /// The kernels read it from a task-local value, not a global, so that two models with
    /// different runtimes can run at once in one process.
    package func enter<R>(_ body: () throws -> R) rethrows -> R {
        try ComputeScope.$runtime.withValue(self, operation: body)
    }

    /// The runtime of the innermost ``enter(_:)`` on this thread; one thread outside any.
    package static var current: Runtime { ComputeScope.runtime }

    /// Runs `body(i)` for every `i` in `0..<iterations`, spread over this runtime's threads.
    package func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
        let threads = min(self.threads, iterations)
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

private enum ComputeScope {
    @TaskLocal static var runtime = Runtime(threads: 1)
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

package struct UncheckedSendable<Value>: @unchecked Sendable {
    package let value: Value
    package init(_ value: Value) { self.value = value }
}
