import VeilKernels

/// Two 1×1 convolutions of the same input, run as one product whose output channels are
/// the first's, then the second's: a ResNet's projection shortcut and the reducing layer
/// beside it, at the start of every stage.
///
/// Why: run apart, each read the input and packed its columns (at stride 2 after gathering
/// every other pixel), and each was a parallel loop of its own; the reducing layer, with a
/// quarter of the projection's channels, shared poorly between two threads. One product
/// does that work once. Every output element is the same chain of multiply-adds as in the
/// separate layers (the products' rows never mix), so the result has the same bits.
package struct SiblingConvolutions: Sendable {
    /// Both convolutions' weights and biases, the first's output channels first; no
    /// activation of its own.
    let merged: Convolution2D
    /// The first convolution's output channels.
    package let split: Int
    /// Which of the merged channels go through the ReLU.
    let rectified: Range<Int>
    /// Each part's activation, for the blocked kernel.
    let activations: (first: Activation, second: Activation)

    /// Joins two convolutions given as for ``Convolution2D/init(inputChannels:outputChannels:groups:window:weights:bias:activation:)``;
    /// throws unless both are ungrouped 1×1 convolutions with one window and one input.
    package init(inputChannels: Int, window: Window,
                 first: (outputChannels: Int, weights: [Float], bias: [Float]?, activation: Activation),
                 second: (outputChannels: Int, weights: [Float], bias: [Float]?, activation: Activation),
                 blockedChannels: Bool = false) throws {
        guard window.kernelHeight == 1, window.kernelWidth == 1 else {
            throw TensorShapeError("only 1x1 convolutions run as one product, not \(window)")
        }
        // Each part is checked alone first, so that an error names its own sizes.
        for (name, part) in [("first", first), ("second", second)] {
            guard part.outputChannels > 0, part.weights.count == part.outputChannels * inputChannels else {
                throw TensorShapeError("the \(name) convolution's weights hold \(part.weights.count) values, expected "
                                       + "\(part.outputChannels)x\(inputChannels)x1x1")
            }
            if let bias = part.bias, bias.count != part.outputChannels {
                throw TensorShapeError("the \(name) convolution's bias holds \(bias.count) values, expected \(part.outputChannels)")
            }
        }
        let total = first.outputChannels + second.outputChannels
        let bias = (first.bias ?? [Float](repeating: 0, count: first.outputChannels))
            + (second.bias ?? [Float](repeating: 0, count: second.outputChannels))
        // Over blocked channels the first's channels must end on a block, the second's start one.
        if blockedChannels && first.outputChannels % BlockedChannels.width != 0 {
            throw TensorShapeError("over channels in blocks, the first convolution's \(first.outputChannels) outputs must be a multiple of \(BlockedChannels.width)")
        }
        merged = try Convolution2D(inputChannels: inputChannels, outputChannels: total, window: window,
                                   weights: first.weights + second.weights, bias: bias, blockedChannels: blockedChannels)
        activations = (first.activation, second.activation)
        split = first.outputChannels
        let lower = first.activation == .relu ? 0 : split, upper = second.activation == .relu ? total : split
        // Either part, both or neither: always one range.
        rectified = lower..<max(lower, upper)
    }

    /// Input channels.
    package var inputChannels: Int { merged.inputChannels }
    /// The window both convolutions share.
    package var window: Window { merged.window }
    /// Output channels of each part.
    package var outputChannels: (first: Int, second: Int) { (split, merged.outputChannels - split) }

    /// Both outputs' shapes for `input`, or an error naming the mismatch.
    package func outputShapes(for input: Tensor.Shape) throws -> (first: Tensor.Shape, second: Tensor.Shape) {
        let whole = try merged.outputShape(for: input)
        var first = whole, second = whole
        first.channels = split
        second.channels = whole.channels - split
        return (first, second)
    }

    /// Both convolutions of `input`, whose shape must have passed ``outputShapes(for:)``;
    /// takes storage from `pool` when it can.
    package func forward(_ input: Tensor, pool: inout TensorPool) -> (first: Tensor, second: Tensor) {
        let shapes = try! outputShapes(for: input.shape)  // checked when the graph was planned
        var whole = shapes.first
        whole.channels = merged.outputChannels
        // Every element of both is written by the product's epilogue.
        var first = pool.uninitialized(shapes.first), second = pool.uninitialized(shapes.second)
        if input.shape.blocked {
            forwardBlocked(input, whole: whole, into: &first, &second, pool: &pool)
            return (first, second)
        }
        let epilogue = Epilogue(bias: merged.bias, rectified: rectified)
        first.storage.withUnsafeMutableBufferPointer { a in
            second.storage.withUnsafeMutableBufferPointer { b in
                let planes = OutputPlanes(a.baseAddress!, b.baseAddress!, split: split, total: whole.batch * whole.plane)
                merged.product(input, outShape: whole, into: planes, epilogue: epilogue, residual: nil, pool: &pool)
            }
        }
        return (first, second)
    }

    /// Both parts over blocked channels: one parallel loop, each part's blocks into its own
    /// tensor with its own activation.
    private func forwardBlocked(_ input: Tensor, whole: Tensor.Shape, into first: inout Tensor, _ second: inout Tensor,
                                pool: inout TensorPool) {
        guard let pointwise = merged.pointwise else { preconditionFailure("siblings over blocked channels are 1x1") }
        let window = merged.window, strided = window.strideY > 1 || window.strideX > 1
        let source = strided ? ChannelBlocks.strided(input, to: whole, strideY: window.strideY, strideX: window.strideX, pool: &pool)
            : input
        let splitBlock = split / BlockedChannels.width
        source.storage.withUnsafeBufferPointer { src in
            first.storage.withUnsafeMutableBufferPointer { a in
                second.storage.withUnsafeMutableBufferPointer { b in
                    pointwise.runShared(input: src.baseAddress!, positions: whole.positions, residual: nil, outputs: [
                        (a.baseAddress!, 0..<splitBlock, activations.first == .relu),
                        (b.baseAddress!, splitBlock..<pointwise.blocks, activations.second == .relu),
                    ])
                }
            }
        }
        if strided { pool.recycle(source) }
    }
}
