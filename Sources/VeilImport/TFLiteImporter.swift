import Foundation
import VeilEngine

/// Converts a TFLite flatbuffer model into Veil's format (JSON manifest + safetensors).
///
/// Covers the operators of small convolutional detectors such as MediaPipe's BlazeFace:
/// CONV_2D, DEPTHWISE_CONV_2D, ADD, RELU, PAD (of channels, or of rows and columns before a
/// convolution, which becomes its padding), MAX_POOL_2D, RESIZE_BILINEAR, DEPTH_TO_SPACE,
/// DEQUANTIZE of float16 weights, DENSIFY of sparse weights (TFLite's sparsity metadata,
/// expanded once here), and the RESHAPE and CONCATENATION that flatten detection heads into
/// `[anchors, values]` at the end of the graph: those become the manifest's detector heads,
/// read by Veil's SSD decoder, since Veil keeps every activation channel-major.
///
/// TFLite stores activations NHWC and weights OHWI (depthwise: 1HWC); Veil wants OIHW,
/// so weights are transposed here, once. SAME padding becomes explicit, possibly
/// asymmetric, padding computed from the tensor shapes the model declares.
package enum TFLiteImporter {
    /// Imports the model file at `path`.
    /// `description.detector` gives the detector's parameters; the heads come from the graph.
    package static func importModel(tflite path: String, description: ModelDescription) throws -> ImportedModel {
        guard var detector = description.detector else {
            throw ImportError(file: path, "the description has no detector parameters; TFLite import is for detectors")
        }
        let bytes: [UInt8]
        do { bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw ImportError(file: path, "cannot read: \((error as NSError).localizedDescription)")
        }
        var converter = Converter(file: path)
        do {
            try converter.convert(FlatBuffer(bytes: bytes))
        } catch let error as FlatBufferError {
            throw ImportError(file: path, "not a readable TFLite flatbuffer: \(error)")
        }
        // The graph's two outputs: `[anchors, valuesPerAnchor]` boxes and `[anchors, 1]` scores.
        let outputs = converter.outputs
        guard outputs.count == 2, let boxes = outputs.first(where: { $0.shape.last == detector.valuesPerAnchor }),
              let scores = outputs.first(where: { $0.shape.last == 1 }), boxes.name != scores.name else {
            throw ImportError(file: path, "the graph's outputs \(outputs.map { "\($0.name) \($0.shape)" }) are not "
                              + "[anchors, \(detector.valuesPerAnchor)] boxes and [anchors, 1] scores")
        }
        detector.boxHeads = try converter.heads(named: boxes.name, valuesPerAnchor: detector.valuesPerAnchor)
        detector.scoreHeads = try converter.heads(named: scores.name, valuesPerAnchor: 1)
        let weights = try SafeTensorsWriter.encode(converter.tensors.mapValues { ($0.shape, $0.values) }, metadata: ["format": "veil-model", "model": description.name])
        guard let input = converter.input else { throw ImportError(file: path, "the graph has no image input") }
        let manifest = ModelManifest(
            name: description.name, version: description.version, license: description.license, summary: description.summary,
            provenance: .init(sources: [.init(origin: "\(description.origin): \(URL(fileURLWithPath: path).lastPathComponent)",
                                              sha256: SHA256Hasher.hex(bytes))],
                              converter: description.converter, notes: description.notes),
            weights: .init(file: "weights.safetensors", sha256: SHA256Hasher.hex(weights)),
            input: input, preprocessing: description.preprocessing, outputs: [], graph: converter.graph,
            detector: detector)
        return ImportedModel(manifest: manifest, weights: weights)
    }

    // TFLite schema numbers (tensorflow/lite/schema/schema.fbs).
    private enum Op: Int32 {
        case add = 0, concatenation = 2, conv2d = 3, depthwiseConv2d = 4, depthToSpace = 5, dequantize = 6, maxPool2d = 17,
             relu = 19, reshape = 22, resizeBilinear = 23, pad = 34, densify = 124
    }

    private struct TensorInfo {
        var name: String
        var shape: [Int]
        var type: UInt8
        var buffer: Int
        /// TFLite's SparsityParameters, for weights stored compressed.
        var sparsity: FlatBuffer.Table?
    }

    private struct Converter {
        let file: String
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        var graph: [ModelManifest.Node] = []
        var input: ModelManifest.InputSpec?
        /// TFLite tensor index → constant values (weights, after DEQUANTIZE).
        var constants: [Int: [Float]] = [:]
        /// TFLite tensor index → Veil tensor name, for activations.
        var activations: [Int: String] = [:]
        /// Graph output name → the head tensors it concatenates, with values per cell.
        var outputHeads: [String: [(tensor: String, channels: Int)]] = [:]
        /// TFLite tensor index → the activation it pads with zero rows and columns, and the
        /// `[top, left, bottom, right]` amounts: the convolution reading it pads instead.
        var spatialPads: [Int: (source: String, pad: [Int])] = [:]
        var infos: [TensorInfo] = []
        /// The graph's outputs, names and shapes.
        var outputs: [(name: String, shape: [Int])] = []

        init(file: String) { self.file = file }

        func fail(_ op: Int, _ reason: String) -> ImportError { ImportError(file: file, "operator \(op): \(reason)") }

        mutating func convert(_ buffer: FlatBuffer) throws {
            let model = try buffer.root
            let codes = try model.tableVector(1).map { code -> Int32 in
                // builtin_code (field 3) superseded the byte-sized deprecated one (field 0).
                max(Int32(try code.uint8(0)), try code.int32(3))
            }
            guard let subgraph = try model.tableVector(2).first else { throw ImportError(file: file, "the model has no subgraph") }
            let buffers = try model.tableVector(4)
            infos = try subgraph.tableVector(0).map { t in
                TensorInfo(name: try t.string(3) ?? "", shape: try t.int32Vector(0).map(Int.init), type: try t.uint8(1),
                           buffer: Int(try t.uint32(2)), sparsity: try t.table(6))
            }
            // Sizes are multiplied and allocated below: refuse absurd ones before they overflow.
            for info in infos {
                var count = 1, overflow = false
                for d in info.shape {
                    (count, overflow) = count.multipliedReportingOverflow(by: max(d, 0))
                    if overflow || d < 0 || count > 1 << 28 {
                        throw ImportError(file: file, "tensor '\(info.name)' has shape \(info.shape), negative or too large")
                    }
                }
            }
            func data(_ index: Int) throws -> ArraySlice<UInt8>? {
                let b = infos[index].buffer
                guard b > 0, b < buffers.count, let range = try buffers[b].vectorRange(0, elementSize: 1), !range.isEmpty else { return nil }
                return buffer.bytes[range]
            }
            // Constant float32 and float16 tensors.
            for (index, info) in infos.enumerated() {
                guard let raw = try data(index) else { continue }
                var values: [Float]
                switch info.type {
                case 0: values = stride(from: raw.startIndex, to: raw.endIndex - 3, by: 4).map { at in
                    Float(bitPattern: UInt32(raw[at]) | UInt32(raw[at + 1]) << 8 | UInt32(raw[at + 2]) << 16 | UInt32(raw[at + 3]) << 24)
                }
                case 1: values = stride(from: raw.startIndex, to: raw.endIndex - 1, by: 2).map { at in
                    Float(Float16(bitPattern: UInt16(raw[at]) | UInt16(raw[at + 1]) << 8))
                }
                case 2: values = stride(from: raw.startIndex, to: raw.endIndex - 3, by: 4).map { at in
                    Float(Int32(bitPattern: UInt32(raw[at]) | UInt32(raw[at + 1]) << 8 | UInt32(raw[at + 2]) << 16 | UInt32(raw[at + 3]) << 24))
                }
                default: continue
                }
                if let sparsity = info.sparsity {
                    do {
                        values = try SparseTensor(sparsity, shape: info.shape).densify(values)
                    } catch let error as SparseTensor.Damage {
                        throw ImportError(file: file, "sparse tensor '\(info.name)': \(error.reason)")
                    }
                }
                constants[index] = values
            }
            let inputs = try subgraph.int32Vector(1).map(Int.init)
            guard inputs.count == 1, let i = inputs.first, i >= 0, i < infos.count, infos[i].shape.count == 4 else {
                throw ImportError(file: file, "the graph must have one NHWC image input")
            }
            let shape = infos[i].shape
            input = .init(tensor: infos[i].name, channels: shape[3], height: shape[1], width: shape[2])
            activations[i] = infos[i].name
            outputs = try subgraph.int32Vector(2).map(Int.init).filter { infos.indices.contains($0) }.map { (infos[$0].name, infos[$0].shape) }

            for (n, op) in try subgraph.tableVector(3).enumerated() {
                let opcode = Int(try op.uint32(0))
                guard opcode < codes.count, let kind = Op(rawValue: codes[opcode]) else {
                    throw fail(n, "builtin operator \(opcode < codes.count ? codes[opcode] : -1) is not supported")
                }
                let ins = try op.int32Vector(1).map(Int.init), outs = try op.int32Vector(2).map(Int.init)
                // -1 marks an absent optional input (a convolution's bias); the first input must be there.
                guard outs.count == 1, let out = outs.first, out >= 0, out < infos.count, let first = ins.first, first >= 0,
                      ins.allSatisfy({ $0 >= -1 && $0 < infos.count }) else { throw fail(n, "has bad tensor indices") }
                try convert(n, kind, ins, out, options: try op.table(4))
            }
        }

        func activation(_ n: Int, _ index: Int) throws -> String {
            guard index >= 0 else { throw fail(n, "lacks an input it needs") }
            if spatialPads[index] != nil {
                throw fail(n, "reads tensor '\(infos[index].name)', zero-padded in rows or columns; only a convolution may read such a tensor")
            }
            guard let name = activations[index] else { throw fail(n, "reads tensor '\(infos[index].name)', which is not an activation") }
            return name
        }

        func constant(_ n: Int, _ index: Int) throws -> [Float] {
            guard index >= 0 else { throw fail(n, "lacks a constant input it needs") }
            guard let values = constants[index] else { throw fail(n, "needs constant tensor '\(infos[index].name)'") }
            return values
        }

        /// Explicit `[top, left, bottom, right]` padding for TFLite's SAME (0) or VALID (1).
        func padding(_ mode: UInt8, input: [Int], output: [Int], kernel: [Int], stride: [Int]) -> [Int] {
            guard mode == 0 else { return [0, 0, 0, 0] }
            let totalH = max((output[1] - 1) * stride[0] + kernel[0] - input[1], 0)
            let totalW = max((output[2] - 1) * stride[1] + kernel[1] - input[2], 0)
            return [totalH / 2, totalW / 2, totalH - totalH / 2, totalW - totalW / 2]
        }

        mutating func emit(_ name: String, _ op: ModelManifest.Node.Operation, _ inputs: [String], _ out: Int,
                           attributes: ModelManifest.Attributes? = nil,
                           weights: [String: (shape: [Int], values: [Float])] = [:], relu: Bool = false) {
            var roles: [String: String] = [:]
            for (role, tensor) in weights {
                tensors["\(name).\(role)"] = tensor
                roles[role] = "\(name).\(role)"
            }
            graph.append(.init(name: name, op: op, inputs: inputs, output: name, attributes: attributes,
                               weights: roles.isEmpty ? nil : roles))
            activations[out] = name
            if relu {
                graph.append(.init(name: "\(name)/relu", op: .relu, inputs: [name], output: "\(name)/relu"))
                activations[out] = "\(name)/relu"
            }
        }

        func fusedReLU(_ n: Int, _ code: UInt8) throws -> Bool {
            switch code {
            case 0: return false
            case 1: return true
            default: throw fail(n, "fused activation \(code) is not supported (none and RELU are)")
            }
        }

        mutating func convert(_ n: Int, _ kind: Op, _ ins: [Int], _ out: Int, options: FlatBuffer.Table?) throws {
            let name = infos[out].name, outShape = infos[out].shape
            // Every operator here but the weight conversions and the head flattening works on NHWC images.
            if ![.reshape, .concatenation, .dequantize, .densify].contains(kind) {
                guard outShape.count == 4, infos[ins[0]].shape.count == 4 else {
                    throw fail(n, "\(kind) on tensors of shape \(infos[ins[0]].shape) → \(outShape); NHWC images expected")
                }
            }
            switch kind {
            case .dequantize, .densify:
                // Weights only: float16 widened, sparse expanded, both when the file was read.
                constants[out] = try constant(n, ins[0])

            case .conv2d, .depthwiseConv2d:
                guard ins.count >= 2, ins[1] >= 0, let o = options else { throw fail(n, "convolution without weights or options") }
                let depthwise = kind == .depthwiseConv2d
                // Options: padding, stride_w, stride_h, then (depthwise) depth_multiplier, activation.
                let stride = [Int(try o.int32(2, default: 1)), Int(try o.int32(1, default: 1))]
                let actField = depthwise ? 4 : 3
                let dilation = depthwise ? [try o.int32(6, default: 1), try o.int32(5, default: 1)]
                                         : [try o.int32(5, default: 1), try o.int32(4, default: 1)]
                guard dilation == [1, 1] else { throw fail(n, "dilated convolution is not supported") }
                if depthwise, try o.int32(3, default: 1) != 1 { throw fail(n, "depth multiplier other than 1 is not supported") }
                let w = infos[ins[1]].shape, values = try constant(n, ins[1])
                guard w.count == 4, values.count == w.reduce(1, *) else { throw fail(n, "weight shape \(w) does not match its data") }
                let inShape = infos[ins[0]].shape
                // A PAD of rows and columns before this convolution becomes part of its padding.
                let padded = spatialPads[ins[0]]
                let kernel = [w[1], w[2]]
                let (outC, inC) = depthwise ? (w[3], 1) : (w[0], w[3])
                // OHWI (depthwise 1HWC) → OIHW.
                var oihw = [Float](repeating: 0, count: values.count)
                for oc in 0..<outC { for ic in 0..<inC { for y in 0..<kernel[0] { for x in 0..<kernel[1] {
                    let src = depthwise ? (y * kernel[1] + x) * outC + oc : ((oc * kernel[0] + y) * kernel[1] + x) * inC + ic
                    oihw[((oc * inC + ic) * kernel[0] + y) * kernel[1] + x] = values[src]
                } } } }
                var weights: [String: (shape: [Int], values: [Float])] = ["weight": ([outC, inC, kernel[0], kernel[1]], oihw)]
                if ins.count > 2, ins[2] >= 0 { weights["bias"] = ([outC], try constant(n, ins[2])) }
                var pad = padding(try o.uint8(0), input: inShape, output: outShape, kernel: kernel, stride: stride)
                if let padded { pad = zip(pad, padded.pad).map { $0 + $1 } }
                emit(name, .conv2d, [try padded?.source ?? activation(n, ins[0])], out,
                     attributes: .init(outputChannels: outC, groups: depthwise ? outC : 1, kernel: kernel, stride: stride, pad: pad),
                     weights: weights, relu: try fusedReLU(n, try o.uint8(actField)))

            case .add:
                guard ins.count == 2 else { throw fail(n, "ADD needs two inputs") }
                emit(name, .add, [try activation(n, ins[0]), try activation(n, ins[1])], out,
                     relu: try fusedReLU(n, try options?.uint8(0) ?? 0))

            case .relu:
                emit(name, .relu, [try activation(n, ins[0])], out)

            case .pad:
                guard ins.count == 2 else { throw fail(n, "PAD needs its input and the amounts") }
                let amounts = try constant(n, ins[1])
                guard amounts.allSatisfy({ $0.isFinite && abs($0) < 1_000_000 }) else { throw fail(n, "PAD amounts \(amounts) are not sizes") }
                let pads = amounts.map { Int($0) }
                // [[N before, after], [H...], [W...], [C before, after]]: zero channels appended,
                // or zero rows and columns (for the convolution that reads them).
                guard pads.count == 8, pads.allSatisfy({ $0 >= 0 }), pads[0] == 0, pads[1] == 0 else {
                    throw fail(n, "PAD \(pads) is not supported")
                }
                if pads[0..<7].allSatisfy({ $0 == 0 }), pads[7] > 0 {
                    emit(name, .padChannels, [try activation(n, ins[0])], out, attributes: .init(extraChannels: pads[7]))
                } else if pads[6] == 0, pads[7] == 0 {
                    spatialPads[out] = (try activation(n, ins[0]), [pads[2], pads[4], pads[3], pads[5]])
                } else {
                    throw fail(n, "PAD \(pads) pads channels and pixels at once, or channels in front; not supported")
                }

            case .resizeBilinear:
                // Options: align_corners (2), half_pixel_centers (3); the size is the output's shape.
                let alignCorners = try options?.uint8(2) ?? 0 != 0, halfPixelCenters = try options?.uint8(3) ?? 0 != 0
                guard !(alignCorners && halfPixelCenters) else { throw fail(n, "RESIZE_BILINEAR with aligned corners and half-pixel centres") }
                guard outShape[0] == infos[ins[0]].shape[0], outShape[3] == infos[ins[0]].shape[3] else {
                    throw fail(n, "RESIZE_BILINEAR \(infos[ins[0]].shape) → \(outShape) changes more than rows and columns")
                }
                emit(name, .resizeBilinear, [try activation(n, ins[0])], out,
                     attributes: .init(size: [outShape[1], outShape[2]], alignCorners: alignCorners, halfPixelCenters: halfPixelCenters))

            case .depthToSpace:
                guard let block = try options?.int32(0), block > 1 else { throw fail(n, "DEPTH_TO_SPACE without a block size") }
                emit(name, .depthToSpace, [try activation(n, ins[0])], out, attributes: .init(blockSize: Int(block)))

            case .maxPool2d:
                guard let o = options else { throw fail(n, "MAX_POOL_2D without options") }
                let stride = [Int(try o.int32(2, default: 1)), Int(try o.int32(1, default: 1))]
                let kernel = [Int(try o.int32(4, default: 1)), Int(try o.int32(3, default: 1))]
                let pad = padding(try o.uint8(0), input: infos[ins[0]].shape, output: outShape, kernel: kernel, stride: stride)
                guard try o.uint8(5) == 0 else { throw fail(n, "fused activation on pooling is not supported") }
                emit(name, .maxPool, [try activation(n, ins[0])], out, attributes: .init(kernel: kernel, stride: stride, pad: pad))

            case .reshape:
                // Only the flattening of a head [1, H, W, C] into [1, H·W·C/K, K].
                let source = infos[ins[0]].shape
                guard source.count == 4, outShape.count == 3, let name = activations[ins[0]],
                      outShape[1] * outShape[2] == source[1] * source[2] * source[3] else {
                    throw fail(n, "RESHAPE \(source) → \(outShape) is not supported; only detection heads flattened to [anchors, values] are")
                }
                outputHeads["#\(out)"] = [(name, source[3])]
                outputHeads[infos[out].name] = [(name, source[3])]

            case .concatenation:
                guard let axis = try options?.int32(0), axis == 1 else { throw fail(n, "CONCATENATION is supported along the anchor axis only") }
                var heads: [(tensor: String, channels: Int)] = []
                for i in ins {
                    guard let part = outputHeads["#\(i)"] else { throw fail(n, "CONCATENATION of tensors that are not flattened heads") }
                    heads += part
                }
                outputHeads[name] = heads
            }
        }

        /// The heads that the graph output `name` concatenates, with anchors per cell.
        func heads(named name: String, valuesPerAnchor: Int) throws -> [ModelManifest.DetectorSpec.Head] {
            guard let parts = outputHeads[name] else {
                throw ImportError(file: file, "the graph has no output '\(name)' made of flattened heads")
            }
            return try parts.map { part in
                guard part.channels % valuesPerAnchor == 0 else {
                    throw ImportError(file: file, "head '\(part.tensor)' has \(part.channels) channels, not a multiple of \(valuesPerAnchor)")
                }
                return .init(tensor: part.tensor, anchorsPerCell: part.channels / valuesPerAnchor)
            }
        }
    }
}
