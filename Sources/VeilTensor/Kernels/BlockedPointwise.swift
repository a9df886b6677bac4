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
    /// One value per output channel, zero for the padding channels of the last block.
    let bias: [Float]

    /// Packs row-major `outputs × inputs` weights and `outputs` biases.
    package init(weights: [Float], bias: [Float], outputs: Int, inputs: Int) {
        precondition(outputs > 0 && inputs > 0 && weights.count == outputs * inputs && bias.count == outputs,
                     "\(weights.count) weights and \(bias.count) biases for \(outputs)×\(inputs)")
        (self.inputs, self.outputs) = (inputs, outputs)
        packed = [Float](unsafeUninitializedCapacity: PointwiseKernels.packedCount(outputs: outputs, inputs: inputs)) { buffer, count in
            weights.withUnsafeBufferPointer {
                PointwiseKernels.pack($0.baseAddress!, outputs: outputs, inputs: inputs, into: buffer.baseAddress!)
            }
            count = buffer.count
        }
        self.bias = bias + [Float](repeating: 0, count: BlockedChannels.blocks(outputs) * BlockedChannels.width - outputs)
    }

    /// Output channel blocks.
    package var blocks: Int { BlockedChannels.blocks(outputs) }

    /// Computes output blocks `blocks` at `positions`, on one thread; see
    /// ``PointwiseKernels/convolve(_:input:inputs:inputStride:weights:bias:relu:residual:output:outputStride:positions:blocks:)``.
    package func run(input: UnsafePointer<Float>, inputStride: Int, relu: Bool, residual: UnsafePointer<Float>?,
                     output: UnsafeMutablePointer<Float>, outputStride: Int, positions: Range<Int>, blocks: Range<Int>,
                     kernels: ComputeKernels = ComputeKernels.current) {
        precondition(blocks.lowerBound >= 0 && blocks.upperBound <= self.blocks && positions.lowerBound >= 0
                        && inputStride >= positions.upperBound * BlockedChannels.width
                        && outputStride >= positions.upperBound * BlockedChannels.width,
                     "blocks \(blocks) of \(self.blocks), positions \(positions), strides \(inputStride) and \(outputStride)")
        packed.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                let (w, b) = (w.baseAddress!, b.baseAddress!)
                switch kernels {
                #if AcceleratedKernels && arch(x86_64)
                case .x86_64_v4:
                    X86_64_v4Kernels.pointwise(input: input, inputs: inputs, inputStride: inputStride, weights: w, bias: b,
                                               relu: relu, residual: residual, output: output, outputStride: outputStride,
                                               positions: positions, blocks: blocks)
                case .x86_64_v3:
                    X86_64_v3Kernels.pointwise(input: input, inputs: inputs, inputStride: inputStride, weights: w, bias: b,
                                               relu: relu, residual: residual, output: output, outputStride: outputStride,
                                               positions: positions, blocks: blocks)
                #endif
                default:
                    PortableKernels.pointwise(input: input, inputs: inputs, inputStride: inputStride, weights: w, bias: b,
                                              relu: relu, residual: residual, output: output, outputStride: outputStride,
                                              positions: positions, blocks: blocks)
                }
            }
        }
    }
}
