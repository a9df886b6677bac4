import VeilKernels

/// A dense, contiguous array of `Float`s with a four-dimensional shape.
///
/// ## Layout
/// Veil's engine keeps activations **channel-major across the batch**: `(C, N, H, W)`, with
/// `W` varying fastest. Each channel is one contiguous run of `N × H × W` values holding that
/// channel for every image in the batch. The point is the GEMM shape: a convolution is
/// `weights[Cout × K] · columns[K × (N·H·W)]`, so the whole batch forms one wide matrix and
/// the output comes back in the same layout, with no transposes between layers. A 1×1
/// convolution is then a single GEMM straight on the input. Conversion from and to the
/// usual per-image `(N, C, H, W)` happens once, at the edges (``init(batchNCHW:)`` and
/// ``image(_:)``).
///
/// Inside a network whose layers all have kernels for it (a ResNet from its stem to its
/// global pool), activations have their channels in blocks of 16 instead
/// (``Shape/blocked``, ``BlockedChannels``): a position's 16 channels of a block side by side.
/// A 1×1 convolution then reads its input where it lies and keeps its sums in registers
/// until the bias, shortcut and activation are added, with neither a packed copy of the
/// input nor a pass of its own over the output. The graph compiler chooses the layout per
/// tensor; a model's inputs and outputs always have planes.
///
/// ## Ownership and threading
/// `Tensor` is a value type over a copy-on-write array: copies are cheap until written,
/// and a tensor may be sent between threads.
package struct Tensor: Sendable, Equatable {
    /// The dimensions of a tensor, in Veil's `(C, N, H, W)` order.
    package struct Shape: Hashable, Sendable, CustomStringConvertible {
        /// Channels.
        package var channels: Int
        /// Images in the batch.
        package var batch: Int
        /// Rows per image.
        package var height: Int
        /// Columns per image.
        package var width: Int
        /// Whether the channels are in blocks (``BlockedChannels``): for each block of 16
        /// channels, every position of every image, each with the block's channels side by
        /// side, the last block padded to 16 with values that no kernel reads. Otherwise
        /// `(C, N, H, W)`.
        package var blocked: Bool

        /// Creates a shape.
        package init(channels: Int, batch: Int, height: Int, width: Int, blocked: Bool = false) {
            self.channels = channels
            self.batch = batch
            self.height = height
            self.width = width
            self.blocked = blocked
        }

        /// The number of elements, the padding channels of a blocked layout included.
        package var count: Int { (blocked ? blocks * BlockedChannels.width : channels) * batch * height * width }
        /// Elements in one channel of one image.
        package var plane: Int { height * width }
        /// Positions of the whole batch: a blocked layout's floats per block, over 16.
        package var positions: Int { batch * height * width }
        /// Blocks of channels in the blocked layout.
        package var blocks: Int { BlockedChannels.blocks(channels) }
        /// The same dimensions in the other layout.
        package func laidOut(blocked: Bool) -> Shape {
            Shape(channels: channels, batch: batch, height: height, width: width, blocked: blocked)
        }
        /// `"CxNxHxW"`, then the layout if blocked.
        package var description: String { "\(channels)x\(batch)x\(height)x\(width) (CxNxHxW\(blocked ? ", channels in blocks of 16" : ""))" }
    }

    /// The dimensions.
    package private(set) var shape: Shape
    /// The elements in `(C, N, H, W)` order.
    package var storage: [Float]

    /// A zero-filled tensor.
    package init(zeros shape: Shape) {
        self.shape = shape
        self.storage = [Float](repeating: 0, count: shape.count)
    }

    /// A tensor whose elements are not set: for kernels that write every element before
    /// anything reads it, which saves a full pass of memory traffic per layer.
    init(uninitialized shape: Shape) {
        self.shape = shape
        self.storage = [Float](unsafeUninitializedCapacity: shape.count) { _, count in count = shape.count }
    }

    /// Wraps `storage`, which must hold `shape.count` elements in `(C, N, H, W)` order.
    package init(shape: Shape, storage: [Float]) {
        precondition(storage.count == shape.count, "tensor \(shape) needs \(shape.count) values, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// Builds a batch from per-image `(C, H, W)` arrays, all of the same size.
    package init(batchNCHW images: [[Float]], channels: Int, height: Int, width: Int) {
        let plane = height * width
        let shape = Shape(channels: channels, batch: images.count, height: height, width: width)
        var storage = [Float](repeating: 0, count: shape.count)
        for (n, image) in images.enumerated() {
            precondition(image.count == channels * plane, "image \(n) has \(image.count) values, expected \(channels * plane)")
            for c in 0..<channels {
                let dst = (c * images.count + n) * plane
                storage.replaceSubrange(dst..<(dst + plane), with: image[(c * plane)..<((c + 1) * plane)])
            }
        }
        self.init(shape: shape, storage: storage)
    }

    /// Image `n` of the batch as a `(C, H, W)` array.
    package func image(_ n: Int) -> [Float] {
        precondition(!shape.blocked, "images of a tensor with blocked channels")
        var out = [Float]()
        out.reserveCapacity(shape.channels * shape.plane)
        for c in 0..<shape.channels {
            let start = (c * shape.batch + n) * shape.plane
            out.append(contentsOf: storage[start..<(start + shape.plane)])
        }
        return out
    }

    /// Images `range` of the batch, as a batch of their own.
    package func images(_ range: Range<Int>) -> Tensor {
        precondition(!shape.blocked, "images of a tensor with blocked channels")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape.batch, "images \(range) of \(shape)")
        var part = shape
        part.batch = range.count
        var result = Tensor(uninitialized: part)
        let run = range.count * shape.plane
        storage.withUnsafeBufferPointer { from in
            result.storage.withUnsafeMutableBufferPointer { to in
                for c in 0..<shape.channels {
                    (to.baseAddress! + c * run).update(from: from.baseAddress! + (c * shape.batch + range.lowerBound) * shape.plane,
                                                       count: run)
                }
            }
        }
        return result
    }

    /// The batches `parts`, one after the other, as one batch; all have the same channels
    /// and image size.
    package init(concatenatingBatches parts: [Tensor]) {
        precondition(!parts.isEmpty, "no batches to concatenate")
        var shape = parts[0].shape
        precondition(!shape.blocked, "batches of tensors with blocked channels")
        shape.batch = parts.reduce(0) { $0 + $1.shape.batch }
        self.init(uninitialized: shape)
        storage.withUnsafeMutableBufferPointer { to in
            var first = 0
            for part in parts {
                precondition(part.shape.channels == shape.channels && part.shape.plane == shape.plane,
                             "cannot concatenate \(part.shape) with \(shape)")
                let run = part.shape.batch * shape.plane
                part.storage.withUnsafeBufferPointer { from in
                    for c in 0..<shape.channels {
                        (to.baseAddress! + (c * shape.batch + first) * shape.plane).update(from: from.baseAddress! + c * run, count: run)
                    }
                }
                first += part.shape.batch
            }
        }
    }

    /// The same elements under a new shape with the same count.
    package func reshaped(_ newShape: Shape) -> Tensor {
        precondition(newShape.count == shape.count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: newShape, storage: storage)
    }
}

/// Storage of tensors that a computation no longer needs, for later layers of the same size.
///
/// Why: a fresh multi-megabyte array is mapped by the OS page by page on first touch, and
/// zeroed; for a network whose layers are all memory-bound that cost a sixth of the forward
/// pass. A ``Model`` run hands each dead activation to its pool and layers take their
/// outputs from it, so the repeated blocks of a network reuse one another's storage, and
/// the next run reuses this one's.
///
/// The pool is bounded: it holds at most ``limitInLargestTensors`` times the largest tensor
/// it has seen, dropping the least recently returned storage first. Layers reuse storage
/// freed a few layers earlier, so that is enough for a ResNet's stages, while a network whose
/// tensors all differ in size (a face detector run over tiles) does not pile up every size
/// it ever freed. A pool is a value used by one computation at a time.
package struct TensorPool: Sendable {
    /// Oldest first.
    private var spare: [[Float]] = []
    private var heldFloats = 0
    private var largest = 0

    /// Three, not two: with twice the largest, open_nsfw at batch 16 dropped its stem's output
    /// (51 MB) every run and mapped it afresh, which made the stem take twice as long (103 vs
    /// 53 ms at one thread; `veil-compare forward-cpu 1` took 131,600 page faults instead of
    /// 63,400); peak RSS was the same with three.
    static let limitInLargestTensors = 3

    /// An empty pool.
    package init() {}

    /// A tensor of `shape` whose elements are unspecified: reused storage when the pool has
    /// some of that size. Only for kernels that write every element before reading any.
    mutating func uninitialized(_ shape: Tensor.Shape) -> Tensor {
        largest = max(largest, shape.count)
        if let index = spare.lastIndex(where: { $0.count == shape.count }) {
            heldFloats -= shape.count
            return Tensor(shape: shape, storage: spare.remove(at: index))
        }
        return Tensor(uninitialized: shape)
    }

    /// Keeps `tensor`'s storage for a later tensor of the same element count, within the
    /// bound. Storage still shared with a live tensor is safe to hand over: arrays copy on write.
    package mutating func recycle(_ tensor: Tensor) {
        let count = tensor.storage.count
        largest = max(largest, count)
        guard count <= Self.limitInLargestTensors * largest else { return }
        spare.append(tensor.storage)
        heldFloats += count
        while heldFloats > Self.limitInLargestTensors * largest, !spare.isEmpty {
            heldFloats -= spare.removeFirst().count
        }
    }

    /// Floats held, for tests.
    var held: Int { heldFloats }
}
