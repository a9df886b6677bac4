import Dispatch
import Foundation
import Testing
@testable import VeilTensor

/// The runtime is a value handed down, not process state: two models with different thread
/// counts can run at once, and nothing outside a forward pass changes.
struct RuntimeTests {
    @Test func threadCountIsScopedToTheCallThatEntersIt() {
        #expect(Runtime.current.threads == 1, "outside any forward pass Veil uses one thread")
        Runtime(threads: 3).enter {
            #expect(Runtime.current.threads == 3)
            Runtime(threads: 2).enter { #expect(Runtime.current.threads == 2) }
            #expect(Runtime.current.threads == 3)
        }
        #expect(Runtime.current.threads == 1)
        #expect(Runtime(threads: 0).threads == 1, "a count below 1 means 1, never a trap")
    }

    /// Two threads in two runtimes at once each see their own count.
    @Test func concurrentRuntimesDoNotSeeEachOther() {
        let seen = LockedValue([Int: Int]())
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let wanted = i + 2
            Runtime(threads: wanted).enter {
                for _ in 0..<1000 where Runtime.current.threads != wanted { seen.withLock { $0[i] = Runtime.current.threads } }
            }
        }
        #expect(seen.withLock { $0 }.isEmpty)
    }

    /// Products split over two workers give the exact sums (small integers are exact in
    /// single precision, so any split or lost part would show).
    @Test func splitProductsAreExact() {
        var c = [Float](repeating: 0, count: 64 * 64)
        Runtime(threads: 2).enter {
            MatrixMultiply.multiply(m: 64, n: 64, k: 64, a: .init(repeating: 1, count: 4096), b: .init(repeating: 2, count: 4096), into: &c)
        }
        #expect(c.allSatisfy { $0 == 128 })
        var d = [Float](repeating: 0, count: 4)
        MatrixMultiply.multiply(m: 2, n: 2, k: 2, a: [1, 2, 3, 4], b: [5, 6, 7, 8], into: &d)
        #expect(d == [19, 22, 43, 50])
    }

    /// The automatic runtime never plans more threads than cores once OpenBLAS's own threads
    /// are counted in.
    @Test func automaticRuntimeLeavesRoomForOpenBLASThreads() {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(Runtime.automatic.threads * max(1, BLASDiagnostics.threadCount) <= max(cores, BLASDiagnostics.threadCount))
        #expect(Runtime.automatic.threads >= 1)
    }

    /// The kernel choice for CPUs OpenBLAS 0.3.21 does not recognise. Only the pure choice is
    /// tested here: the `veil` command's set-up changes the whole process, so it is tested
    /// through the binary (`ProcessTuningTests`), never inside this test run.
    @Test func kernelsFollowTheCPUFlags() {
        let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]
        #expect(BLASDiagnostics.bestCore(for: avx512) == "SkylakeX")
        // AVX-512 Foundation alone (Xeon Phi) lacks the BW/VL/DQ parts the SkylakeX kernels use.
        #expect(BLASDiagnostics.bestCore(for: ["avx2", "fma", "avx512f"]) == "Haswell")
        #expect(BLASDiagnostics.bestCore(for: ["avx", "avx2"]) == nil, "AVX2 without FMA")
        #expect(BLASDiagnostics.bestCore(for: ["sse3", "ssse3"]) == nil)
    }
}

/// `parallelFor` runs every index exactly once, whichever way it gets its threads: the
/// compute pool, or Dispatch when the pool is taken (a loop inside a loop, two callers).
struct ParallelForTests {
    /// Counts of each index over many loops of changing widths; a chunk run twice or
    /// skipped, or a worker reading the next loop's job, would show as a count off by one.
    @Test(arguments: [2, 3, 5])
    func everyIndexRunsOnceInEveryLoop(threads: Int) {
        let iterations = 37, loops = 400
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: iterations)
        counts.initialize(repeating: 0, count: iterations)
        defer { counts.deallocate() }
        let shared = UncheckedSendable(counts)
        for loop in 0..<loops {
            // Narrower and wider loops in turn: workers without a chunk must stay out of them.
            let runtime = Runtime(threads: loop % 2 == 0 ? threads : 2)
            runtime.parallelFor(iterations) { i in shared.value[i] += 1 }
        }
        #expect((0..<iterations).allSatisfy { counts[$0] == loops }, "\((0..<iterations).map { counts[$0] })")
    }

    /// A loop inside a loop, and loops from two threads at once, finish with every index.
    @Test func nestedAndConcurrentLoopsComplete() {
        let total = LockedValue(0)
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            for _ in 0..<50 {
                Runtime(threads: 2).parallelFor(4) { _ in
                    Runtime(threads: 2).parallelFor(3) { _ in total.withLock { $0 += 1 } }
                }
            }
        }
        #expect(total.withLock { $0 } == 2 * 50 * 4 * 3)
    }

    #if os(Linux)
    /// The pool's reason to exist: the second chunk of a short loop runs on a second thread
    /// instead of waiting for the caller to finish the first.
    @Test func poolRunsChunksOnTheirOwnThreads() {
        let pool = WorkerPool()
        for _ in 0..<20 {
            let threads = LockedValue(Set<UInt>())
            let ran = pool.run(parts: 3) { _ in
                threads.withLock { _ = $0.insert(pthread_self()) }
                // Long enough that one thread running two chunks would be seen.
                let start = ContinuousClock.now
                while ContinuousClock.now - start < .microseconds(200) {}
            }
            #expect(ran, "an idle pool takes the loop")
            #expect(threads.withLock { $0.count } == 3)
        }
        // Busy: a loop posted from inside one of its chunks is declined, not deadlocked.
        let inner = LockedValue([Bool]())
        _ = pool.run(parts: 2) { _ in
            let accepted = pool.run(parts: 2) { _ in }
            inner.withLock { $0.append(accepted) }
        }
        #expect(inner.withLock { $0 } == [false, false])
        #expect(!pool.run(parts: WorkerPool.capacity + 2) { _ in }, "wider than the pool")
    }

    /// A pool that grows after its first loops: its new workers must not take an old loop
    /// for theirs, and a loop must not return before every chunk has run, once.
    @Test func aGrowingPoolRunsEveryChunkOnceBeforeReturning() {
        let pool = WorkerPool()
        for round in 0..<300 {
            let parts = [2, 2, 3, 5, 2, 4][round % 6]
            let runs = LockedValue([Int](repeating: 0, count: parts))
            let ran = pool.run(parts: parts) { part in
                // The workers' chunks take a little while, so that a loop that returned
                // early would find them unfinished below.
                if part > 0 { let start = ContinuousClock.now; while ContinuousClock.now - start < .microseconds(20) {} }
                runs.withLock { $0[part] += 1 }
            }
            #expect(ran)
            let counts = runs.withLock { $0 }
            #expect(counts == [Int](repeating: 1, count: parts), "round \(round): chunk runs \(counts)")
        }
    }
    #endif
}

