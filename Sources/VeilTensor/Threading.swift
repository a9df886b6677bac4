import Dispatch
import Foundation
#if os(Linux)
import Synchronization
#endif
import COpenBLAS

/// How many threads Veil's compute may use: a value the embedder creates once and hands to
/// the loaders, never a process-wide setting.
///
/// Every layer is split into blocks that these threads take whole, on Veil's own kernels.
/// OpenBLAS, which Veil still calls outside the forward pass, has a process-wide thread count
/// that Veil leaves alone, so each of Veil's threads may start that many more; ``automatic``
/// takes this into account. For the best speed give OpenBLAS one thread (`OPENBLAS_NUM_THREADS=1`
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
        // Callers write disjoint parts of a buffer per index, and both ways below return only
        // when every chunk has finished, so sharing `body` across threads is sound even
        // though Swift cannot prove it.
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            let chunk: @Sendable (Int) -> Void = { t in
                let start = iterations * t / threads, end = iterations * (t + 1) / threads
                for i in start..<end { shared.value(i) }
            }
            if !WorkerPool.shared.run(parts: threads, chunk) {
                DispatchQueue.concurrentPerform(iterations: threads, execute: chunk)
            }
        }
    }
}

extension Runtime {
    /// Runs `body` once on each of up to ``threads`` threads (no more than there are items),
    /// each taking items of `0..<items` from its ``ClaimedItems`` until none are left, and
    /// returns when all are done.
    ///
    /// Every thread starts on its own contiguous share, in order; one that finishes early
    /// takes items from the end of the share with the most left. A core slowed by the host,
    /// or busy with other work (the decoders beside `veil score`), then does fewer, rather
    /// than every other thread waiting for it at the end of the layer. With a share fixed
    /// per thread, a second process busy on one of two cores made two-thread passes slower
    /// than one-thread ones. Each item is done once, by one thread, so which thread does it
    /// must not change its result: callers keep the arithmetic of an item independent of
    /// the others.
    package func share(_ items: Int, _ body: (inout ClaimedItems) -> Void) {
        let threads = min(self.threads, items)
        if threads <= 1 {
            var all = ClaimedItems(alone: 0..<max(0, items))
            body(&all)
            return
        }
        let shares = WorkShares(items: items, threads: threads)
        parallelFor(threads) { thread in
            var mine = ClaimedItems(shares, thread: thread)
            body(&mine)
        }
    }
}

/// The items one thread of ``Runtime/share(_:_:)`` takes, one at a time: `while let item =
/// items.next()`.
package struct ClaimedItems: IteratorProtocol {
    private let shares: WorkShares?
    private let thread: Int
    private var alone: Range<Int>

    fileprivate init(alone: Range<Int>) { (shares, thread, self.alone) = (nil, 0, alone) }
    fileprivate init(_ shares: WorkShares, thread: Int) { (self.shares, self.thread, alone) = (shares, thread, 0..<0) }

    /// The next item for this thread, or nil when every item has been taken.
    package mutating func next() -> Int? {
        guard let shares else { return alone.popFirst() }
        return shares.claim(for: thread)
    }
}

/// The items left in each thread's share, one atomic word per thread (its next item in the
/// low half, its end in the high half), each in a cache line of its own. A thread claiming
/// from its own share then touches only memory it alone writes until another thread steals;
/// with one lock for all the shares, the lock's cache line crossed between the cores at
/// every claim.
final class WorkShares: @unchecked Sendable {
    private let shares: [Share]

    init(items: Int, threads: Int) {
        precondition(items >= 0 && items < 1 << 32, "\(items) items")
        shares = (0..<threads).map { Share(next: items * $0 / threads, end: items * ($0 + 1) / threads) }
    }

