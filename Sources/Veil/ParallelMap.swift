import Dispatch
import Foundation
import VeilTensor

extension Array where Element: Sendable {
    /// `map` over `ComputeThreads.count` threads, results in order. For per-image
    /// preprocessing before a forward pass: done one image at a time, it left all cores but
    /// one idle between passes.
    func parallelMap<T: Sendable>(_ transform: @Sendable (Element) -> T) -> [T] {
        let workers = Swift.min(count, ComputeThreads.count)
        guard workers > 1 else { return map(transform) }
        let results = OrderedResults<T>(count: count)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for i in (count * worker / workers)..<(count * (worker + 1) / workers) {
                results.set(i, transform(self[i]))
            }
        }
        return results.values
    }
}

/// Results written by worker threads at distinct indices.
private final class OrderedResults<T>: @unchecked Sendable {
    private var storage: [T?]
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: T) { lock.lock(); storage[i] = value; lock.unlock() }
    var values: [T] { lock.lock(); defer { lock.unlock() }; return storage.map { $0! } }
}
