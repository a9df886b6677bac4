import Foundation
import Testing
@testable import VeilEngine
@testable import VeilTensor

/// A model that is missing, truncated or inconsistent with its manifest fails at load with an
/// error naming the file (and node), never at inference.
@Suite(.serialized)
struct ModelLoadingTests {
    /// A tiny valid model: conv 2→3 (3×3, pad 1) → batchNorm → relu → averagePool (whole
    /// image) → fullyConnected 3→2 → softmax.
    struct TinyModel {
        var manifest: ModelManifest
        var tensors: [String: (shape: [Int], values: [Float])]

        init() {
            tensors = [
                "conv.weight": ([3, 2, 3, 3], (0..<54).map { Float($0 % 7) / 7 - 0.4 }),
                "conv.bias": ([3], [0.1, -0.2, 0.3]),
                "bn.mean": ([3], [0.5, -0.5, 0]),
                "bn.variance": ([3], [1, 4, 0.25]),
                "bn.scale": ([3], [1, 0.5, 2]),
                "bn.bias": ([3], [0, 0.1, -0.1]),
                "fc.weight": ([2, 3], [1, -1, 0.5, -0.5, 1, 1]),
                "fc.bias": ([2], [0, 0.25]),
            ]
            manifest = ModelManifest(
                name: "tiny", version: "1", license: "CC0-1.0",
                provenance: .init(sources: [], converter: "test"),
                weights: .init(file: "weights.safetensors", sha256: ""),
                input: .init(tensor: "x", channels: 2, height: 5, width: 5),
                preprocessing: [],
                outputs: [.init(name: "p", tensor: "prob", channel: 1)],
                graph: [
                    .init(name: "conv", op: .conv2d, inputs: ["x"], output: "c",
                          attributes: .init(kernel: [3, 3], pad: [1, 1, 1, 1]), weights: ["weight": "conv.weight", "bias": "conv.bias"]),
                    .init(name: "bn", op: .batchNorm, inputs: ["c"], output: "b",
                          weights: ["mean": "bn.mean", "variance": "bn.variance", "scale": "bn.scale", "bias": "bn.bias"]),
                    .init(name: "relu", op: .relu, inputs: ["b"], output: "r"),
                    .init(name: "pool", op: .averagePool, inputs: ["r"], output: "g", attributes: .init(kernel: [5, 5])),
                    .init(name: "fc", op: .fullyConnected, inputs: ["g"], output: "f", weights: ["weight": "fc.weight", "bias": "fc.bias"]),
                    .init(name: "softmax", op: .softmax, inputs: ["f"], output: "prob"),
                ])
        }

        /// Writes the model with its manifest's JSON changed by `edit` (as parsed objects).
        func write(editingJSON edit: (inout [String: Any]) -> Void) throws -> String {
            let path = try write()
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
            return path
        }

        /// Writes the model into a fresh folder and returns the manifest's path.
        func write(weights overrideBytes: [UInt8]? = nil, fixHash: Bool = true) throws -> String {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-model-\(UUID())")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let bytes = try overrideBytes ?? SafeTensorsWriter.encode(tensors)
            try Data(bytes).write(to: dir.appendingPathComponent("weights.safetensors"))
            var m = manifest
            if fixHash { m.weights.sha256 = SHA256Hasher.hex(bytes) }
            try JSONEncoder().encode(m).write(to: dir.appendingPathComponent("manifest.json"))
            return dir.appendingPathComponent("manifest.json").path
        }
    }

