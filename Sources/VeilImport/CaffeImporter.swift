import Foundation
import VeilEngine

/// Converts a Caffe network (`deploy.prototxt` + `.caffemodel`) into Veil's model format.
///
/// The prototxt gives the structure and layer parameters; the caffemodel, a binary
/// `NetParameter`, gives each layer's blobs. Supported layers: Input, Convolution (any
/// kernel, stride, padding, groups), BatchNorm (+ the Scale that follows it), ReLU, Pooling
/// (MAX, AVE; Caffe's ceil rounding), Eltwise (SUM), InnerProduct, Softmax, Sigmoid, Concat.
/// Anything else, or any parameter Veil would silently ignore, is an ``ImportError``.
///
/// The conversion is deterministic: the same files always give the same bytes, which is what
/// lets a test re-import the originals and compare with the committed weights.
package struct CaffeImporter {
    private struct Blob {
        var shape: [Int]
        var values: [Float]
    }

    /// Imports the files at the given paths.
    package static func importModel(prototxt prototxtPath: String, caffemodel modelPath: String,
                                   description: ModelDescription) throws -> ImportedModel {
        func read(_ path: String) throws -> [UInt8] {
            do { return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw ImportError(file: path, "cannot read: \((error as NSError).localizedDescription)")
            }
        }
        let prototxtBytes = try read(prototxtPath)
        let modelBytes = try read(modelPath)
        let net = try TextMessage.parse(String(decoding: prototxtBytes, as: UTF8.self), file: prototxtPath)
        let blobs = try readBlobs(modelBytes, file: modelPath)

        var converter = Converter(file: prototxtPath, blobs: blobs)
        try converter.convert(net)

        let weights = try SafeTensorsWriter.encode(converter.tensors.mapValues { ($0.shape, $0.values) },
                                                    metadata: ["format": "veil-model", "model": description.name])
        guard let input = converter.input else { throw ImportError(file: prototxtPath, "the network declares no input") }
        for output in description.outputs where !converter.graph.contains(where: { $0.output == output.tensor }) {
            throw ImportError(file: prototxtPath, "output '\(output.name)' names tensor '\(output.tensor)', which no layer writes; "
                              + "tensors: \(converter.graph.suffix(3).map(\.output).joined(separator: ", "))…")
        }
        let manifest = ModelManifest(
            format: "veil-model", formatVersion: 1,
            name: description.name, version: description.version, license: description.license,
            summary: description.summary,
            provenance: .init(
                sources: [
                    .init(origin: "\(description.origin): \(URL(fileURLWithPath: prototxtPath).lastPathComponent)",
                          sha256: SHA256Hasher.hex(prototxtBytes)),
                    .init(origin: "\(description.origin): \(URL(fileURLWithPath: modelPath).lastPathComponent)",
                          sha256: SHA256Hasher.hex(modelBytes)),
                ],
                converter: description.converter, notes: description.notes),
            weights: .init(file: "weights.safetensors", sha256: SHA256Hasher.hex(weights)),
            input: input,
            preprocessing: description.preprocessing,
            outputs: description.outputs,
            graph: converter.graph,
            embedding: description.embedding)
        return ImportedModel(manifest: manifest, weights: weights)
    }

    /// Layer name → blobs, from a binary NetParameter (new-style `layer`, field 100).
    private static func readBlobs(_ bytes: [UInt8], file: String) throws -> [String: [Blob]] {
        var result: [String: [Blob]] = [:]
        let net = try ProtobufReader.fields(bytes[...], file: file)
        if net.contains(where: { $0.number == 2 }) && !net.contains(where: { $0.number == 100 }) {
            throw ImportError(file: file, "uses the legacy V1 'layers' format; upgrade it with Caffe's upgrade_net_proto_binary first")
        }
        for field in net where field.number == 100 {
            guard case .bytes(let layerBytes) = field.value else { continue }
            let layer = try ProtobufReader.fields(layerBytes, file: file)
            guard let name = ProtobufReader.string(layer, number: 1) else { continue }
            var blobs: [Blob] = []
            for blobField in layer where blobField.number == 7 {
                guard case .bytes(let blobBytes) = blobField.value else { continue }
                let blob = try ProtobufReader.fields(blobBytes, file: file)
                var values = try ProtobufReader.floats(blob, number: 5, file: file)
                if values.isEmpty { values = try ProtobufReader.doubles(blob, number: 8, file: file) }
                var shape: [Int] = []
                for shapeField in blob where shapeField.number == 7 {
                    if case .bytes(let s) = shapeField.value {
                        shape = try ProtobufReader.integers(try ProtobufReader.fields(s, file: file), number: 1, file: file).map { Int($0) }
                    }
                }
                if shape.isEmpty {  // legacy num/channels/height/width
                    shape = try (1...4).map { n in Int(try ProtobufReader.integers(blob, number: n, file: file).first ?? 1) }
                }
                guard shape.reduce(1, *) == values.count else {
                    throw ImportError(file: file, "layer '\(name)': blob of shape \(shape) holds \(values.count) values")
                }
                blobs.append(Blob(shape: shape, values: values))
            }
            result[name] = blobs
        }
        return result
    }

    /// Walks the prototxt's layers, emitting manifest nodes and weight tensors.
    private struct Converter {
        let file: String
        let blobs: [String: [Blob]]
        var tensors: [String: Blob] = [:]
        var graph: [ModelManifest.Node] = []
        var input: ModelManifest.InputSpec?
        /// Caffe blob name → the SSA tensor currently holding it (Caffe layers often work in place).
        var current: [String: String] = [:]

        init(file: String, blobs: [String: [Blob]]) {
            self.file = file
            self.blobs = blobs
        }

        func fail(_ layer: String, _ reason: String) -> ImportError { ImportError(file: file, "layer '\(layer)': \(reason)") }

        mutating func convert(_ net: TextMessage) throws {
            if let name = net.scalar("input") {
                let dims = net.message("input_shape")?.ints("dim") ?? net.ints("input_dim")
                try declareInput(name, dims: dims, layer: "input")
            }
            let layers = net.messages("layer")
            if layers.isEmpty && !net.messages("layers").isEmpty {
                throw ImportError(file: file, "uses the legacy V1 'layers' format; upgrade it with Caffe's upgrade_net_proto_text first")
            }
            var index = 0
            while index < layers.count {
                let layer = layers[index]
                let name = layer.scalar("name") ?? "layer\(index)"
                let type = layer.scalar("type") ?? ""
                // A BatchNorm followed by the Scale that applies to its output becomes one node.
                var scaleLayer: TextMessage?
                if type == "BatchNorm", index + 1 < layers.count, layers[index + 1].scalar("type") == "Scale",
                   layers[index + 1].scalars("bottom") == layer.scalars("top") {
                    scaleLayer = layers[index + 1]
                    index += 1
                }
                try convertLayer(layer, name: name, type: type, scale: scaleLayer)
                index += 1
            }
        }

        mutating func declareInput(_ name: String, dims: [Int], layer: String) throws {
            guard dims.count == 4, dims[1] > 0, dims[2] > 0, dims[3] > 0 else {
                throw fail(layer, "input shape must be N, C, H, W; got \(dims)")
            }
            input = .init(tensor: name, channels: dims[1], height: dims[2], width: dims[3])
            current[name] = name
        }

        func blobsOf(_ layer: String, count: ClosedRange<Int>) throws -> [Blob] {
            guard let b = blobs[layer] else { throw fail(layer, "has no weights in the caffemodel") }
            guard count.contains(b.count) else { throw fail(layer, "has \(b.count) blobs, expected \(count)") }
            return b
        }

        mutating func emit(_ name: String, op: ModelManifest.Node.Operation, bottoms: [String], tops: [String],
                           attributes: ModelManifest.Attributes? = nil, weights: [String: Blob] = [:]) throws {
            let inputs = try bottoms.map { bottom -> String in
                guard let tensor = current[bottom] else { throw fail(name, "reads blob '\(bottom)', which no earlier layer writes") }
                return tensor
            }
            guard tops.count == 1 else { throw fail(name, "has \(tops.count) outputs; Veil supports one") }
            var roles: [String: String] = [:]
            for (role, blob) in weights {
                let tensorName = "\(name).\(role)"
                tensors[tensorName] = blob
                roles[role] = tensorName
            }
            graph.append(.init(name: name, op: op, inputs: inputs, output: name, attributes: attributes,
                               weights: roles.isEmpty ? nil : roles))
            current[tops[0]] = name
        }

        mutating func convertLayer(_ layer: TextMessage, name: String, type: String, scale: TextMessage?) throws {
            let bottoms = layer.scalars("bottom"), tops = layer.scalars("top")
            switch type {
            case "Input":
                let dims = layer.message("input_param")?.message("shape")?.ints("dim") ?? []
                try declareInput(tops.first ?? name, dims: dims, layer: name)

            case "Convolution":
                let p = layer.message("convolution_param") ?? TextMessage()
                if let d = p.ints("dilation").first, d != 1 { throw fail(name, "dilation \(d) is not supported") }
                let kernel = try pair(p, "kernel", layer: name, default: nil)
                let stride = try pair(p, "stride", layer: name, default: 1)
                let pad = try pair(p, "pad", layer: name, default: 0)
                let hasBias = p.bool("bias_term") ?? true
                let b = try blobsOf(name, count: hasBias ? 2...2 : 1...1)
                guard b[0].shape.count == 4, b[0].shape[2] == kernel[0], b[0].shape[3] == kernel[1] else {
                    throw fail(name, "weight blob \(b[0].shape) does not match kernel \(kernel)")
                }
                var weights = ["weight": b[0]]
                if hasBias { weights["bias"] = Blob(shape: [b[1].values.count], values: b[1].values) }
                try emit(name, op: .conv2d, bottoms: bottoms, tops: tops,
                         attributes: .init(outputChannels: p.int("num_output"), groups: p.int("group") ?? 1,
                                           kernel: kernel, stride: stride, pad: [pad[0], pad[1], pad[0], pad[1]]),
                         weights: weights)

            case "BatchNorm":
                let p = layer.message("batch_norm_param")
                if p?.bool("use_global_stats") == false { throw fail(name, "uses batch statistics; only inference (global stats) is supported") }
                let b = try blobsOf(name, count: 3...3)
                // Caffe stores running sums with a normalisation factor in the third blob.
                let factor: Float = b[2].values.first.map { $0 == 0 ? 0 : 1 / $0 } ?? 1
                var weights = ["mean": Blob(shape: [b[0].values.count], values: b[0].values.map { $0 * factor }),
                               "variance": Blob(shape: [b[1].values.count], values: b[1].values.map { $0 * factor })]
                var outputTops = tops
                if let scale {
                    let scaleName = scale.scalar("name") ?? "\(name)_scale"
                    let hasBias = scale.message("scale_param")?.bool("bias_term") ?? false
                    let s = try blobsOf(scaleName, count: hasBias ? 2...2 : 1...1)
                    weights["scale"] = Blob(shape: [s[0].values.count], values: s[0].values)
                    if hasBias { weights["bias"] = Blob(shape: [s[1].values.count], values: s[1].values) }
                    outputTops = scale.scalars("top")
                }
                try emit(name, op: .batchNorm, bottoms: bottoms, tops: outputTops,
                         attributes: .init(epsilon: p?.float("eps") ?? 1e-5), weights: weights)

            case "Scale":
                throw fail(name, "a Scale layer that does not follow a BatchNorm is not supported")

            case "ReLU":
                if let slope = layer.message("relu_param")?.float("negative_slope"), slope != 0 {
                    throw fail(name, "leaky ReLU (negative_slope \(slope)) is not supported")
                }
                try emit(name, op: .relu, bottoms: bottoms, tops: tops)

            case "Pooling":
                let p = layer.message("pooling_param") ?? TextMessage()
                if p.bool("global_pooling") == true { throw fail(name, "global_pooling is not supported; give kernel_size") }
                let kind = p.scalar("pool") ?? "MAX"
                guard kind == "MAX" || kind == "AVE" else { throw fail(name, "pool \(kind) is not supported") }
                let kernel = try pair(p, "kernel", layer: name, default: nil)
                let stride = try pair(p, "stride", layer: name, default: 1)
                let pad = try pair(p, "pad", layer: name, default: 0)
                try emit(name, op: kind == "MAX" ? .maxPool : .averagePool, bottoms: bottoms, tops: tops,
                         attributes: .init(kernel: kernel, stride: stride, pad: [pad[0], pad[1], pad[0], pad[1]], ceilMode: true))

            case "Eltwise":
                let p = layer.message("eltwise_param")
                if let op = p?.scalar("operation"), op != "SUM" { throw fail(name, "Eltwise \(op) is not supported") }
                if let coeffs = p?.scalars("coeff"), coeffs.contains(where: { Float($0) != 1 }) {
                    throw fail(name, "Eltwise coefficients other than 1 are not supported")
                }
                guard bottoms.count == 2 else { throw fail(name, "Eltwise over \(bottoms.count) inputs is not supported") }
                try emit(name, op: .add, bottoms: bottoms, tops: tops)

            case "InnerProduct":
                let p = layer.message("inner_product_param") ?? TextMessage()
                let hasBias = p.bool("bias_term") ?? true
                let b = try blobsOf(name, count: hasBias ? 2...2 : 1...1)
                let units = p.int("num_output") ?? 0
                guard units > 0, b[0].values.count % units == 0 else { throw fail(name, "weight blob \(b[0].shape) does not match num_output \(units)") }
                var weights = ["weight": Blob(shape: [units, b[0].values.count / units], values: b[0].values)]
                if hasBias { weights["bias"] = Blob(shape: [units], values: b[1].values) }
                try emit(name, op: .fullyConnected, bottoms: bottoms, tops: tops, attributes: .init(units: units), weights: weights)

            case "Softmax":
                if let axis = layer.message("softmax_param")?.int("axis"), axis != 1 { throw fail(name, "softmax over axis \(axis) is not supported") }
                try emit(name, op: .softmax, bottoms: bottoms, tops: tops)
            case "Sigmoid":
                try emit(name, op: .sigmoid, bottoms: bottoms, tops: tops)
            case "Concat":
                if let axis = layer.message("concat_param")?.int("axis"), axis != 1 { throw fail(name, "concat over axis \(axis) is not supported") }
                try emit(name, op: .concat, bottoms: bottoms, tops: tops)
            case "Dropout":
                // Identity at inference.
                guard let bottom = bottoms.first, let top = tops.first, let tensor = current[bottom] else { throw fail(name, "malformed Dropout") }
                current[top] = tensor
            default:
                throw fail(name, "layer type '\(type)' is not supported")
            }
        }

        /// Caffe's `x` / `x_h` + `x_w` convention for kernel, stride and pad.
        func pair(_ p: TextMessage, _ key: String, layer: String, default value: Int?) throws -> [Int] {
            if let h = p.int("\(key)_h"), let w = p.int("\(key)_w") { return [h, w] }
            let sizeKey = key == "kernel" ? "kernel_size" : key
            let values = p.ints(sizeKey)
            switch values.count {
            case 0:
                guard let value else { throw fail(layer, "has no \(sizeKey)") }
                return [value, value]
            case 1: return [values[0], values[0]]
            case 2: return values
            default: throw fail(layer, "\(sizeKey) has \(values.count) values")
            }
        }
    }
}
