import VeilKernels
#if AcceleratedKernels && arch(x86_64)
import VeilKernelsX86_64_v3
import VeilKernelsX86_64_v4
#endif

/// A 1×1 convolution packed for ``PointwiseKernels``: for tensors whose channels are in
/// blocks (``BlockedChannels``), computed without packing its input and with the bias,
/// shortcut and activation in the same pass.
package struct BlockedPointwise: Sendable {
    /// Input and output channels.
    package let inputs: Int, outputs: Int
    /// The weights as ``PointwiseKernels/pack(_:outputs:inputs:into:)`` lays them out.
    let packed: [Float]
    /// One value per output channel, zero for the padding channels of the last block; nil
    /// for a product with no bias (Winograd's).
    let bias: [Float]?

    /// Packs row-major `outputs × inputs` weights and `outputs` biases.
    package init(weights: [Float], bias: [Float]?, outputs: Int, inputs: Int) {
        let packed = weights.withUnsafeBufferPointer {
            Self.pack($0.baseAddress!, count: $0.count, bias: bias, outputs: outputs, inputs: inputs)
        }
        self.init(packed: packed, bias: bias, outputs: outputs, inputs: inputs)
    }

    /// Packs `outputs × inputs` weights at `weights` (`count` floats) and `outputs` biases.
    init(weights: UnsafePointer<Float>, count: Int, bias: [Float]?, outputs: Int, inputs: Int) {
        self.init(packed: Self.pack(weights, count: count, bias: bias, outputs: outputs, inputs: inputs), bias: bias,
                  outputs: outputs, inputs: inputs)
    }

    private init(packed: [Float], bias: [Float]?, outputs: Int, inputs: Int) {
        (self.inputs, self.outputs, self.packed) = (inputs, outputs, packed)
        self.bias = bias.map { $0 + [Float](repeating: 0, count: BlockedChannels.blocks(outputs) * BlockedChannels.width - outputs) }
    }

    private static func pack(_ weights: UnsafePointer<Float>, count: Int, bias: [Float]?, outputs: Int, inputs: Int) -> [Float] {
        precondition(outputs > 0 && inputs > 0 && count == outputs * inputs && (bias?.count ?? outputs) == outputs,
                     "\(count) weights and \(bias?.count ?? 0) biases for \(outputs)×\(inputs)")
        return [Float](unsafeUninitializedCapacity: PointwiseKernels.packedCount(outputs: outputs, inputs: inputs)) { buffer, filled in
            PointwiseKernels.pack(weights, outputs: outputs, inputs: inputs, into: buffer.baseAddress!)
            filled = buffer.count
        }
    }

    /// Output channel blocks.
    package var blocks: Int { BlockedChannels.blocks(outputs) }

    /// Computes output blocks `blocks` at `positions`, on one thread; see
    /// ``PointwiseKernels/convolve(_:input:inputs:inputStride:weights:bias:relu:residual:output:outputStride:outputShift:positions:blocks:)``.
    /// Output block `b` is block `b − outputShift` of `output` (and of `residual`).
    package func run(input: UnsafePointer<Float>, inputStride: Int, relu: Bool, residual: UnsafePointer<Float>?,
                     output: UnsafeMutablePointer<Float>, outputStride: Int, outputShift: Int = 0, positions: Range<Int>,
                     blocks: Range<Int>, kernels: ComputeKernels = ComputeKernels.current) {
        precondition(outputShift >= 0 && blocks.lowerBound >= outputShift && blocks.upperBound <= self.blocks
                        && positions.lowerBound >= 0 && inputStride >= positions.upperBound * BlockedChannels.width
                        && outputStride >= positions.upperBound * BlockedChannels.width,
                     "blocks \(blocks) of \(self.blocks), positions \(positions), strides \(inputStride) and \(outputStride)")
        packed.withUnsafeBufferPointer { w in
            (bias ?? []).withUnsafeBufferPointer { b in
                let (w, b) = (w.baseAddress!, bias == nil ? nil : b.baseAddress!)
                switch kernels {
                #if AcceleratedKernels && arch(x86_64)
                case .x86_64_v4:
                    X86_64_v4Kernels.pointwise(input: input, inputs: inputs, inputStride: inputStride, weights: w, bias: b,
                                               relu: relu, residual: residual, output: output, outputStride: outputStride,
                                               outputShift: outputShift, positions: positions, blocks: blocks)
                case .x86_64_v3:
                    X86_64_v3Kernels.pointwise(input: input, inputs: inputs, inputStride: inputStride, weights: w, bias: b,
                                               relu: relu, residual: residual, output: output, outputStride: outputStride,
                                               outputShift: outputShift, positions: positions, blocks: blocks)
                #endif
                default:
                    PortableKernels.pointwise(input: input, inputs: inputs, inputStride: inputStride, weights: w, bias: b,
                                              relu: relu, residual: residual, output: output, outputStride: outputStride,
                                              outputShift: outputShift, positions: positions, blocks: blocks)
                }
            }
        }
    }
}