    func claim(for thread: Int) -> Int? {
        let own = shares[thread]
        var word = own.load()
        while Share.next(word) < Share.end(word) {
            let (exchanged, original) = own.replace(word, with: word + 1)
            if exchanged { return Share.next(word) }
            word = original
        }
        // The last item of the share with the most left: its owner keeps working forward
        // through memory it has started on.
        while true {
            var victim = -1, most = 0, seen: UInt64 = 0
            for t in shares.indices {
                let word = shares[t].load(), left = Share.end(word) - Share.next(word)
                if left > most { (victim, most, seen) = (t, left, word) }
            }
            guard victim >= 0 else { return nil }
            let last = Share.end(seen) - 1
            let taken = UInt64(last) << 32 | UInt64(Share.next(seen))
            if shares[victim].replace(seen, with: taken).exchanged { return last }
        }
    }

    /// One thread's share, padded so that no two shares' words share a cache line. The
    /// words are atomics where the pool runs (Linux); elsewhere, where `Atomic` needs a newer
    /// system than Veil requires and Dispatch runs the loops, each is behind a lock.
    private final class Share {
        #if os(Linux)
        private let word: Atomic<UInt64>
        #else
        private let word: LockedValue<UInt64>
        #endif
        private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

        init(next: Int, end: Int) {
            #if os(Linux)
            word = Atomic(UInt64(end) << 32 | UInt64(next))
            #else
            word = LockedValue(UInt64(end) << 32 | UInt64(next))
            #endif
        }

        func load() -> UInt64 {
            #if os(Linux)
            word.load(ordering: .relaxed)
            #else
            word.withLock { $0 }
            #endif
        }

        /// Replaces `expected` with `desired` if the word still holds it; returns whether it
        /// did, and the word as it was.
        func replace(_ expected: UInt64, with desired: UInt64) -> (exchanged: Bool, original: UInt64) {
            #if os(Linux)
            word.compareExchange(expected: expected, desired: desired, ordering: .relaxed)
            #else
            word.withLock { value in
                let original = value
                if value == expected { value = desired }
                return (original == expected, original)
            }
            #endif
        }

        static func next(_ word: UInt64) -> Int { Int(word & 0xffff_ffff) }
        static func end(_ word: UInt64) -> Int { Int(word >> 32) }
    }
}

