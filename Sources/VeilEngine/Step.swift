import VeilTensor

/// One compiled operation, reading and writing numbered tensor slots.
struct Step: Sendable {
    enum Operation: Sendable {
        case convolution(Convolution2D)
        case pooling(Pooling)
        case fullyConnected(FullyConnected)
        case add(Activation)
        case relu
        case softmax
        case sigmoid
        case concat
        case padChannels(Int)
    }

    let name: String
    let operation: Operation
    let inputs: [Int]
    let output: Int

    func execute(_ slots: [Tensor?]) throws -> Tensor {
        let x = slots[inputs[0]]!
        switch operation {
        case .convolution(let conv): return conv.forward(x)
        case .pooling(let pool): return pool.forward(x)
        case .fullyConnected(let fc): return fc.forward(x)
        case .add(let activation): return try Elementwise.add(x, slots[inputs[1]]!, activation: activation)
        case .relu: return Elementwise.relu(x)
        case .softmax: return Elementwise.softmaxChannels(x)
        case .sigmoid: return Elementwise.sigmoid(x)
        case .concat: return try Elementwise.concatChannels(inputs.map { slots[$0]! })
        case .padChannels(let extra): return Elementwise.padChannels(x, extra: extra)
        }
    }
}
