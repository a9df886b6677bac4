import Testing
@testable import VeilTensor

/// Known pixels for the layers BlazeFace full range adds. The model-level check is
/// FaceDetectorTests, against the TFLite interpreter.
struct ResamplingTests {
    /// 2× upsampling of [[0, 1], [2, 3]] with half-pixel centres. TensorFlow (and PyTorch with
    /// align_corners=False) give rows [0, .25, .75, 1] and [.5, .75, 1.25, 1.5] for the
    /// first two output rows: samples at -0.25, 0.25, 0.75, 1.25 clamped to the image.
    @Test func halfPixelUpsampling() {
        let x = Tensor(shape: .init(channels: 1, batch: 1, height: 2, width: 2), storage: [0, 1, 2, 3])
        let y = Resampling.resizeBilinear(x, height: 4, width: 4, alignCorners: false, halfPixelCenters: true)
        #expect(y.storage == [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3])
    }

    /// Without half-pixel centres, TensorFlow's legacy sampling: output i reads input i/2.
    @Test func legacyUpsampling() {
        let x = Tensor(shape: .init(channels: 1, batch: 1, height: 1, width: 2), storage: [0, 1])
        let y = Resampling.resizeBilinear(x, height: 1, width: 4, alignCorners: false, halfPixelCenters: false)
        #expect(y.storage == [0, 0.5, 1, 1])
        let corners = Resampling.resizeBilinear(x, height: 1, width: 3, alignCorners: true, halfPixelCenters: false)
        #expect(corners.storage == [0, 0.5, 1])
    }

    /// Two images of 8 channels, 1×1 each, block 2: image n's channel (dy·2 + dx)·2 + c lands
    /// in its channel c at (dy, dx); the batch stays apart.
    @Test func depthToSpaceUsesTensorFlowsOrder() {
        // Storage is channel-major, then image: value = 100·image + channel.
        var storage: [Float] = []
        for c in 0..<8 { for n in 0..<2 { storage.append(Float(100 * n + c)) } }
        let x = Tensor(shape: .init(channels: 8, batch: 2, height: 1, width: 1), storage: storage)
        let y = Resampling.depthToSpace(x, blockSize: 2)
        #expect(y.shape == .init(channels: 2, batch: 2, height: 2, width: 2))
        for n in 0..<2 {
            for c in 0..<2 {
                let plane = Array(y.storage[((c * 2 + n) * 4)..<((c * 2 + n) * 4 + 4)])
                // (dy, dx) = (0,0), (0,1), (1,0), (1,1) in row-major order.
                #expect(plane == [0, 1, 2, 3].map { Float(100 * n + $0 * 2 + c) }, "image \(n) channel \(c)")
            }
        }
    }
}