/// Threads kept for the kernels' parallel loops, which wait for the next loop by spinning
/// briefly before they sleep.
///
/// A forward pass is a chain of short loops: at batch 1 most layers take 0.1–0.5 ms. Dispatch's
/// `concurrentPerform` on Linux often woke its second thread late, after the caller had done
/// much or all of such a loop (`veil-compare loop-latency` shows it), so batch-1 passes
/// hardly used the second core. Here the workers are already awake when the next layer
/// starts. One loop runs at a time; a second caller, or a loop nested in a loop, gets `false`
/// from ``run(parts:_:)`` and takes Dispatch instead. Elsewhere than Linux, Dispatch does
/// this well, and the pool declines every loop.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    #if os(Linux)
    /// The most workers the pool starts; wider loops take Dispatch.
    static let capacity = 63

    /// How long a waiting thread keeps checking before it sleeps: longer than the gap
    /// between two layers, short enough that an idle pool soon stops taking CPU from the
    /// decoding threads beside it.
    static let spin = Duration.microseconds(200)

    /// The current loop: a count bumped for every loop, times 256, plus the loop's parts. A
    /// worker answers a loop when it sees a value it has not seen, and only if its index is
    /// below the parts; the others never read `job`.
    private let generation = Atomic<Int>(0)
    /// Workers that have not yet finished their chunk of the current loop.
    private let unfinished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    /// Where sleeping threads wait; taken only to sleep and to wake them.
    private let condition = NSCondition()
    /// Written by the loop's caller before it publishes the loop in `generation`, read by the
    /// loop's workers after they see it: the atomic's release and acquire order them, and the
    /// caller writes it again only once every one of them has finished.
    private var job: (@Sendable (Int) -> Void)?
    /// Threads started; changed only by the caller that holds `busy`.
    private var workers = 0
    #endif

    /// Runs `chunk(0)` on the calling thread and `chunk(1)` … `chunk(parts - 1)` on the
    /// pool's workers, and returns when all have finished; returns `false`, having run
    /// nothing, when the pool is busy or `parts` is beyond its capacity.
    func run(parts: Int, _ chunk: @escaping @Sendable (Int) -> Void) -> Bool {
        #if os(Linux)
        guard parts >= 2, parts - 1 <= Self.capacity,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        let previous = generation.load(ordering: .relaxed)
        while workers < parts - 1 {
            workers += 1
            // A new worker starts from the loop before this one, so that it cannot take
            // that loop for its first. Workers hold the pool for as long as the process runs.
            let thread = Thread { [self, index = workers] in self.work(index: index, seen: previous) }
            thread.name = "veil-compute"
            thread.start()
        }
        job = chunk
        unfinished.store(parts - 1, ordering: .relaxed)
        generation.store(((previous >> 8) &+ 1) << 8 | parts, ordering: .releasing)
        condition.lock()
        condition.broadcast()
        condition.unlock()

        chunk(0)

        wait { $0.unfinished.load(ordering: .acquiring) == 0 }
        job = nil
        busy.store(false, ordering: .releasing)
        return true
        #else
        return false
        #endif
    }

    #if os(Linux)
    /// Worker `index` runs chunk `index` of every loop that has more parts than that.
    private func work(index: Int, seen: Int) {
        var seen = seen
        while true {
            wait { $0.generation.load(ordering: .acquiring) != seen }
            // A loop this worker takes part in cannot be followed by another until the
            // worker finishes, so this is the value the wait saw, or a later loop it skipped.
            seen = generation.load(ordering: .acquiring)
            guard index < seen & 255 else { continue }
            job?(index)
            if unfinished.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// Returns once `ready` holds: checks it for ``spin``, then sleeps until a broadcast.
    /// Whoever makes `ready` true broadcasts after doing so, under the lock, so a thread
    /// that checked under the lock and went to sleep cannot miss it.
    private func wait(until ready: (WorkerPool) -> Bool) {
        let clock = ContinuousClock(), start = clock.now
        var checks = 0, yielding = false
        while !ready(self) {
            checks += 1
            // After a short pure spin, offer the core to any other runnable thread between
            // checks: the decoders of `veil score`, or, when the machine is oversubscribed,
            // the very thread this one waits for. With none, the call returns at once. A
            // yield can take a time slice, so then the clock is read after every one.
            if yielding { sched_yield() }
            if yielding || checks & 63 == 0 {
                let waited = clock.now - start
                yielding = waited >= Self.spin / 4
                if waited >= Self.spin {
                    condition.lock()
                    while !ready(self) { condition.wait() }
                    condition.unlock()
                    return
                }
            }
        }
    }
    #endif
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

/// `count` things (columns, rows, tiles) cut into `parts` runs of whole `unit`s, as even as
/// whole units allow, for ``Runtime/share(_:_:)``: the threads start on contiguous shares of
/// the runs, so runs of one size give every thread the same work.
///
/// Cut instead into runs of the largest size, with a short one left at the end, the share
/// holding that one was short by nearly a run: at batch 1 on two threads most products were
/// shared by rows as 36 + 36 + 36 + 36 rows against 36 + 36 + 36 + 4, and the second thread
/// finished an eighth early, too late to take a run from the first.
package struct EvenRuns: Sendable, Equatable {
    /// The things, the size they are cut at, and the runs (no more than there are units).
    package let count: Int, unit: Int, parts: Int
    /// The most things any run holds, to size a run's buffers.
    package let longest: Int
    private let units: Int

    package init(count: Int, unit: Int, parts: Int) {
        precondition(count >= 0 && unit >= 1, "runs of \(count) things in units of \(unit)")
        let units = (count + unit - 1) / unit, parts = max(1, min(parts, units))
        (self.count, self.unit, self.units, self.parts) = (count, unit, units, parts)
        longest = (0..<parts).map { Self.run($0, count: count, unit: unit, units: units, parts: parts).count }.max() ?? 0
    }

    /// Run `i`: whole units from the start, the last run ending at `count`.
    package subscript(_ i: Int) -> Range<Int> { Self.run(i, count: count, unit: unit, units: units, parts: parts) }

    private static func run(_ i: Int, count: Int, unit: Int, units: Int, parts: Int) -> Range<Int> {
        min(count, unit * (units * i / parts))..<min(count, unit * (units * (i + 1) / parts))
    }
}
