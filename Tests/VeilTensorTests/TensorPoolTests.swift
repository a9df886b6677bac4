import Testing
@testable import VeilTensor

/// The activation pool reuses storage of the same size and stays bounded whatever it is fed.
struct TensorPoolTests {
    func tensor(_ count: Int, _ value: Float) -> Tensor {
        Tensor(shape: .init(channels: 1, batch: 1, height: 1, width: count), storage: [Float](repeating: value, count: count))
    }

    @Test func reusesStorageOfTheSameSize() {
        var pool = TensorPool()
        pool.recycle(tensor(100, 7))
        let reused = pool.uninitialized(.init(channels: 2, batch: 1, height: 5, width: 10))
        #expect(reused.storage.count == 100 && reused.storage.allSatisfy { $0 == 7 }, "the recycled array came back")
        #expect(pool.held == 0)
        let fresh = pool.uninitialized(.init(channels: 1, batch: 1, height: 1, width: 30))
        #expect(fresh.storage.count == 30)
    }

    /// A face detector's tensors nearly all differ in size: the pool keeps at most a few times
    /// the largest it has seen, and keeps the most recently returned.
    @Test func staysBoundedWhenSizesNeverRepeat() {
        var pool = TensorPool()
        for count in 1...500 { pool.recycle(tensor(count, Float(count))) }
        #expect(pool.held <= TensorPool.limitInLargestTensors * 500)
        #expect(pool.held >= 500, "the newest storage is kept")
        let newest = pool.uninitialized(.init(channels: 1, batch: 1, height: 1, width: 500))
        #expect(newest.storage.first == 500)
        let before = pool.held
        _ = pool.uninitialized(.init(channels: 1, batch: 1, height: 1, width: 3))
        #expect(pool.held == before, "the oldest storage was dropped, so none of size 3 is left to reuse")
    }
}
