import Foundation
import VeilKernels
import VeilTensor

/// Turns a manifest graph plus its weights into executable steps, once, at load.
///
/// Work done here so that `forward` never does it: batch norm folded into the preceding
/// convolution's weights and bias, a shortcut add and ReLU fused into the preceding layer,
/// a max pooling fused into the convolution before it, two 1×1 convolutions of one input
/// joined into one product, the channels of the tensors between layers that all have kernels
/// for it kept in blocks (``Tensor/Shape/blocked``), and every shape checked for the
/// manifest's input size.
struct GraphCompiler {
    let manifest: ModelManifest
    let weights: SafeTensorsFile
    let manifestPath: String

    struct Result {
        var steps: [Step]
        var inputSlot: Int
        var outputSlots: [String: Int]
        var slotCount: Int
        /// Values per image of the manifest's embedding tensor, if it names one.
        var embeddingLength: Int?
    }

    /// A layer before fusion: its operation still open to folding what follows.
    private struct Pending {
        var name: String
        var kind: Kind
        var inputs: [String]
        var output: String
        var activation: Activation = .none
        /// A max pooling fused into this convolution, after its activation.
        var thenPool: Pooling?

        enum Kind {
            case convolution(weights: [Float], bias: [Float], inputChannels: Int, outputChannels: Int, groups: Int, window: Window)
            case pooling(Pooling)
            case fullyConnected(weights: [Float], bias: [Float], units: Int, inputs: Int)
            case add
            case relu
            case softmax
            case sigmoid
            case concat
            case padChannels(Int)
            case reshape(Int, Int, Int)
            case resizeBilinear(height: Int, width: Int, alignCorners: Bool, halfPixelCenters: Bool)
            case depthToSpace(Int)
        }

        var supportsFusedActivation: Bool {
            switch kind {
            case .convolution: return thenPool == nil
            case .fullyConnected, .add: return true
            default: return false
            }
        }

        /// A convolution that nothing has been fused into yet, so it can still fold a batch
        /// norm or take a shortcut.
        var isBareConvolution: Bool {
            guard case .convolution = kind else { return false }
            return activation == .none && inputs.count == 1 && thenPool == nil
        }
    }

    func compile() throws -> Result {
        var consumers: [String: Int] = [:]
        for node in manifest.graph { for input in node.inputs { consumers[input, default: 0] += 1 } }
        let outputTensors = Set(manifest.outputTensors)
        var usedWeights = Set<String>()
        var pending: [Pending] = []
        var producer: [String: Int] = [:]  // tensor → index in `pending`
        var channels: [String: Int] = [manifest.input.tensor: manifest.input.channels]

        func fail(_ node: ModelManifest.Node, _ reason: String) -> ModelLoadingError {
            ModelLoadingError(file: manifestPath, node: node.name, reason)
        }
        func tensor(_ node: ModelManifest.Node, _ role: String, required: Bool = true) throws -> (shape: [Int], values: [Float])? {
            guard let name = node.weights?[role] else {
                if required { throw fail(node, "needs a '\(role)' weight") }
                return nil
            }
            guard weights.entries[name] != nil else {
                throw ModelLoadingError(file: weights.path, node: node.name, "weight '\(name)' (\(role)) is missing from the weights file")
            }
            usedWeights.insert(name)
            return try weights.floats(name)
        }
        /// Whether `tensor` feeds only the node about to fuse into its producer.
        func fusable(_ tensor: String) -> Int? {
            guard consumers[tensor] == 1, !outputTensors.contains(tensor), let index = producer[tensor] else { return nil }
            return index
        }

        /// For `add(a, b)`: the convolution producing one operand that can absorb the add,
        /// and the other operand. The other must already exist when the convolution runs.
        func convolutionTakingShortcut(_ node: ModelManifest.Node) -> (Int, String)? {
            for (mine, other) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] where mine != other {
                guard let index = fusable(mine), pending[index].isBareConvolution else { continue }
                if other == manifest.input.tensor || (producer[other].map { $0 < index } ?? false) { return (index, other) }
            }
            return nil
        }

