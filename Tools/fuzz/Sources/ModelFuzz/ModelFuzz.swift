import Foundation
@testable import VeilEngine
@testable import VeilTensor

/// libFuzzer's entry point. The input is a model in one buffer: a 4-byte little-endian
/// manifest length, the manifest's JSON, then the safetensors weights. The weights' hash is
/// not checked here (a mutated file would never get past it), so mutations reach the
/// safetensors header parser and the graph compiler; a loaded model runs once on zeros.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 4 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
    guard length <= count - 4 else { return 0 }
    let manifest = Data(bytes[4..<(4 + length)]), weights = Data(bytes[(4 + length)...])
    guard let model = try? Model.load(manifest: manifest, weights: weights) else { return 0 }
    let (c, h, w) = model.inputSize
    // Small inputs only: a mutated manifest may declare a huge one.
    guard c > 0, h > 0, w > 0, c * h * w <= 1 << 16 else { return 0 }
    _ = try? model.run(Tensor(batchNCHW: [[Float](repeating: 0, count: c * h * w)], channels: c, height: h, width: w))
    return 0
}

/// With VEIL_FUZZ_WRITE_SEEDS=FOLDER, writes the seed corpus there and exits: small valid
/// models (convolution, batch norm, ReLU, pooling, fully connected, softmax) in the input
/// format above, so that mutations start from models that load. (A fuzzer binary has
/// libFuzzer's `main`, so the seeds come from its initializer.)
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    guard let folder = ProcessInfo.processInfo.environment["VEIL_FUZZ_WRITE_SEEDS"] else { return 0 }
    do {
        try writeSeeds(to: URL(fileURLWithPath: folder))
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("cannot write seeds: \(error)\n".utf8))
        exit(1)
    }
}

func writeSeeds(to folder: URL) throws {
    let tensors: [String: (shape: [Int], values: [Float])] = [
        "conv.weight": ([3, 2, 3, 3], (0..<54).map { Float($0 % 7) / 7 - 0.4 }),
        "conv.bias": ([3], [0.1, -0.2, 0.3]),
        "bn.mean": ([3], [0.5, -0.5, 0]), "bn.variance": ([3], [1, 4, 0.25]),
        "bn.scale": ([3], [1, 0.5, 2]), "bn.bias": ([3], [0, 0.1, -0.1]),
        "fc.weight": ([2, 3], [1, -1, 0.5, -0.5, 1, 1]), "fc.bias": ([2], [0, 0.25]),
    ]
    let weights = try SafeTensorsWriter.encode(tensors)
    for (name, pool) in [("tiny-average", ModelManifest.Node.Operation.averagePool), ("tiny-max", .maxPool)] {
        let manifest = ModelManifest(
            name: name, version: "1", license: "CC0-1.0", provenance: .init(sources: [], converter: "ModelFuzz"),
            weights: .init(file: "weights.safetensors", sha256: ""),
            input: .init(tensor: "x", channels: 2, height: 5, width: 5), preprocessing: [],
            outputs: [.init(name: "p", tensor: "prob", channel: 1)],
            graph: [
                .init(name: "conv", op: .conv2d, inputs: ["x"], output: "c",
                      attributes: .init(kernel: [3, 3], pad: [1, 1, 1, 1]), weights: ["weight": "conv.weight", "bias": "conv.bias"]),
                .init(name: "bn", op: .batchNorm, inputs: ["c"], output: "b",
                      weights: ["mean": "bn.mean", "variance": "bn.variance", "scale": "bn.scale", "bias": "bn.bias"]),
                .init(name: "relu", op: .relu, inputs: ["b"], output: "r"),
                .init(name: "pool", op: pool, inputs: ["r"], output: "g", attributes: .init(kernel: [5, 5])),
                .init(name: "fc", op: .fullyConnected, inputs: ["g"], output: "f", weights: ["weight": "fc.weight", "bias": "fc.bias"]),
                .init(name: "softmax", op: .softmax, inputs: ["f"], output: "prob"),
            ])
        let json = try JSONEncoder().encode(manifest)
        var seed = Data((0..<4).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) })
        seed += json
        seed += Data(weights)
        try seed.write(to: folder.appendingPathComponent(name + ".model"))
    }
}