    /// The same network computed by hand with plain loops, as the independent reference.
    /// With `maxPooled`, a 3×3, stride-1 max pooling with padding 1 follows the ReLU.
    /// `shortcut`: the weights of a 1×1 projection of `shortcutInput` (else of `input`).
    static func handComputed(_ tiny: TinyModel, input: [Float], shortcut: [Float]? = nil, shortcutInput: [Float]? = nil,
                             maxPooled: Bool = false) -> Float {
        let t = tiny.tensors
        var pooled = [Double](repeating: 0, count: 3)
        for o in 0..<3 {
            var map = [Double](repeating: 0, count: 25)
            let s = Double(t["bn.scale"]!.values[o]) / (Double(t["bn.variance"]!.values[o]) + 1e-5).squareRoot()
            for y in 0..<5 {
                for x in 0..<5 {
                    var v = Double(t["conv.bias"]!.values[o])
                    for i in 0..<2 {
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                let iy = y + ky - 1, ix = x + kx - 1
                                guard (0..<5).contains(iy), (0..<5).contains(ix) else { continue }
                                v += Double(input[(i * 5 + iy) * 5 + ix]) * Double(t["conv.weight"]!.values[((o * 2 + i) * 3 + ky) * 3 + kx])
                            }
                        }
                    }
                    v = (v - Double(t["bn.mean"]!.values[o])) * s + Double(t["bn.bias"]!.values[o])
                    if let shortcut {  // a 1×1 projection of the input, added before the ReLU
                        let projected = shortcutInput ?? input
                        for i in 0..<2 { v += Double(projected[(i * 5 + y) * 5 + x]) * Double(shortcut[o * 2 + i]) }
                    }
                    map[y * 5 + x] = max(0, v)
                }
            }
            for y in 0..<5 {
                for x in 0..<5 {
                    var v = map[y * 5 + x]
                    if maxPooled {
                        for iy in max(0, y - 1)...min(4, y + 1) {
                            for ix in max(0, x - 1)...min(4, x + 1) { v = max(v, map[iy * 5 + ix]) }
                        }
                    }
                    pooled[o] += v / 25
                }
            }
        }
        let w = t["fc.weight"]!.values, b = t["fc.bias"]!.values
        let logits = (0..<2).map { k in (0..<3).reduce(Double(b[k])) { $0 + Double(w[k * 3 + $1]) * pooled[$1] } }
        return Float(exp(logits[1]) / (exp(logits[0]) + exp(logits[1])))
    }

    @Test func validModelMatchesHandComputation() throws {
        let tiny = TinyModel()
        let model = try Model.load(manifestAt: try tiny.write(), runtime: Runtime(threads: 2))
        // Batch norm was folded and ReLU fused: conv, pool, fc, softmax remain.
        #expect(model.steps.count == 4)
        let inputs: [[Float]] = [(0..<50).map { Float($0 % 9) / 4 - 1 }, (0..<50).map { Float(($0 * 7) % 11) / 5 - 1 }]
        let out = try model.run(Tensor(batchNCHW: inputs, channels: 2, height: 5, width: 5))["prob"]!
        for (n, input) in inputs.enumerated() {
            let expected = Self.handComputed(tiny, input: input)
            // The reference runs in Double without folding batch norm; the engine folds it and
            // computes in Float (ε = 1.2e-7) over ~50 terms per output, so 1e-5 leaves room
            // for rounding and none for a wrong weight, which moves the probability by 1e-2.
            #expect(abs(out.storage[1 * 2 + n] - expected) <= 1e-5, "image \(n): \(out.storage[2 + n]) vs \(expected)")
        }
        #expect(throws: ModelInputError.self) { try model.run(Tensor(zeros: .init(channels: 3, batch: 1, height: 5, width: 5))) }
    }

    static func expectLoadError(_ path: String, mentioning fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try Model.load(manifestAt: path, runtime: Runtime(threads: 2))
            Issue.record("loaded a broken model", sourceLocation: sourceLocation)
        } catch let error as ModelLoadingError {
            for fragment in fragments {
                #expect(error.description.contains(fragment), "\(error) should mention \(fragment)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// The manifest is as strict as a policy file: a misspelt or unknown key, an unknown
    /// operation and a broken preprocessing chain each fail at load, naming what is wrong.
    @Test func manifestTyposAreRejected() throws {
        func graph(_ json: inout [String: Any], _ index: Int, _ change: (inout [String: Any]) -> Void) {
            var nodes = json["graph"] as! [[String: Any]]
            change(&nodes[index])
            json["graph"] = nodes
        }
        // "strides" for "stride": without the check the pool would run at stride 1.
        Self.expectLoadError(try TinyModel().write { json in
            graph(&json, 3) { node in node["attributes"] = ["kernel": [5, 5], "strides": [2, 2]] }
        }, mentioning: ["unknown key", "graph[3].attributes.strides"])
        Self.expectLoadError(try TinyModel().write { $0["licence"] = "MIT" }, mentioning: ["unknown key 'licence'"])
        Self.expectLoadError(try TinyModel().write { json in graph(&json, 2) { $0["op"] = "gelu" } },
                             mentioning: ["gelu", "graph"])
        // Preprocessing: an unknown step, a channel order that is not one, a crop larger than
        // the resize before it, and a chain that ends at another size than the input's.
        let steps: [([[String: Any]], [String])] = [
            ([["op": "sharpen"]], ["sharpen"]),
            ([["op": "resize", "width": 5, "height": 5], ["op": "channelOrder", "order": "GBR"]], ["GBR"]),
            ([["op": "resize", "width": 4, "height": 4], ["op": "centerCrop", "width": 5, "height": 5]],
             ["preprocessing[1]", "centerCrop"]),
            ([["op": "resize", "width": 6, "height": 6]], ["6x6", "2x5x5"]),
        ]
        for (chain, fragments) in steps {
            Self.expectLoadError(try TinyModel().write { $0["preprocessing"] = chain }, mentioning: fragments)
        }
    }

    @Test func missingFilesAreNamed() throws {
        Self.expectLoadError("/nonexistent/manifest.json", mentioning: ["/nonexistent/manifest.json", "cannot read"])
        let path = try TinyModel().write()
        let weights = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("weights.safetensors")
        try FileManager.default.removeItem(at: weights)
        Self.expectLoadError(path, mentioning: ["weights.safetensors", "cannot read"])
    }

    @Test func truncatedWeightsAreRejected() throws {
        let tiny = TinyModel()
        let full = try SafeTensorsWriter.encode(tiny.tensors)
        for length in [4, 20, full.count / 2, full.count - 1] {
            Self.expectLoadError(try tiny.write(weights: Array(full.prefix(length))), mentioning: ["weights.safetensors"])
        }
    }

    @Test func digestMismatchIsRejected() throws {
        var tiny = TinyModel()
        tiny.manifest.weights.sha256 = String(repeating: "0", count: 64)
        Self.expectLoadError(try tiny.write(fixHash: false), mentioning: ["SHA-256", String(repeating: "0", count: 64)])
    }

    @Test func inconsistentGraphsNameTheNode() throws {
        var wrongShape = TinyModel()
        wrongShape.tensors["conv.weight"] = ([3, 1, 3, 3], [Float](repeating: 0, count: 27))
        Self.expectLoadError(try wrongShape.write(), mentioning: ["'conv'", "input channels"])

        var missing = TinyModel()
        missing.tensors["bn.mean"] = nil
        Self.expectLoadError(try missing.write(), mentioning: ["'bn'", "bn.mean"])

        var unused = TinyModel()
        unused.tensors["stray"] = ([1], [0])
        Self.expectLoadError(try unused.write(), mentioning: ["not used", "stray"])

        var dangling = TinyModel()
        dangling.manifest.graph[3].inputs = ["nowhere"]
        Self.expectLoadError(try dangling.write(), mentioning: ["'pool'", "nowhere"])

        var badOutput = TinyModel()
        badOutput.manifest.outputs[0].channel = 5
        Self.expectLoadError(try badOutput.write(), mentioning: ["channel 5"])

        var tooSmall = TinyModel()
        tooSmall.manifest.graph[3].attributes = .init(kernel: [9, 9])
        Self.expectLoadError(try tooSmall.write(), mentioning: ["'pool'"])

        var wrongFormat = TinyModel()
        wrongFormat.manifest.formatVersion = 2
        Self.expectLoadError(try wrongFormat.write(), mentioning: ["version 2"])
    }

    /// The fully connected layer can also read a reshaped (flattened) tensor: same numbers.
    @Test func reshapeBeforeTheClassifierKeepsTheResult() throws {
        var tiny = TinyModel()
        tiny.manifest.graph.insert(.init(name: "flatten", op: .reshape, inputs: ["g"], output: "gf",
                                         attributes: .init(shape: [3, 1, 1])), at: 4)
        tiny.manifest.graph[5].inputs = ["gf"]
        let model = try Model.load(manifestAt: try tiny.write(), runtime: Runtime(threads: 2))
        let input: [Float] = (0..<50).map { Float($0 % 9) / 4 - 1 }
        let out = try model.run(Tensor(batchNCHW: [input], channels: 2, height: 5, width: 5))["prob"]!
        #expect(abs(out.storage[1] - Self.handComputed(tiny, input: input)) <= 1e-5)
        var bad = TinyModel()
        bad.manifest.graph.insert(.init(name: "flatten", op: .reshape, inputs: ["g"], output: "gf",
                                        attributes: .init(shape: [2, 1, 1])), at: 4)
        bad.manifest.graph[5].inputs = ["gf"]
        Self.expectLoadError(try bad.write(), mentioning: ["'flatten'"])
    }

    /// A ResNet-style block, conv → batchNorm → add(projection of the input) → relu: the add
    /// and the ReLU join the convolution whichever side of the add it is on and whichever
    /// branch comes first, and the numbers are those of the plain graph, run after run
    /// (later runs reuse the first run's activation storage).
    @Test(arguments: [(["b", "s"], true), (["s", "b"], true), (["b", "s"], false)])
    func shortcutAddJoinsTheConvolution(operands: [String], projectionFirst: Bool) throws {
        var tiny = TinyModel()
        let projection: [Float] = [0.3, -0.2, 0.1, 0.4, -0.5, 0.25]
        tiny.tensors["proj.weight"] = ([3, 2, 1, 1], projection)
        let proj = ModelManifest.Node(name: "proj", op: .conv2d, inputs: ["x"], output: "s", weights: ["weight": "proj.weight"])
        // [conv, bn, relu, pool, fc, softmax] → [(proj), conv, bn, (proj), add, relu, …]
        tiny.manifest.graph.insert(.init(name: "add", op: .add, inputs: operands, output: "a"), at: 2)
        tiny.manifest.graph[3].inputs = ["a"]
        tiny.manifest.graph.insert(proj, at: projectionFirst ? 0 : 2)
        let model = try Model.load(manifestAt: try tiny.write(), runtime: Runtime(threads: 2))
        // proj, conv + bn + add + relu, pool, fc, softmax.
        #expect(model.steps.count == 5)
        #expect(model.steps.filter { $0.inputs.count == 2 }.count == 1, "one convolution takes the shortcut")
        try Self.expectRunsMatch(model, runs: 3, images: 2,
                                 input: { seed, n in (0..<50).map { Float(($0 * (7 + seed) + n * 3) % 11) / 5 - 1 } },
                                 expected: { Self.handComputed(tiny, input: $0, shortcut: projection) })
    }

    /// A ResNet stage's first block: the projection shortcut and the reducing 1×1 layer
    /// (with its ReLU) both read the block's input, and run as one step, whichever comes
    /// first in the graph; the numbers are those of the hand-computed plain graph.
    @Test(arguments: [true, false])
    func oneByOneSiblingsRunAsOneStep(projectionFirst: Bool) throws {
        var tiny = TinyModel()
        let projection: [Float] = [0.3, -0.2, 0.1, 0.4, -0.5, 0.25]
        let reducing: [Float] = [0.7, -0.6, 0.2, 0.9], reducingBias: [Float] = [0.1, -0.3]
        tiny.tensors["proj.weight"] = ([3, 2, 1, 1], projection)
        tiny.tensors["red.weight"] = ([2, 2, 1, 1], reducing)
        tiny.tensors["red.bias"] = ([2], reducingBias)
        // [conv, bn, relu, pool, fc, softmax] → [proj, red, red relu, conv(q), bn, add, relu, …]
        tiny.manifest.graph[0].inputs = ["q"]
        tiny.manifest.graph.insert(.init(name: "add", op: .add, inputs: ["b", "s"], output: "a"), at: 2)
        tiny.manifest.graph[3].inputs = ["a"]
        let siblings: [ModelManifest.Node] = [
            .init(name: "proj", op: .conv2d, inputs: ["x"], output: "s", weights: ["weight": "proj.weight"]),
            .init(name: "red", op: .conv2d, inputs: ["x"], output: "t", weights: ["weight": "red.weight", "bias": "red.bias"]),
        ]
        tiny.manifest.graph.insert(.init(name: "red relu", op: .relu, inputs: ["t"], output: "q"), at: 0)
        tiny.manifest.graph.insert(contentsOf: projectionFirst ? siblings : siblings.reversed(), at: 0)
        let model = try Model.load(manifestAt: try tiny.write(), runtime: Runtime(threads: 2))
        // proj and red (+ relu), conv + bn + add + relu, pool, fc, softmax.
        #expect(model.steps.count == 5)
        #expect(model.steps[0].summary == (projectionFirst ? "convolutions 1x1 s1 2→3 and →2" : "convolutions 1x1 s1 2→2 and →3"))
        func reduced(_ x: [Float]) -> [Float] {
            (0..<50).map { e in
                let (o, pixel) = (e / 25, e % 25)
                let v = Double(reducingBias[o]) + (0..<2).reduce(0.0) { $0 + Double(x[$1 * 25 + pixel]) * Double(reducing[o * 2 + $1]) }
                return Float(max(0, v))
            }
        }
        try Self.expectRunsMatch(model, runs: 2, images: 3,
                                 input: { seed, n in (0..<50).map { Float(($0 * (3 + seed) + n * 5) % 13) / 6 - 1 } },
                                 expected: { Self.handComputed(tiny, input: reduced($0), shortcut: projection, shortcutInput: $0) })
    }

    /// Of four 1×1 convolutions of one input, the first two ungrouped ones pair; a grouped one
    /// and the one left over run alone. Checked against the plain graph computed by hand,
    /// one image (each layer shared by the two threads) and three.
    @Test func onlyUngroupedOneByOneConvolutionsPairAndEachOnce() throws {
        var tiny = TinyModel()
        let wa: [Float] = [0.3, -0.2, 0.1, 0.4, -0.5, 0.25], ba: [Float] = [0.05, -0.1, 0.2]
        let wb: [Float] = [0.7, -0.6, 0.2, 0.9], bb: [Float] = [0.1, -0.3]
        let wc: [Float] = [0.8, -0.4], we: [Float] = [-0.35, 0.45]
        let wf: [Float] = (0..<16).map { Float(($0 * 5) % 7) / 7 - 0.4 }, bf: [Float] = [0, 0.25]
        tiny.tensors = [
            "a.weight": ([3, 2, 1, 1], wa), "a.bias": ([3], ba), "b.weight": ([2, 2, 1, 1], wb), "b.bias": ([2], bb),
            "c.weight": ([2, 1, 1, 1], wc), "e.weight": ([1, 2, 1, 1], we), "fc.weight": ([2, 8], wf), "fc.bias": ([2], bf),
        ]
        tiny.manifest.graph = [
            .init(name: "a", op: .conv2d, inputs: ["x"], output: "a", weights: ["weight": "a.weight", "bias": "a.bias"]),
            .init(name: "b", op: .conv2d, inputs: ["x"], output: "bt", weights: ["weight": "b.weight", "bias": "b.bias"]),
            .init(name: "b relu", op: .relu, inputs: ["bt"], output: "b"),
            .init(name: "c", op: .conv2d, inputs: ["x"], output: "c", attributes: .init(groups: 2), weights: ["weight": "c.weight"]),
            .init(name: "e", op: .conv2d, inputs: ["x"], output: "e", weights: ["weight": "e.weight"]),
            .init(name: "cat", op: .concat, inputs: ["a", "b", "c", "e"], output: "cat"),
            .init(name: "pool", op: .averagePool, inputs: ["cat"], output: "g", attributes: .init(kernel: [5, 5])),
            .init(name: "fc", op: .fullyConnected, inputs: ["g"], output: "f", weights: ["weight": "fc.weight", "bias": "fc.bias"]),
            .init(name: "softmax", op: .softmax, inputs: ["f"], output: "prob"),
        ]
        let model = try Model.load(manifestAt: try tiny.write(), runtime: Runtime(threads: 2))
        #expect(model.steps.map(\.summary).filter { $0.hasPrefix("convolutions") } == ["convolutions 1x1 s1 2→3 and →2"])
        #expect(model.steps.count == 7, "a and b, c, e, concat, pool, fc, softmax")
        func expected(_ x: [Float]) -> Float {
            var pooled = [Double](repeating: 0, count: 8)
            for pixel in 0..<25 {
                let v = (0..<2).map { Double(x[$0 * 25 + pixel]) }
                var features: [Double] = (0..<3).map { o in Double(ba[o]) + Double(wa[o * 2]) * v[0] + Double(wa[o * 2 + 1]) * v[1] }
                features += (0..<2).map { o in max(0, Double(bb[o]) + Double(wb[o * 2]) * v[0] + Double(wb[o * 2 + 1]) * v[1]) }
                features += (0..<2).map { o in Double(wc[o]) * v[o] }
                features.append(Double(we[0]) * v[0] + Double(we[1]) * v[1])
                for (k, f) in features.enumerated() { pooled[k] += f / 25 }
            }
            let logits = (0..<2).map { k in (0..<8).reduce(Double(bf[k])) { $0 + Double(wf[k * 8 + $1]) * pooled[$1] } }
            return Float(exp(logits[1]) / (exp(logits[0]) + exp(logits[1])))
        }
        for images in [1, 3] {
            try Self.expectRunsMatch(model, runs: 2, images: images,
                                     input: { seed, n in (0..<50).map { Float(($0 * (3 + seed) + n * 5) % 13) / 6 - 1 } },
                                     expected: expected)
        }
    }

    /// A small ResNet (stem, 1×1, 3×3 by F(2×2), 1×1 with the shortcut, global pool) keeps
    /// its channels in blocks from the stem's output to the pool; the same graph with one
    /// more reader of the first 1×1 layer's output, a depthwise convolution, which has no
    /// blocked kernel, keeps planes throughout. Both give the same bits.
    @Test func aResNetRunsOnBlockedChannelsWhereEveryLayerCan() throws {
        func values(_ count: Int, _ seed: Int) -> [Float] { (0..<count).map { Float(($0 * (7 + seed)) % 17) / 34 - 0.24 } }
        var tiny = TinyModel()
        tiny.manifest.input = .init(tensor: "x", channels: 3, height: 16, width: 16)
        tiny.tensors = [
            "stem.weight": ([32, 3, 3, 3], values(864, 1)), "stem.bias": ([32], values(32, 2)),
            "a.weight": ([32, 32, 1, 1], values(1024, 3)), "b.weight": ([32, 32, 3, 3], values(9216, 4)),
            "c.weight": ([32, 32, 1, 1], values(1024, 5)), "c.bias": ([32], values(32, 6)),
            "fc.weight": ([2, 32], values(64, 7)), "fc.bias": ([2], [0, 0.25]),
        ]
        tiny.manifest.graph = [
            .init(name: "stem", op: .conv2d, inputs: ["x"], output: "st", attributes: .init(kernel: [3, 3], pad: [1, 1, 1, 1]),
                  weights: ["weight": "stem.weight", "bias": "stem.bias"]),
            .init(name: "stem relu", op: .relu, inputs: ["st"], output: "sr"),
            .init(name: "stem pool", op: .maxPool, inputs: ["sr"], output: "s", attributes: .init(kernel: [2, 2], stride: [2, 2])),
            .init(name: "a", op: .conv2d, inputs: ["s"], output: "at", weights: ["weight": "a.weight"]),
            .init(name: "a relu", op: .relu, inputs: ["at"], output: "a"),
            .init(name: "b", op: .conv2d, inputs: ["a"], output: "bt", attributes: .init(kernel: [3, 3], pad: [1, 1, 1, 1]),
                  weights: ["weight": "b.weight"]),
            .init(name: "b relu", op: .relu, inputs: ["bt"], output: "b"),
            .init(name: "c", op: .conv2d, inputs: ["b"], output: "ct", weights: ["weight": "c.weight", "bias": "c.bias"]),
            .init(name: "shortcut", op: .add, inputs: ["ct", "s"], output: "sum"),
            .init(name: "c relu", op: .relu, inputs: ["sum"], output: "r"),
            .init(name: "pool", op: .averagePool, inputs: ["r"], output: "g", attributes: .init(kernel: [8, 8])),
            .init(name: "fc", op: .fullyConnected, inputs: ["g"], output: "f", weights: ["weight": "fc.weight", "bias": "fc.bias"]),
            .init(name: "softmax", op: .softmax, inputs: ["f"], output: "prob"),
        ]
        var planar = tiny
        planar.tensors["d.weight"] = ([32, 1, 3, 3], values(288, 8))
        planar.manifest.graph.insert(.init(name: "d", op: .conv2d, inputs: ["a"], output: "d",
                                           attributes: .init(groups: 32, kernel: [3, 3], pad: [1, 1, 1, 1]),
                                           weights: ["weight": "d.weight"]), at: 5)
        planar.manifest.outputs.append(.init(name: "q", tensor: "d", channel: 0))
        let runtime = Runtime(threads: 2)
        let blocked = try Model.load(manifestAt: try tiny.write(), runtime: runtime)
        let planes = try Model.load(manifestAt: try planar.write(), runtime: runtime)
        func layouts(_ model: Model) -> [String: Bool] {
            var found: [String: Bool] = [:]
            for step in model.steps {
                switch step.operation {
                case .convolution(let conv): found[step.name] = conv.blockedChannels
                case .convolutionThenMaxPool(let fused): found[step.name] = fused.blockedOutput
                default: break
                }
            }
            return found
        }
        #expect(layouts(blocked) == ["stem": true, "a": true, "b": true, "c": true])
        #expect(layouts(planes) == ["stem": false, "a": false, "b": false, "c": false, "d": false])
        for images in [1, 3] {
            let inputs: [[Float]] = (0..<images).map { n in
                (0..<768).map { (i: Int) -> Float in Float((i * 5 + n * 11) % 23) / 11 - 1 }
            }
            let x = Tensor(batchNCHW: inputs, channels: 3, height: 16, width: 16)
            let a = try blocked.run(x)["prob"]!, b = try planes.run(x)["prob"]!
            #expect(!a.shape.blocked && a.shape == b.shape)
            let (bitsA, bitsB) = (a.storage.map { $0.bitPattern }, b.storage.map { $0.bitPattern })
            #expect(bitsA == bitsB, "\(images) image(s)")
        }
    }

    /// Two padded 1×1 convolutions of the stem's output run as one product over planes: the
    /// blocked kernel has no padding, so the pair, and the stem before it, keep planes
    /// rather than fail to load.
    @Test func paddedSiblingsKeepPlanes() throws {
        func values(_ count: Int, _ seed: Int) -> [Float] { (0..<count).map { Float(($0 * (7 + seed)) % 17) / 34 - 0.24 } }
        var tiny = TinyModel()
        tiny.manifest.input = .init(tensor: "x", channels: 3, height: 16, width: 16)
        tiny.tensors = [
            "stem.weight": ([32, 3, 3, 3], values(864, 1)), "a.weight": ([32, 32, 1, 1], values(1024, 2)),
            "b.weight": ([16, 32, 1, 1], values(512, 3)), "fc.weight": ([2, 48], values(96, 4)), "fc.bias": ([2], [0, 0.25]),
        ]
        tiny.manifest.graph = [
            .init(name: "stem", op: .conv2d, inputs: ["x"], output: "st", attributes: .init(kernel: [3, 3], pad: [1, 1, 1, 1]),
                  weights: ["weight": "stem.weight"]),
            .init(name: "stem pool", op: .maxPool, inputs: ["st"], output: "s", attributes: .init(kernel: [2, 2], stride: [2, 2])),
            .init(name: "a", op: .conv2d, inputs: ["s"], output: "a", attributes: .init(kernel: [1, 1], pad: [1, 1, 1, 1]),
                  weights: ["weight": "a.weight"]),
            .init(name: "b", op: .conv2d, inputs: ["s"], output: "b", attributes: .init(kernel: [1, 1], pad: [1, 1, 1, 1]),
                  weights: ["weight": "b.weight"]),
            .init(name: "pool a", op: .averagePool, inputs: ["a"], output: "ga", attributes: .init(kernel: [10, 10])),
            .init(name: "pool b", op: .averagePool, inputs: ["b"], output: "gb", attributes: .init(kernel: [10, 10])),
            .init(name: "cat", op: .concat, inputs: ["ga", "gb"], output: "g"),
            .init(name: "fc", op: .fullyConnected, inputs: ["g"], output: "f", weights: ["weight": "fc.weight", "bias": "fc.bias"]),
            .init(name: "softmax", op: .softmax, inputs: ["f"], output: "prob"),
        ]
        let model = try Model.load(manifestAt: try tiny.write(), runtime: Runtime(threads: 2))
        var blocked: [String] = []
        for step in model.steps {
            switch step.operation {
            case .convolution(let conv) where conv.blockedChannels: blocked.append(step.name)
            case .convolutionThenMaxPool(let fused) where fused.blockedOutput: blocked.append(step.name)
            case .siblingConvolutions(let pair) where pair.merged.blockedChannels: blocked.append(step.name)
            default: break
            }
        }
        #expect(model.steps.map(\.summary).contains("convolutions 1x1 s1 32→32 and →16"))
        #expect(blocked.isEmpty, "\(blocked)")
        let p = try model.run(Tensor(batchNCHW: [values(768, 5)], channels: 3, height: 16, width: 16))["prob"]!
        let finite = p.storage.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    /// Runs `model` on `runs` batches of `images` inputs each and checks every image's
    /// probability against `expected`, run after run (later runs reuse the activation
    /// storage of earlier ones).
    static func expectRunsMatch(_ model: Model, runs: Int, images: Int, input: (_ run: Int, _ image: Int) -> [Float],
                                expected: ([Float]) -> Float, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for run in 0..<runs {
            let inputs = (0..<images).map { input(run, $0) }
            let out = try model.run(Tensor(batchNCHW: inputs, channels: 2, height: 5, width: 5))["prob"]!
            for (n, image) in inputs.enumerated() {
                let want = expected(image), got = out.storage[images + n]  // channel 1 of (C, N)
                #expect(abs(got - want) <= 1e-5, "run \(run), image \(n): \(got) vs \(want)", sourceLocation: sourceLocation)
            }
        }
    }

    /// conv → batchNorm → relu → maxPool: the pooling joins the convolution (which then
    /// computes its output a band of rows at a time), and the numbers are the plain graph's.
    @Test func maxPoolJoinsTheConvolution() throws {
        var tiny = TinyModel()
        // [conv, bn, relu, pool, fc, softmax] → [conv, bn, relu, maxPool, pool, fc, softmax]
        tiny.manifest.graph.insert(.init(name: "maxpool", op: .maxPool, inputs: ["r"], output: "m",
                                         attributes: .init(kernel: [3, 3], pad: [1, 1, 1, 1])), at: 3)
        tiny.manifest.graph[4].inputs = ["m"]
        let model = try Model.load(manifestAt: try tiny.write(), runtime: Runtime(threads: 2))
        #expect(model.steps.count == 4)
        #expect(model.steps[0].summary == "convolution 3x3 s1 2→3 + max pool 3x3")
        let input = { (seed: Int, n: Int) in (0..<50).map { Float(($0 * (5 + seed) + n * 7) % 13) / 6 - 1 } }
        try Self.expectRunsMatch(model, runs: 2, images: 3, input: input,
                                 expected: { Self.handComputed(tiny, input: $0, maxPooled: true) })
        for seed in 0..<2 {
            for n in 0..<3 {
                let image = input(seed, n)
                #expect(abs(Self.handComputed(tiny, input: image, maxPooled: true) - Self.handComputed(tiny, input: image)) > 1e-4,
                        "the max pooling changes the result")
            }
        }
    }

    @Test func malformedManifestIsRejected() throws {
        let path = try TinyModel().write()
        try Data("{\"format\": \"veil-model\"".utf8).write(to: URL(fileURLWithPath: path))
        Self.expectLoadError(path, mentioning: ["manifest"])
        try Data("{\"format\": \"veil-model\", \"formatVersion\": 1}".utf8).write(to: URL(fileURLWithPath: path))
        Self.expectLoadError(path, mentioning: ["missing key"])
    }
}