        for node in manifest.graph {
            guard !node.inputs.isEmpty else { throw fail(node, "has no inputs") }
            for input in node.inputs where channels[input] == nil {
                throw fail(node, "reads '\(input)', which no earlier node writes")
            }
            guard channels[node.output] == nil else { throw fail(node, "writes '\(node.output)', which is already written") }
            let a = node.attributes ?? ModelManifest.Attributes()
            let inChannels = channels[node.inputs[0]]!
            var outChannels = inChannels
            var new: Pending?

            switch node.op {
            case .conv2d:
                let w = try tensor(node, "weight")!
                let groups = a.groups ?? 1
                guard w.shape.count == 4 else { throw fail(node, "weight must be 4-D (out, in/groups, kh, kw), got \(w.shape)") }
                guard w.shape[1] * groups == inChannels else {
                    throw fail(node, "weight \(w.shape) with \(groups) group(s) expects \(w.shape[1] * groups) input channels, but '\(node.inputs[0])' has \(inChannels)")
                }
                if let declared = a.outputChannels, declared != w.shape[0] {
                    throw fail(node, "declares \(declared) output channels but its weight has \(w.shape[0])")
                }
                if let kernel = a.kernel, kernel != [w.shape[2], w.shape[3]] {
                    throw fail(node, "declares kernel \(kernel) but its weight is \(w.shape[2])x\(w.shape[3])")
                }
                let bias = try tensor(node, "bias", required: false)
                if let bias, bias.shape != [w.shape[0]] { throw fail(node, "bias shape \(bias.shape), expected [\(w.shape[0])]") }
                let window = try self.window(a, kernel: [w.shape[2], w.shape[3]], node: node)
                outChannels = w.shape[0]
                new = Pending(name: node.name, kind: .convolution(weights: w.values, bias: bias?.values ?? Array(repeating: 0, count: w.shape[0]),
                                                                  inputChannels: inChannels, outputChannels: w.shape[0], groups: groups, window: window),
                              inputs: node.inputs, output: node.output)

            case .batchNorm:
                let mean = try tensor(node, "mean")!, variance = try tensor(node, "variance")!
                let gamma = try tensor(node, "scale", required: false), beta = try tensor(node, "bias", required: false)
                for t in [mean, variance, gamma, beta].compactMap({ $0 }) where t.shape != [inChannels] {
                    throw fail(node, "parameter shape \(t.shape) does not match \(inChannels) channels")
                }
                let eps = Double(a.epsilon ?? 1e-5)
                // y = (x − mean) · s + beta with s = gamma / √(var + ε): a per-channel affine map.
                var scale = [Double](repeating: 1, count: inChannels), shift = [Double](repeating: 0, count: inChannels)
                for c in 0..<inChannels {
                    let s = Double(gamma?.values[c] ?? 1) / (Double(variance.values[c]) + eps).squareRoot()
                    scale[c] = s
                    shift[c] = Double(beta?.values[c] ?? 0) - Double(mean.values[c]) * s
                }
                if let index = fusable(node.inputs[0]), pending[index].isBareConvolution,
                   case .convolution(var w, var b, let cin, let cout, let groups, let window) = pending[index].kind {
                    let perOutput = w.count / cout
                    for o in 0..<cout {
                        for i in 0..<perOutput { w[o * perOutput + i] = Float(Double(w[o * perOutput + i]) * scale[o]) }
                        b[o] = Float(Double(b[o]) * scale[o] + shift[o])
                    }
                    pending[index].kind = .convolution(weights: w, bias: b, inputChannels: cin, outputChannels: cout, groups: groups, window: window)
                    pending[index].output = node.output
                    producer[node.output] = index
                } else {
                    // A batch norm with nothing to fold into runs as a 1×1 depthwise convolution.
                    new = Pending(name: node.name,
                                  kind: .convolution(weights: scale.map(Float.init), bias: shift.map(Float.init),
                                                     inputChannels: inChannels, outputChannels: inChannels,
                                                     groups: inChannels, window: .square(1)),
                                  inputs: node.inputs, output: node.output)
                }

            case .relu:
                if let index = fusable(node.inputs[0]), pending[index].activation == .none, pending[index].supportsFusedActivation {
                    pending[index].activation = .relu
                    pending[index].output = node.output
                    producer[node.output] = index
                } else {
                    new = Pending(name: node.name, kind: .relu, inputs: node.inputs, output: node.output)
                }

            case .maxPool, .averagePool:
                guard let kernel = a.kernel else { throw fail(node, "needs a 'kernel' attribute") }
                let pooling = try Pooling(kind: node.op == .maxPool ? .max : .average,
                                          window: try window(a, kernel: kernel, node: node), ceilMode: a.ceilMode ?? false)
                if pooling.kind == .max, let index = fusable(node.inputs[0]), case .convolution = pending[index].kind,
                   pending[index].inputs.count == 1, pending[index].thenPool == nil {
                    // conv (+ ReLU) + max pool: pooled row by row, the convolution's output never whole.
                    pending[index].thenPool = pooling
                    pending[index].output = node.output
                    producer[node.output] = index
                } else {
                    new = Pending(name: node.name, kind: .pooling(pooling), inputs: node.inputs, output: node.output)
                }

            case .fullyConnected:
                let w = try tensor(node, "weight")!
                guard w.shape.count == 2 else { throw fail(node, "weight must be 2-D (units, inputs), got \(w.shape)") }
                if let units = a.units, units != w.shape[0] { throw fail(node, "declares \(units) units but its weight has \(w.shape[0])") }
                let bias = try tensor(node, "bias", required: false)
                if let bias, bias.shape != [w.shape[0]] { throw fail(node, "bias shape \(bias.shape), expected [\(w.shape[0])]") }
                outChannels = w.shape[0]
                new = Pending(name: node.name, kind: .fullyConnected(weights: w.values, bias: bias?.values ?? Array(repeating: 0, count: w.shape[0]),
                                                                     units: w.shape[0], inputs: w.shape[1]),
                              inputs: node.inputs, output: node.output)

            case .add:
                guard node.inputs.count == 2 else { throw fail(node, "add takes exactly two inputs") }
                guard channels[node.inputs[1]] == inChannels else {
                    throw fail(node, "adds \(inChannels) channels to \(channels[node.inputs[1]]!)")
                }
                if let (index, shortcut) = convolutionTakingShortcut(node) {
                    // conv + shortcut: the convolution adds it while its output is in cache.
                    pending[index].inputs.append(shortcut)
                    pending[index].output = node.output
                    producer[node.output] = index
                } else {
                    new = Pending(name: node.name, kind: .add, inputs: node.inputs, output: node.output)
                }

            case .concat:
                outChannels = node.inputs.reduce(0) { $0 + channels[$1]! }
                new = Pending(name: node.name, kind: .concat, inputs: node.inputs, output: node.output)

            case .padChannels:
                guard let extra = a.extraChannels, extra >= 0 else { throw fail(node, "needs a non-negative 'extraChannels'") }
                outChannels = inChannels + extra
                new = Pending(name: node.name, kind: .padChannels(extra), inputs: node.inputs, output: node.output)

            case .reshape:
                guard let shape = a.shape, shape.count == 3, shape.allSatisfy({ $0 > 0 }) else {
                    throw fail(node, "needs a 'shape' attribute of three positive sizes (channels, height, width)")
                }
                outChannels = shape[0]
                new = Pending(name: node.name, kind: .reshape(shape[0], shape[1], shape[2]), inputs: node.inputs, output: node.output)

            case .resizeBilinear:
                guard let size = a.size, size.count == 2, size.allSatisfy({ (1...16384).contains($0) }) else {
                    throw fail(node, "needs a 'size' attribute of two sizes from 1 to 16384 (height, width)")
                }
                new = Pending(name: node.name, kind: .resizeBilinear(height: size[0], width: size[1], alignCorners: a.alignCorners ?? false,
                                                                     halfPixelCenters: a.halfPixelCenters ?? false),
                              inputs: node.inputs, output: node.output)

            case .depthToSpace:
                guard let block = a.blockSize, (1...64).contains(block) else { throw fail(node, "needs a 'blockSize' from 1 to 64") }
                guard inChannels % (block * block) == 0 else {
                    throw fail(node, "has \(inChannels) channels, not a multiple of \(block * block) (blockSize squared)")
                }
                outChannels = inChannels / (block * block)
                new = Pending(name: node.name, kind: .depthToSpace(block), inputs: node.inputs, output: node.output)

            case .softmax:
                new = Pending(name: node.name, kind: .softmax, inputs: node.inputs, output: node.output)
            case .sigmoid:
                new = Pending(name: node.name, kind: .sigmoid, inputs: node.inputs, output: node.output)
            }
            if let new {
                producer[node.output] = pending.count
                pending.append(new)
            }
            channels[node.output] = outChannels
        }

