import Foundation
import Testing
@testable import VeilEngine
@testable import VeilImport
@testable import VeilTensor

/// The Caffe importer on a small net that this test writes itself (prototxt text and a
/// caffemodel in protobuf wire format), checked against the same net computed by hand.
@Suite(.serialized)
struct CaffeImporterTests {
    /// Protobuf wire-format writer: the test's own, independent of the importer's reader.
    struct Wire {
        var bytes: [UInt8] = []
        mutating func varint(_ v: UInt64) {
            var v = v
            while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            bytes.append(UInt8(v))
        }
        mutating func field(_ number: Int, bytes payload: [UInt8]) {
            varint(UInt64(number << 3 | 2)); varint(UInt64(payload.count)); bytes += payload
        }
        mutating func field(_ number: Int, string: String) { field(number, bytes: Array(string.utf8)) }
        mutating func packedFloats(_ number: Int, _ values: [Float]) {
            field(number, bytes: values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) })
        }
    }

    static func blob(_ shape: [Int], _ values: [Float]) -> [UInt8] {
        var shapeMessage = Wire()
        var dims = Wire()
        for d in shape { dims.varint(UInt64(d)) }
        shapeMessage.field(1, bytes: dims.bytes)  // BlobShape.dim, packed
        var b = Wire()
        b.field(7, bytes: shapeMessage.bytes)     // BlobProto.shape
        b.packedFloats(5, values)                 // BlobProto.data, packed
        return b.bytes
    }

    static func layer(_ name: String, _ type: String, blobs: [[UInt8]]) -> [UInt8] {
        var l = Wire()
        l.field(1, string: name)
        l.field(2, string: type)
        for b in blobs { l.field(7, bytes: b) }
        return l.bytes
    }

    static let prototxt = """
    name: "tiny"  # a comment
    layer { name: "data" type: "Input" top: "data" input_param { shape: { dim: 1 dim: 2 dim: 6 dim: 6 } } }
    layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
            convolution_param { num_output: 3 kernel_size: 3 stride: 1 pad: 1 } }
    layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" batch_norm_param { use_global_stats: true } }
    layer { name: "scale" type: "Scale" bottom: "conv" top: "conv" scale_param { bias_term: true } }
    layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
    layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
    layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 2 } }
    layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
    """

    struct Weights {
        var conv: [Float] = (0..<54).map { (i: Int) -> Float in Float((i * 5) % 13) / 13 - 0.5 }
        var convBias: [Float] = [0.05, -0.1, 0.2]
        var mean: [Float] = [1.0, -2.0, 0.5]      // stored ×2 with factor 2 below
        var variance: [Float] = [0.5, 2.0, 1.0]
        var gamma: [Float] = [1.5, 0.5, 1]
        var beta: [Float] = [0, 0.2, -0.3]
        var fc: [Float] = (0..<54).map { (i: Int) -> Float in Float((i * 7) % 11) / 11 - 0.5 }
        var fcBias: [Float] = [0.1, -0.1]
    }

    static func caffemodel(_ w: Weights) -> [UInt8] {
        var net = Wire()
        net.field(1, string: "tiny")
        net.field(100, bytes: layer("data", "Input", blobs: []))
        net.field(100, bytes: layer("conv", "Convolution", blobs: [blob([3, 2, 3, 3], w.conv), blob([3], w.convBias)]))
        // Caffe stores running sums and their normalisation factor.
        net.field(100, bytes: layer("bn", "BatchNorm", blobs: [blob([3], w.mean.map { $0 * 2 }), blob([3], w.variance.map { $0 * 2 }), blob([1], [2])]))
        net.field(100, bytes: layer("scale", "Scale", blobs: [blob([3], w.gamma), blob([3], w.beta)]))
        net.field(100, bytes: layer("fc", "InnerProduct", blobs: [blob([2, 27], w.fc), blob([2], w.fcBias)]))
        return net.bytes
    }

    /// The network by hand: conv (pad 1) → BN → ReLU → max pool 3/2 with Caffe's ceil
    /// (6×6 → 3×3) → fully connected → softmax.
    static func handComputed(_ w: Weights, _ x: [Float]) -> Float {
        var act = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: 6), count: 6), count: 3)
        for o in 0..<3 {
            for y in 0..<6 {
                for xx in 0..<6 {
                    var v = Double(w.convBias[o])
                    for i in 0..<2 { for ky in 0..<3 { for kx in 0..<3 {
                        let iy = y + ky - 1, ix = xx + kx - 1
                        if (0..<6).contains(iy) && (0..<6).contains(ix) {
                            v += Double(x[(i * 6 + iy) * 6 + ix]) * Double(w.conv[((o * 2 + i) * 3 + ky) * 3 + kx])
                        }
                    } } }
                    let normalised: Double = (v - Double(w.mean[o])) / (Double(w.variance[o]) + 1e-5).squareRoot()
                    v = normalised * Double(w.gamma[o]) + Double(w.beta[o])
                    act[o][y][xx] = max(0, v)
                }
            }
        }
        var pooled = [Double]()
        for o in 0..<3 { for py in 0..<3 { for px in 0..<3 {
            var m = -Double.infinity
            for y in (py * 2)..<min(py * 2 + 3, 6) { for xx in (px * 2)..<min(px * 2 + 3, 6) { m = max(m, act[o][y][xx]) } }
            pooled.append(m)
        } } }
        var logits: [Double] = []
        for k in 0..<2 {
            var sum = Double(w.fcBias[k])
            for i in 0..<27 { sum += Double(w.fc[k * 27 + i]) * pooled[i] }
            logits.append(sum)
        }
        return Float(exp(logits[1]) / (exp(logits[0]) + exp(logits[1])))
    }

    static func write(_ prototxt: String, _ model: [UInt8]) throws -> (String, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-caffe-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = dir.appendingPathComponent("deploy.prototxt"), m = dir.appendingPathComponent("net.caffemodel")
        try Data(prototxt.utf8).write(to: p)
        try Data(model).write(to: m)
        return (p.path, m.path)
    }

    static let description = ModelDescription(
        name: "tiny", version: "1", license: "CC0-1.0", origin: "test",
        preprocessing: [], outputs: [.init(name: "positive", tensor: "prob", channel: 1)], converter: "test")

    @Test func importedNetMatchesHandComputation() throws {
        let w = Weights()
        let (p, m) = try Self.write(Self.prototxt, Self.caffemodel(w))
        let output = try CaffeImporter.importModel(prototxt: p, caffemodel: m, description: Self.description)
        #expect(output.manifest.graph.map(\.op.rawValue) == ["conv2d", "batchNorm", "relu", "maxPool", "fullyConnected", "softmax"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-imported-\(UUID())").path
        try output.write(to: dir)
        let model = try Model.load(manifestAt: dir + "/manifest.json", runtime: Runtime(threads: 2))
        let x: [Float] = (0..<72).map { (i: Int) -> Float in Float((i * 3) % 17) / 8 - 1 }
        let prob = try model.run(Tensor(batchNCHW: [x], channels: 2, height: 6, width: 6))["prob"]!
        let expected = Self.handComputed(w, x)
        #expect(abs(prob.storage[1] - expected) <= 1e-5, "imported \(prob.storage[1]) vs hand-computed \(expected)")
        // Deterministic: importing again gives the same bytes.
        let again = try CaffeImporter.importModel(prototxt: p, caffemodel: m, description: Self.description)
        #expect(again.weights == output.weights)
        #expect(again.manifest == output.manifest)
    }

    @Test func unsupportedAndMalformedInputsAreNamed() throws {
        let w = Weights()
        func expectImportError(_ prototxt: String, _ model: [UInt8], mentioning fragment: String,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
            let (p, m) = try Self.write(prototxt, model)
            do {
                _ = try CaffeImporter.importModel(prototxt: p, caffemodel: m, description: Self.description)
                Issue.record("import should fail", sourceLocation: sourceLocation)
            } catch let error as ImportError {
                #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
            }
        }
        try expectImportError(Self.prototxt.replacingOccurrences(of: "\"ReLU\"", with: "\"PReLU\""), Self.caffemodel(w), mentioning: "PReLU")
        try expectImportError(Self.prototxt.replacingOccurrences(of: "pool: MAX", with: "pool: STOCHASTIC"), Self.caffemodel(w), mentioning: "STOCHASTIC")
        try expectImportError(Self.prototxt, Array(Self.caffemodel(w).prefix(300)), mentioning: "net.caffemodel")
        try expectImportError("layer { name: \"a\" ", Self.caffemodel(w), mentioning: "missing '}'")
        try expectImportError(Self.prototxt.replacingOccurrences(of: "kernel_size: 3 stride: 1 pad: 1", with: "kernel_size: 5 pad: 1"),
                              Self.caffemodel(w), mentioning: "does not match kernel")
        var legacy = Wire()
        legacy.field(2, bytes: Self.layer("conv", "Convolution", blobs: []))
        try expectImportError(Self.prototxt, legacy.bytes, mentioning: "legacy V1")
    }
}
