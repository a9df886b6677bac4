import Foundation

/// Layers that combine or reshape tensors without arithmetic-heavy inner loops.
package enum Elementwise {
    /// `a + b`, then `activation`; both must have the same shape.
    package static func add(_ a: Tensor, _ b: Tensor, activation: Activation) throws -> Tensor {
        var out = a
        try addInPlace(&out, b, activation: activation)
        return out
    }

    /// `a = activation(a + b)`, reusing `a`'s storage when it is uniquely referenced.
    package static func addInPlace(_ out: inout Tensor, _ b: Tensor, activation: Activation) throws {
        guard out.shape == b.shape else { throw TensorShapeError("cannot add \(out.shape) and \(b.shape)") }
        let relu = activation == .relu
        out.storage.withUnsafeMutableBufferPointer { dst in
            b.storage.withUnsafeBufferPointer { src in
                let base = dst.baseAddress!
                let count = dst.count
                let chunks = max(1, min(64, count / 65_536))
                Runtime.current.parallelFor(chunks) { chunk in
                    let start = count * chunk / chunks, end = count * (chunk + 1) / chunks
                    if relu {
                        for i in start..<end { base[i] = rectified(base[i] + src[i]) }
                    } else {
                        for i in start..<end { base[i] += src[i] }
                    }
                }
            }
        }
    }

    /// `max(0, x)`.
    package static func relu(_ x: Tensor) -> Tensor {
        var out = x
        for i in out.storage.indices { out.storage[i] = rectified(out.storage[i]) }
        return out
    }

    /// Channels of all `inputs`, in order; every other dimension must agree. With Veil's
    /// channel-major layout this is a plain append.
    package static func concatChannels(_ inputs: [Tensor]) throws -> Tensor {
        guard let first = inputs.first else { throw TensorShapeError("concat needs at least one input") }
        var storage = [Float]()
        storage.reserveCapacity(inputs.reduce(0) { $0 + $1.shape.count })
        var channels = 0
        for t in inputs {
            guard t.shape.batch == first.shape.batch, t.shape.height == first.shape.height,
                  t.shape.width == first.shape.width else {
                throw TensorShapeError("cannot concatenate \(t.shape) with \(first.shape)")
            }
            storage.append(contentsOf: t.storage)
            channels += t.shape.channels
        }
        var shape = first.shape
        shape.channels = channels
        return Tensor(shape: shape, storage: storage)
    }

    /// `x` with `extra` zero channels appended (ResNet-style shortcuts that widen).
    package static func padChannels(_ x: Tensor, extra: Int) -> Tensor {
        var shape = x.shape
        shape.channels += extra
        var storage = x.storage
        storage.append(contentsOf: repeatElement(0, count: extra * x.shape.batch * x.shape.plane))
        return Tensor(shape: shape, storage: storage)
    }

    /// Each image's `(C, H, W)` values, read in that order, regrouped as `shape` (channels,
    /// height, width): the per-image reshape of NCHW frameworks, carried over to Veil's
    /// channel-major layout.
    package static func reshapePerImage(_ x: Tensor, to shape: (channels: Int, height: Int, width: Int)) throws -> Tensor {
        let perImage = x.shape.channels * x.shape.plane
        guard shape.channels * shape.height * shape.width == perImage, shape.channels > 0, shape.height > 0, shape.width > 0 else {
            throw TensorShapeError("cannot reshape \(x.shape) to \(shape.channels)x\(shape.height)x\(shape.width) per image")
        }
        let images = (0..<x.shape.batch).map { x.image($0) }
        return Tensor(batchNCHW: images, channels: shape.channels, height: shape.height, width: shape.width)
    }

    /// Softmax across channels, independently for every image and position.
    package static func softmaxChannels(_ x: Tensor) -> Tensor {
        var out = x
        let c = x.shape.channels, stride = x.shape.batch * x.shape.plane
        for i in 0..<stride {
            var peak = -Float.infinity
            for k in 0..<c { peak = max(peak, x.storage[k * stride + i]) }
            var total: Float = 0
            for k in 0..<c {
                let e = expf(x.storage[k * stride + i] - peak)
                out.storage[k * stride + i] = e
                total += e
            }
            for k in 0..<c { out.storage[k * stride + i] /= total }
        }
        return out
    }

    /// The logistic function `1 / (1 + e^-x)`, element by element.
    package static func sigmoid(_ x: Tensor) -> Tensor {
        var out = x
        for i in out.storage.indices { out.storage[i] = 1 / (1 + expf(-out.storage[i])) }
        return out
    }
}

/// A fully connected (inner product) layer: `y = W · x + b` per image, with `W` stored
/// `(outputs, inputs)` row-major and `x` each image's `(C, H, W)` values flattened.
package struct FullyConnected: Sendable {
    /// Values per image in.
    package let inputs: Int
    /// Values per image out.
    package let outputs: Int
    /// Applied after the bias.
    package let activation: Activation
    let weights: PackedMatrix
    let bias: [Float]

    /// Creates the layer, checking the weight and bias sizes.
    package init(inputs: Int, outputs: Int, weights: [Float], bias: [Float]?, activation: Activation = .none) throws {
        guard weights.count == inputs * outputs else {
            throw TensorShapeError("fully connected weights hold \(weights.count) values, expected \(outputs)x\(inputs)")
        }
        if let bias, bias.count != outputs {
            throw TensorShapeError("fully connected bias holds \(bias.count) values, expected \(outputs)")
        }
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights.withUnsafeBufferPointer { w in
            PackedMatrix(w.baseAddress!, lda: inputs, rows: outputs, columns: inputs)
        }
        self.bias = bias ?? [Float](repeating: 0, count: outputs)
        self.activation = activation
    }

    /// The output shape: `outputs` channels of 1×1 per image.
    package func outputShape(for input: Tensor.Shape) throws -> Tensor.Shape {
        guard input.channels * input.plane == inputs else {
            throw TensorShapeError("fully connected layer expects \(inputs) values per image, got \(input)")
        }
        return Tensor.Shape(channels: outputs, batch: input.batch, height: 1, width: 1)
    }

    /// Applies the layer.
    package func forward(_ input: Tensor) -> Tensor {
        let n = input.shape.batch
        // (C, N, H, W) is a [inputs × N] matrix only when H = W = 1; otherwise gather each
        // image's values first.
        let columns: [Float]
        if input.shape.plane == 1 {
            columns = input.storage
        } else {
            var gathered = [Float](repeating: 0, count: inputs * n)
            for image in 0..<n {
                let values = input.image(image)
                for i in 0..<inputs { gathered[i * n + image] = values[i] }
            }
            columns = gathered
        }
        var output = Tensor(zeros: Tensor.Shape(channels: outputs, batch: n, height: 1, width: 1))
        columns.withUnsafeBufferPointer { x in
            output.storage.withUnsafeMutableBufferPointer { y in
                let scratch = GemmScratch(columns: n)
                defer { scratch.deallocate() }
                weights.multiply(x.baseAddress!, ldb: n, n: n, into: y.baseAddress!, ldc: n, scratch: scratch)
            }
        }
        for o in 0..<outputs {
            for image in 0..<n {
                let v = output.storage[o * n + image] + bias[o]
                output.storage[o * n + image] = activation == .relu ? rectified(v) : v
            }
        }
        return output
    }
}