        let unused = Set(weights.entries.keys).subtracting(usedWeights)
        guard unused.isEmpty else {
            throw ModelLoadingError(file: weights.path, "weights not used by the graph: \(unused.sorted().prefix(5).joined(separator: ", "))")
        }
        for output in manifest.outputs {
            guard let c = channels[output.tensor] else {
                throw ModelLoadingError(file: manifestPath, "output '\(output.name)' reads tensor '\(output.tensor)', which no node writes")
            }
            guard output.channel >= 0, output.channel < c else {
                throw ModelLoadingError(file: manifestPath, "output '\(output.name)' reads channel \(output.channel) of '\(output.tensor)', which has \(c)")
            }
        }
        return try lower(pending)
    }

    /// Pairs of 1×1 convolutions that read the same tensor and nothing else, by the index of
    /// the earlier of each pair: they run as one product (``SiblingConvolutions``), at the
    /// earlier one's place, since both inputs are ready there. Each convolution pairs once.
    /// The later one's output is then held from there on; in a ResNet the two are neighbours.
    private static func siblings(_ pending: [Pending]) -> [Int: Int] {
        func window(_ p: Pending) -> Window? {
            guard case let .convolution(_, _, _, _, groups, window) = p.kind, groups == 1, window.kernelHeight == 1,
                  window.kernelWidth == 1, p.inputs.count == 1, p.thenPool == nil else { return nil }
            return window
        }
        var pairs: [Int: Int] = [:], taken = Set<Int>()
        for i in pending.indices where !taken.contains(i) {
            guard let w = window(pending[i]) else { continue }
            for j in (i + 1)..<pending.count where !taken.contains(j) && pending[j].inputs == pending[i].inputs && window(pending[j]) == w {
                pairs[i] = j
                taken.formUnion([i, j])
                break
            }
        }
        return pairs
    }

    /// The tensors that keep their channels in blocks (``Tensor/Shape/blocked``): those
    /// written by a layer that can write them so and read only by layers that can read
    /// them so. 1×1 convolutions then read their input where it lies, with no packed copy,
    /// and add bias and shortcut in registers. Model outputs always keep planes.
    ///
    /// No conversions are inserted: one layer without a blocked kernel (a 3×3 convolution
    /// at stride 2, or with fewer than 32 channels) keeps planes for every tensor connected
    /// to it through blocked-capable layers. In open_nsfw every layer qualifies, and every
    /// tensor from the stem's output to the global pool is blocked.
    private func blockedTensors(_ pending: [Pending], siblings: [Int: Int]) -> Set<String> {
        // Each tensor's size per image, as the layers will compute it; nil where they will fail.
        var sizes: [String: (height: Int, width: Int)] = [manifest.input.tensor: (manifest.input.height, manifest.input.width)]
        func pooled(_ pool: Pooling, _ size: (height: Int, width: Int)) -> (height: Int, width: Int)? {
            (try? pool.outputShape(for: Tensor.Shape(channels: 1, batch: 1, height: size.height, width: size.width)))
                .map { ($0.height, $0.width) }
        }
        for p in pending {
            guard let size = sizes[p.inputs[0]] else { continue }
            var out: (height: Int, width: Int)? = size
            switch p.kind {
            case let .convolution(_, _, _, _, _, window):
                let h = (size.height + window.padTop + window.padBottom - window.kernelHeight) / window.strideY + 1
                let w = (size.width + window.padLeft + window.padRight - window.kernelWidth) / window.strideX + 1
                out = h > 0 && w > 0 ? (h, w) : nil
                if let pool = p.thenPool, let o = out { out = pooled(pool, o) }
            case .pooling(let pool): out = pooled(pool, size)
            case .fullyConnected: out = (1, 1)
            case let .reshape(_, h, w): out = (h, w)
            case let .resizeBilinear(h, w, _, _): out = (h, w)
            case .depthToSpace(let block): out = (size.height * block, size.width * block)
            default: break
            }
            if let out { sizes[p.output] = out }
        }
        var partner: [Int: Int] = [:]
        for (a, b) in siblings { (partner[a], partner[b]) = (b, a) }
        func isStem(_ p: Pending) -> Bool { p.thenPool != nil }
        /// Whether the layer can write its output with blocked channels (reading them too,
        /// unless it is a stem, which reads planes).
        func canWrite(_ index: Int) -> Bool {
            let p = pending[index]
            guard case let .convolution(_, _, cin, cout, groups, window) = p.kind, let size = sizes[p.output] else { return false }
            if isStem(p) {
                return ConvolutionThenMaxPool.computesDirectly(inputChannels: cin, outputChannels: cout, groups: groups, window: window)
            }
            let runs = Convolution2D.runsBlocked(window: window, groups: groups, inputChannels: cin, outputChannels: cout,
                                                 output: Tensor.Shape(channels: cout, batch: 1, height: size.height, width: size.width))
            if let other = partner[index] {
                // A pair splits its blocks between the two outputs at the earlier's last channel.
                let earlier = siblings[index] != nil ? index : other
                guard case let .convolution(_, _, _, split, _, _) = pending[earlier].kind else { return false }
                return runs && split % BlockedChannels.width == 0
            }
            return runs
        }
        let outputs = Set(manifest.outputTensors)
        var producer: [String: Int] = [:], readers: [String: [Int]] = [:]
        var blocked = Set<String>()
        for (i, p) in pending.enumerated() {
            producer[p.output] = i
            for t in p.inputs { readers[t, default: []].append(i) }
            if canWrite(i) && !outputs.contains(p.output) { blocked.insert(p.output) }
        }
        var changed = true
        while changed {
            changed = false
            for t in blocked {
                let i = producer[t]!, p = pending[i]
                var keep = isStem(p) || p.inputs.allSatisfy { blocked.contains($0) }
                if let j = partner[i] { keep = keep && blocked.contains(pending[j].output) }
                for r in readers[t] ?? [] where keep {
                    let q = pending[r]
                    switch q.kind {
                    case .convolution where !isStem(q): keep = blocked.contains(q.output)
                    case .pooling(let pool): keep = pool.kind == .average
                    default: keep = false
                    }
                }
                if !keep {
                    blocked.remove(t)
                    changed = true
                }
            }
        }
        return blocked
    }

    /// Builds the layer kernels, assigns slots, and shape-checks the graph at batch 1.
    private func lower(_ pending: [Pending]) throws -> Result {
        var slots: [String: Int] = [manifest.input.tensor: 0]
        var shapes: [String: Tensor.Shape] = [
            manifest.input.tensor: Tensor.Shape(channels: manifest.input.channels, batch: 1,
                                                height: manifest.input.height, width: manifest.input.width),
        ]
        var steps: [Step] = []
        let siblings = Self.siblings(pending), laterSiblings = Set(siblings.values)
        let blocked = blockedTensors(pending, siblings: siblings)
        for (index, p) in pending.enumerated() {
            func fail(_ reason: String) -> ModelLoadingError { ModelLoadingError(file: manifestPath, node: p.name, reason) }
            if laterSiblings.contains(index) { continue }  // run with its earlier sibling
            if let later = siblings[index] {
                let q = pending[later]
                guard case let .convolution(w1, b1, cin, cout1, _, window) = p.kind,
                      case let .convolution(w2, b2, _, cout2, _, _) = q.kind else { preconditionFailure("siblings are convolutions") }
                let pair: SiblingConvolutions
                let outShapes: (first: Tensor.Shape, second: Tensor.Shape)
                do {
                    pair = try SiblingConvolutions(inputChannels: cin, window: window,
                                                   first: (cout1, w1, b1, p.activation), second: (cout2, w2, b2, q.activation),
                                                   blockedChannels: blocked.contains(p.output))
                    outShapes = try pair.outputShapes(for: shapes[p.inputs[0]]!)
                } catch let error as TensorShapeError {
                    throw ModelLoadingError(file: manifestPath, node: "\(p.name), \(q.name)", error.reason)
                }
                for (node, shape) in [(p, outShapes.first), (q, outShapes.second)] {
                    slots[node.output] = slots.count
                    shapes[node.output] = shape
                }
                steps.append(Step(name: "\(p.name), \(q.name)", operation: .siblingConvolutions(pair),
                                  inputs: [slots[p.inputs[0]]!], output: slots[p.output]!, secondOutput: slots[q.output]!))
                continue
            }
            let inputShapes = p.inputs.map { shapes[$0]! }
            let operation: Step.Operation
            let outShape: Tensor.Shape
            do {
                switch p.kind {
                case let .convolution(w, b, cin, cout, groups, window):
                    let conv = try Convolution2D(inputChannels: cin, outputChannels: cout, groups: groups, window: window,
                                                 weights: w, bias: b, activation: p.activation,
                                                 blockedChannels: p.thenPool == nil && blocked.contains(p.output))
                    if let pooling = p.thenPool {
                        let fused = try ConvolutionThenMaxPool(conv, pooling, blockedOutput: blocked.contains(p.output))
                        outShape = try fused.outputShape(for: inputShapes[0])
                        operation = .convolutionThenMaxPool(fused)
                        break
                    }
                    outShape = try conv.outputShape(for: inputShapes[0])
                    if inputShapes.count > 1, inputShapes[1] != outShape {
                        throw fail("adds \(inputShapes[1]) to \(outShape)")
                    }
                    operation = .convolution(conv)
                case .pooling(let pool):
                    outShape = try pool.outputShape(for: inputShapes[0])
                    operation = .pooling(pool)
                case let .fullyConnected(w, b, units, inputs):
                    let fc = try FullyConnected(inputs: inputs, outputs: units, weights: w, bias: b, activation: p.activation)
                    outShape = try fc.outputShape(for: inputShapes[0])
                    operation = .fullyConnected(fc)
                case .add:
                    guard inputShapes[0] == inputShapes[1] else { throw fail("adds \(inputShapes[0]) to \(inputShapes[1])") }
                    outShape = inputShapes[0]
                    operation = .add(p.activation)
                case .concat:
                    let first = inputShapes[0]
                    guard inputShapes.allSatisfy({ $0.height == first.height && $0.width == first.width }) else {
                        throw fail("concatenates tensors of different sizes: \(inputShapes)")
                    }
                    outShape = Tensor.Shape(channels: inputShapes.reduce(0) { $0 + $1.channels }, batch: 1, height: first.height, width: first.width)
                    operation = .concat
                case .padChannels(let extra):
                    outShape = Tensor.Shape(channels: inputShapes[0].channels + extra, batch: 1, height: inputShapes[0].height, width: inputShapes[0].width)
                    operation = .padChannels(extra)
                case let .reshape(c, h, w):
                    guard c * h * w == inputShapes[0].channels * inputShapes[0].plane else {
                        throw fail("reshapes \(inputShapes[0]) to \(c)x\(h)x\(w): the sizes differ")
                    }
                    outShape = Tensor.Shape(channels: c, batch: 1, height: h, width: w)
                    operation = .reshape(channels: c, height: h, width: w)
                case let .resizeBilinear(h, w, corners, halfPixel):
                    outShape = Tensor.Shape(channels: inputShapes[0].channels, batch: 1, height: h, width: w)
                    operation = .resizeBilinear(height: h, width: w, alignCorners: corners, halfPixelCenters: halfPixel)
                case .depthToSpace(let block):
                    let i = inputShapes[0]
                    outShape = Tensor.Shape(channels: i.channels / (block * block), batch: 1, height: i.height * block, width: i.width * block)
                    operation = .depthToSpace(block)
                case .relu: outShape = inputShapes[0]; operation = .relu
                case .softmax: outShape = inputShapes[0]; operation = .softmax
                case .sigmoid: outShape = inputShapes[0]; operation = .sigmoid
                }
            } catch let error as TensorShapeError {
                throw fail(error.reason)
            }
            let slot = slots.count
            slots[p.output] = slot
            shapes[p.output] = outShape
            steps.append(Step(name: p.name, operation: operation, inputs: p.inputs.map { slots[$0]! }, output: slot))
        }
        var outputSlots: [String: Int] = [:]
        for tensor in manifest.outputTensors {
            guard let slot = slots[tensor] else {
                throw ModelLoadingError(file: manifestPath, "the \(tensor == manifest.embedding?.tensor ? "embedding" : "detector") reads tensor '\(tensor)', which no node writes")
            }
            outputSlots[tensor] = slot
        }
        var embeddingLength: Int?
        if let embedding = manifest.embedding, let shape = shapes[embedding.tensor] {
            // One vector per image: a feature map would make the "embedding" depend on where
            // things sit in the picture, and heads are fitted on pooled features.
            guard shape.height == 1, shape.width == 1 else {
                throw ModelLoadingError(file: manifestPath, "embedding tensor '\(embedding.tensor)' is \(shape.height)x\(shape.width) per channel; it must be pooled to 1x1")
            }
            embeddingLength = shape.channels
        }
        return Result(steps: steps, inputSlot: 0, outputSlots: outputSlots, slotCount: slots.count, embeddingLength: embeddingLength)
    }

    private func window(_ a: ModelManifest.Attributes, kernel: [Int], node: ModelManifest.Node) throws -> Window {
        let stride = a.stride ?? [1, 1]
        let pad = a.pad ?? [0, 0, 0, 0]
        guard kernel.count == 2, stride.count == 2, pad.count == 4 else {
            throw ModelLoadingError(file: manifestPath, node: node.name, "kernel and stride take 2 values, pad takes 4 (top, left, bottom, right)")
        }
        return Window(kernelHeight: kernel[0], kernelWidth: kernel[1], strideY: stride[0], strideX: stride[1],
                      padTop: pad[0], padLeft: pad[1], padBottom: pad[2], padRight: pad[3])
    }
}
