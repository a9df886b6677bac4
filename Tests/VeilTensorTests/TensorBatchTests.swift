import Testing
@testable import VeilTensor

/// Cutting a batch into groups and putting it back together, which ``Model`` does to give
/// each thread whole images, checked against the per-image arrays the batch was built from.
struct TensorBatchTests {
    /// Image `n` holds `1000 n + i` at index `i` of its `(C, H, W)` array.
    static func images(_ count: Int, channels: Int = 3, height: Int = 2, width: Int = 5) -> [[Float]] {
        (0..<count).map { n in (0..<(channels * height * width)).map { Float(1000 * n + $0) } }
    }

    @Test func imagesOfABatchAreThoseImages() {
        let images = Self.images(7)
        let batch = Tensor(batchNCHW: images, channels: 3, height: 2, width: 5)
        for range in [0..<7, 0..<1, 2..<5, 6..<7] {
            let part = batch.images(range)
            #expect(part.shape == .init(channels: 3, batch: range.count, height: 2, width: 5))
            for (k, n) in range.enumerated() {
                #expect(part.image(k) == images[n], "image \(n) as image \(k) of \(range)")
            }
        }
    }

    @Test func concatenatedGroupsAreTheWholeBatch() {
        let images = Self.images(9, channels: 4, height: 3, width: 3)
        let whole = Tensor(batchNCHW: images, channels: 4, height: 3, width: 3)
        let groups = [0..<2, 2..<3, 3..<7, 7..<9].map { Tensor(batchNCHW: Array(images[$0]), channels: 4, height: 3, width: 3) }
        let joined = Tensor(concatenatingBatches: groups)
        #expect(joined == whole)
        #expect(Tensor(concatenatingBatches: [whole.images(0..<4), whole.images(4..<9)]) == whole)
    }
}
