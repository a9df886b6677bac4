import Dispatch
import Foundation
import VeilTensor

extension Array where Element: Sendable {
    /// `map` over `threads` threads, results in order. For per-image
    /// preprocessing before a forward pass: done one image at a time, it left all cores but
    /// one idle between passes.
    func parallelMap<T: Sendable>(threads: Int, _ transform: @Sendable (Element) -> T) -> [T] {
        let workers = Swift.min(count, threads)
        guard workers > 1 else { return map(transform) }
        let results = LockedValue([T?](repeating: nil, count: count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for i in (count * worker / workers)..<(count * (worker + 1) / workers) {
                let value = transform(self[i])
                results.withLock { $0[i] = value }
            }
        }
        return results.withLock { $0.map { $0! } }
    }
}