/// `Runtime.share` hands every item to exactly one thread, and a thread that finishes its
/// own share takes what is left of another's, from the far end. Items that take no time
/// make the threads race for the same shares: an owner and a thief for a share's last
/// item, and thieves for one another's.
struct ShareTests {
    @Test(arguments: [1, 2, 3, 5])
    func everyItemIsTakenOnce(threads: Int) {
        for items in [0, 1, 2, 7, 37, 200, 5000] {
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(1, items))
            counts.initialize(repeating: 0, count: max(1, items))
            defer { counts.deallocate() }
            let shared = UncheckedSendable(counts)
            for _ in 0..<50 {
                Runtime(threads: threads).share(items) { claimed in
                    while let item = claimed.next() { shared.value[item] += 1 }
                }
            }
            #expect((0..<items).allSatisfy { counts[$0] == 50 }, "\(items) items: \((0..<items).map { counts[$0] })")
        }
    }

    /// The order of claims, without threads: each thread starts on its own contiguous share;
    /// one that runs out takes the last item of the share with the most left, so the
    /// owner keeps going forward from where it is.
    @Test func aThreadThatRunsOutTakesFromTheEndOfTheLongestShare() {
        let shares = WorkShares(items: 10, threads: 2)  // shares 0..<5 and 5..<10
        #expect(shares.claim(for: 0) == 0)
        #expect((0..<5).map { _ in shares.claim(for: 1) } == [5, 6, 7, 8, 9])
        #expect(shares.claim(for: 1) == 4)
        #expect(shares.claim(for: 1) == 3)
        #expect(shares.claim(for: 0) == 1)
        #expect(shares.claim(for: 0) == 2)
        #expect(shares.claim(for: 0) == nil)
        #expect(shares.claim(for: 1) == nil)

        let three = WorkShares(items: 7, threads: 3)  // 0..<2, 2..<4, 4..<7
        #expect([three.claim(for: 0), three.claim(for: 0)] == [0, 1])
        #expect(three.claim(for: 0) == 6, "the longest share is the third")
        #expect(three.claim(for: 0) == 3, "then the second and the third have two each; the first of them")
    }
}

/// `EvenRuns` cuts things into runs of whole units that the threads' contiguous shares
/// divide evenly.
struct EvenRunsTests {
    @Test func runsCoverEverythingInOrderInWholeUnits() {
        for count in [0, 1, 5, 49, 128, 196, 784, 3136] { for unit in [1, 6, 32] { for parts in [1, 2, 3, 8, 40] {
            let runs = EvenRuns(count: count, unit: unit, parts: parts)
            let all = (0..<runs.parts).map { runs[$0] }
            let label = "\(count) in units of \(unit), \(parts) parts: \(all)"
            #expect(runs.parts >= 1 && runs.parts <= max(1, parts) && runs.parts <= max(1, (count + unit - 1) / unit), "\(label)")
            #expect(all.first?.lowerBound == 0 && all.last?.upperBound == count, "\(label)")
            #expect(zip(all, all.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "\(label)")
            #expect(all.dropLast().allSatisfy { $0.upperBound % unit == 0 }, "\(label)")
            #expect(all.map(\.count).max() == runs.longest, "\(label)")
            let sizes = all.dropLast().map { $0.count / unit }
            #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= 1, "\(label)")
        } } }
    }

    /// The case that the type was made for: 128 output channels in six-row panels, eight
    /// runs for two threads. Cut as 18 × 7 + 2, the shares were 72 and 56 rows.
    @Test func contiguousSharesOfTheRunsAreEven() {
        for (count, unit, parts, threads) in [(128, 6, 8, 2), (256, 6, 8, 2), (3136, 32, 8, 2), (784, 32, 8, 2),
                                               (1024, 6, 12, 3), (49, 1, 4, 2)] {
            let runs = EvenRuns(count: count, unit: unit, parts: parts)
            let shares = (0..<threads).map { t in
                (runs.parts * t / threads..<runs.parts * (t + 1) / threads).reduce(0) { $0 + runs[$1].count }
            }
            #expect(shares.reduce(0, +) == count)
            #expect(shares.max()! - shares.min()! <= unit, "\(count) in units of \(unit), \(parts) parts: shares \(shares)")
        }
    }
}
