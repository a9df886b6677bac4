import VeilTensor

/// One compiled operation, reading and writing numbered tensor slots.
struct Step: Sendable {
    enum Operation: Sendable {
        case convolution(Convolution2D)
        case convolutionThenMaxPool(ConvolutionThenMaxPool)
        /// Writes ``Step/output`` and ``Step/secondOutput``.
        case siblingConvolutions(SiblingConvolutions)
        case pooling(Pooling)
        case fullyConnected(FullyConnected)
        case add(Activation)
        case relu
        case softmax
        case sigmoid
        case concat
        case padChannels(Int)
        case reshape(channels: Int, height: Int, width: Int)
        case resizeBilinear(height: Int, width: Int, alignCorners: Bool, halfPixelCenters: Bool)
        case depthToSpace(Int)
    }

    let name: String
    let operation: Operation
    let inputs: [Int]
    let output: Int
    /// The slot of a second output, for the operations that have one.
    var secondOutput: Int? = nil

    /// Runs the step and returns its output, and its second output if it has one. Input
    /// slots whose last reader this is are handed over (set to nil), so element-wise steps
    /// can reuse their storage instead of copying it.
    func execute(_ slots: inout [Tensor?], pool: inout TensorPool, lastReader: (Int) -> Bool) throws -> (Tensor, Tensor?) {
        if case .siblingConvolutions(let siblings) = operation {
            let both = siblings.forward(slots[inputs[0]]!, pool: &pool)
            return (both.first, both.second)
        }
        return (try execute(&slots, pool: &pool, lastReader: lastReader), nil)
    }

    private func execute(_ slots: inout [Tensor?], pool: inout TensorPool, lastReader: (Int) -> Bool) throws -> Tensor {
        let x = slots[inputs[0]]!
        switch operation {
        case .convolution, .convolutionThenMaxPool, .siblingConvolutions, .pooling: break
        // The graph compiler gives these planes only; their loops index planes.
        default: precondition(inputs.allSatisfy { !slots[$0]!.shape.blocked }, "\(name) reads channels in blocks")
        }
        switch operation {
        case .siblingConvolutions: preconditionFailure("two outputs: run by the caller")
        case .convolution(let conv):
            guard inputs.count > 1 else { return conv.forward(x, pool: &pool) }
            if lastReader(inputs[1]) && inputs[1] != inputs[0] {
                // The shortcut's last reader: its storage becomes the output, unshared.
                return conv.forward(x, addingInto: slots[inputs[1]].take()!, pool: &pool)
            }
            return conv.forward(x, residual: slots[inputs[1]]!, pool: &pool)
        case .convolutionThenMaxPool(let fused): return fused.forward(x, pool: &pool)
        case .pooling(let pooling): return pooling.forward(x, pool: &pool)
        case .fullyConnected(let fc): return fc.forward(x)
        case .add(let activation):
            let other = slots[inputs[1]]!
            // Taking the slot leaves `target` the only reference, so the add runs in place.
            var target = lastReader(inputs[0]) && inputs[0] != inputs[1] ? slots[inputs[0]].take()! : x
            _ = consume x
            try Elementwise.addInPlace(&target, other, activation: activation)
            return target
        case .relu: return Elementwise.relu(x)
        case .softmax: return Elementwise.softmaxChannels(x)
        case .sigmoid: return Elementwise.sigmoid(x)
        case .concat: return try Elementwise.concatChannels(inputs.map { slots[$0]! })
        case .padChannels(let extra): return Elementwise.padChannels(x, extra: extra)
        case let .reshape(c, h, w): return try Elementwise.reshapePerImage(x, to: (c, h, w))
        case let .resizeBilinear(h, w, corners, halfPixel):
            return Resampling.resizeBilinear(x, height: h, width: w, alignCorners: corners, halfPixelCenters: halfPixel)
        case .depthToSpace(let block): return Resampling.depthToSpace(x, blockSize: block)
        }
    }
}

extension Step {
    var summary: String {
        switch operation {
        case .convolution(let c):
            let w = c.window
            let kind = c.groups == 1 ? "convolution" : (c.groups == c.inputChannels ? "depthwise" : "grouped conv")
            let shortcut = inputs.count > 1 ? " + shortcut" : ""
            return "\(kind) \(w.kernelHeight)x\(w.kernelWidth) s\(w.strideY) \(c.inputChannels)→\(c.outputChannels)\(shortcut)"
        case .convolutionThenMaxPool(let f):
            let (w, p) = (f.convolution.window, f.pooling.window)
            return "convolution \(w.kernelHeight)x\(w.kernelWidth) s\(w.strideY) \(f.convolution.inputChannels)→\(f.convolution.outputChannels)"
                + " + max pool \(p.kernelHeight)x\(p.kernelWidth)"
        case .siblingConvolutions(let s):
            let w = s.window, (a, b) = s.outputChannels
            return "convolutions 1x1 s\(w.strideY) \(s.inputChannels)→\(a) and →\(b)"
        case .pooling(let p): return "\(p.kind) pool \(p.window.kernelHeight)x\(p.window.kernelWidth)"
        case .fullyConnected: return "fully connected"
        case .add: return "add"
        case .relu: return "relu"
        case .softmax: return "softmax"
        case .sigmoid: return "sigmoid"
        case .concat: return "concat"
        case .padChannels: return "pad channels"
        case .reshape: return "reshape"
        case let .resizeBilinear(h, w, _, _): return "bilinear resize to \(h)x\(w)"
        case .depthToSpace(let block): return "depth to space \(block)x\(block)"
        }
    }

    /// Multiply-adds count twice; other operations are counted as zero.
    func flops(input: Tensor.Shape, output: Tensor.Shape) -> Double {
        func convolution(_ c: Convolution2D, _ output: Tensor.Shape) -> Double {
            // Channels times positions: a blocked layout's padding channels do no work.
            2 * Double(c.inputChannels / c.groups * c.window.kernelHeight * c.window.kernelWidth) * Double(output.channels * output.positions)
        }
        switch operation {
        case .convolution(let c): return convolution(c, output)
        case .siblingConvolutions(let s):
            let (a, b) = s.outputChannels
            return 2 * Double(s.inputChannels) * Double(output.positions * (a + b))
        case .convolutionThenMaxPool(let f):
            return (try? f.convolution.outputShape(for: input)).map { convolution(f.convolution, $0) } ?? 0
        case .fullyConnected(let f): return 2 * Double(f.inputs * f.outputs * output.batch)
        default: return 0
        }
    }
}
