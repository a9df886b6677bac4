import Dispatch
import Foundation
import VeilTensor

/// A loaded network: immutable, `Sendable`, and safe to run from many threads at once.
///
/// ## Loading
/// ``load(manifestAt:)`` reads the manifest, memory-maps the safetensors weights, checks
/// the weights' SHA-256 against the manifest, and compiles the graph once: batch norms are
/// folded into the convolutions before them, ReLUs are fused into the layer before them,
/// every weight is checked for presence and shape, and the whole graph is shape-checked for
/// the declared input. Weights the graph does not use are an error too. Anything wrong
/// throws a ``ModelLoadingError`` naming the file and node, so inference never meets a
/// malformed model.
///
/// ## Running
/// ``run(_:)`` takes a batch in Veil's `(C, N, H, W)` layout (see `Tensor`) and returns every
/// output tensor the manifest names. Concurrent calls share nothing but the read-only
/// weights and a pool of spare activation storage that one call at a time takes (so that
/// repeated runs reuse memory instead of faulting in fresh pages); thread use inside a call
/// follows the ``Runtime`` the model was loaded with.
package final class Model: Sendable {
    /// The manifest the model was loaded from.
    package let manifest: ModelManifest
    /// The threads each run may use.
    package let runtime: Runtime
    let steps: [Step]
    let inputSlot: Int
    let outputSlots: [String: Int]
    let lastUse: [Int]
    let slotCount: Int
    /// Values per image of the manifest's embedding tensor, or nil if it names none.
    package let embeddingLength: Int?
    /// The activations of finished runs, for the next runs to reuse (see `TensorPool`): one
    /// pool per run or group in flight, each within its bound, and no more kept than the
    /// runtime has threads (the groups of one batch run that many at once).
    let spareActivations = LockedValue([TensorPool]())

    /// Images per group when a batch is shared out whole images to each thread (see
    /// ``run(_:)``): few enough that the groups' activations stay in cache, enough to share
    /// each layer's weights among them. On two threads, 16 images took 4% less time as
    /// groups of 2 than of 4 (`veil-compare forward-cpu 2`, medians of 14 alternating runs).
    static let imagesPerGroup = 2

    /// Loads the model whose manifest is at `path`; the weights file is found beside it.
    package static func load(manifestAt path: String, runtime: Runtime) throws -> Model {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelLoadingError(file: path, "cannot read the manifest: \((error as NSError).localizedDescription)")
        }
        let manifest = try decodeManifest(data, path: path)
        let weightsPath = URL(fileURLWithPath: path).deletingLastPathComponent()
            .appendingPathComponent(manifest.weights.file).path
        let weights = try SafeTensorsFile(path: weightsPath)
        var hash = SHA256Hasher()
        weights.data.withUnsafeBytes { hash.update($0) }
        let digest = hash.finalizeHex()
        guard digest == manifest.weights.sha256.lowercased() else {
            throw ModelLoadingError(file: weightsPath, "SHA-256 is \(digest), but the manifest expects \(manifest.weights.sha256)")
        }
        return try Model(manifest: manifest, weights: weights, manifestPath: path, runtime: runtime)
    }

    /// The manifest in `data`, checked for the format; `path` names it in errors.
    static func decodeManifest(_ data: Data, path: String) throws -> ModelManifest {
        let manifest: ModelManifest
        do {
            manifest = try JSONDecoder().decode(ModelManifest.self, from: data)
        } catch let error as DecodingError {
            throw ModelLoadingError(file: path, "manifest does not match the format: \(describe(error))")
        } catch {
            throw ModelLoadingError(file: path, "manifest is not JSON: \((error as NSError).localizedDescription)")
        }
        guard manifest.format == "veil-model", manifest.formatVersion == 1 else {
            throw ModelLoadingError(file: path, "format '\(manifest.format)' version \(manifest.formatVersion) is not veil-model version 1")
        }
        if let key = try unknownKey(in: data, decoded: manifest) {
            throw ModelLoadingError(file: path, "unknown key '\(key)': not part of the veil-model format (a misspelling would silently fall back to a default)")
        }
        return manifest
    }

    /// A model from a manifest and weights in memory, without the weights' hash check: the
    /// fuzz target's entry into the loader (Tools/fuzz), which must reach the graph compiler
    /// with weights that a hash would otherwise stop at the door.
    static func load(manifest data: Data, weights: Data, runtime: Runtime = Runtime(threads: 1)) throws -> Model {
        let manifest = try decodeManifest(data, path: "manifest.json")
        return try Model(manifest: manifest, weights: SafeTensorsFile(data: weights, path: manifest.weights.file),
                         manifestPath: "manifest.json", runtime: runtime)
    }

    init(manifest: ModelManifest, weights: SafeTensorsFile, manifestPath: String, runtime: Runtime) throws {
        self.runtime = runtime
        // A kernel set asked for but not runnable is refused here, before any product could
        // run other kernels than the ones asked for (or trap on missing instructions).
        do { _ = try ComputeKernels.active() } catch {
            throw ModelLoadingError(file: manifestPath, error.description)
        }
        // A broken image chain fails here, not when images arrive. A manifest without one is a
        // bare tensor model, which the image classifier and the face detector refuse.
        if !manifest.preprocessing.isEmpty { _ = try manifest.preprocessingPlan() }
        let compiled = try GraphCompiler(manifest: manifest, weights: weights, manifestPath: manifestPath).compile()
        self.manifest = manifest
        self.steps = compiled.steps
        self.inputSlot = compiled.inputSlot
        self.outputSlots = compiled.outputSlots
        self.slotCount = compiled.slotCount
        self.embeddingLength = compiled.embeddingLength
        var lastUse = [Int](repeating: -1, count: compiled.slotCount)
        for (index, step) in compiled.steps.enumerated() {
            for slot in step.inputs { lastUse[slot] = index }
        }
        for slot in compiled.outputSlots.values { lastUse[slot] = Int.max }
        self.lastUse = lastUse
    }

    /// The per-image input size `(channels, height, width)`.
    package var inputSize: (channels: Int, height: Int, width: Int) {
        (manifest.input.channels, manifest.input.height, manifest.input.width)
    }

    /// Runs the network on a batch and returns the output tensors by name.
    ///
    /// A batch with at least one image per thread (on one thread, more than one group's
    /// worth) is cut into groups of a few images that the threads take whole, each running
    /// every layer on its own; a smaller batch has each layer shared among the threads
    /// instead. Whole images per thread need no hand-over between threads at every layer and
    /// keep each thread's activations in its own cache.
    /// An image's scores are the same bits either way.
    ///
    /// - Throws: `TensorShapeError` if `input` is not `(C, N, H, W)` with the manifest's
    ///   per-image size.
    package func run(_ input: Tensor) throws -> [String: Tensor] {
        try execute(input, timing: nil)
    }

    /// The time one layer took in ``runProfiled(_:)``.
    package struct LayerTiming: Sendable {
        /// The layer's node name (the first node of a fused group).
        package var name: String
        /// The operation, e.g. `"convolution 3x3 s1"`.
        package var operation: String
        /// Wall time.
        package var seconds: Double
        /// Floating-point operations the layer performed (2 per multiply-add), for GFLOP/s.
        package var flops: Double
    }

    /// Runs like ``run(_:)`` and also reports each layer's wall time, for benchmarks.
    package func runProfiled(_ input: Tensor) throws -> (outputs: [String: Tensor], layers: [LayerTiming]) {
        var timings: [LayerTiming] = []
        let outputs = try execute(input) { step, inputShape, seconds, output in
            timings.append(LayerTiming(name: step.name, operation: step.summary, seconds: seconds,
                                       flops: step.flops(input: inputShape, output: output.shape)))
        }
        return (outputs, timings)
    }

    private func execute(_ input: Tensor, timing: ((Step, Tensor.Shape, Double, Tensor) -> Void)?) throws -> [String: Tensor] {
        let spec = manifest.input
        guard input.shape.channels == spec.channels, input.shape.height == spec.height,
              input.shape.width == spec.width, input.shape.batch > 0 else {
            throw ModelInputError(expected: "\(spec.channels)xNx\(spec.height)x\(spec.width)", got: input.shape.description)
        }
        let threads = runtime.threads, batch = input.shape.batch
        // One thread takes groups too, once a batch has more than one: a whole batch at a
        // time sends every activation through memory (the largest is 26 MB at 16 images).
        guard timing == nil, batch >= threads, threads > 1 || batch > Self.imagesPerGroup else {
            return try runtime.enter { try executeSteps(input, timing: timing) }
        }
        // Groups in a multiple of the threads, claimed one at a time: a thread slowed by
        // its neighbours takes fewer.
        let wanted = (batch + Self.imagesPerGroup - 1) / Self.imagesPerGroup
        let count = (wanted + threads - 1) / threads * threads
        let groups = (0..<count).map { (batch * $0 / count)..<(batch * ($0 + 1) / count) }.filter { !$0.isEmpty }
        let results = LockedValue([Result<[String: Tensor], any Error>?](repeating: nil, count: groups.count))
        let alone = Runtime(threads: 1)
        runtime.share(groups.count) { items in
            while let g = items.next() {
                let result = Result { try alone.enter { try executeSteps(input.images(groups[g]), timing: nil) } }
                results.withLock { $0[g] = result }
            }
        }
        let outputs = try results.withLock { $0 }.map { try $0!.get() }
        return outputs[0].keys.reduce(into: [:]) { merged, name in
            merged[name] = Tensor(concatenatingBatches: outputs.map { $0[name]! })
        }
    }

    private func executeSteps(_ input: Tensor, timing: ((Step, Tensor.Shape, Double, Tensor) -> Void)?) throws -> [String: Tensor] {
        var slots = [Tensor?](repeating: nil, count: slotCount)
        slots[inputSlot] = input
        var pool = spareActivations.withLock { $0.popLast() } ?? TensorPool()
        defer { spareActivations.withLock { if $0.count < runtime.threads { $0.append(pool) } } }
        for (index, step) in steps.enumerated() {
            let start = timing == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            let inputShape = slots[step.inputs[0]]!.shape
            let (output, second) = try step.execute(&slots, pool: &pool) { lastUse[$0] == index }
            if let timing { timing(step, inputShape, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, output) }
            slots[step.output] = output
            if let slot = step.secondOutput { slots[slot] = second }
            for slot in step.inputs where lastUse[slot] == index {
                // The caller's input is not ours to write into.
                if let dead = slots[slot].take(), slot != inputSlot { pool.recycle(dead) }
            }
        }
        return outputSlots.mapValues { slots[$0]! }
    }
}

/// The input handed to ``Model/run(_:)`` has the wrong shape.
package struct ModelInputError: Error, Sendable, CustomStringConvertible {
    /// The shape the model takes.
    package var expected: String
    /// The shape it was given.
    package var got: String
    package var description: String { "model input must be \(expected) (CxNxHxW), got \(got)" }
}

/// The first key of the manifest in `data` that the format does not define, as a path such
/// as `graph[3].attributes.strides`, or nil. Found by encoding what was decoded and
/// comparing: every key the decoder understood comes back, any other does not.
private func unknownKey(in data: Data, decoded: ModelManifest) throws -> String? {
    let encoder = JSONEncoder()
    let original = try JSONSerialization.jsonObject(with: data)
    let known = try JSONSerialization.jsonObject(with: encoder.encode(decoded))
    func walk(_ original: Any, _ known: Any, _ path: String) -> String? {
        if let object = original as? [String: Any], let knownObject = known as? [String: Any] {
            for key in object.keys.sorted() {
                let here = path.isEmpty ? key : "\(path).\(key)"
                guard let counterpart = knownObject[key] else {
                    if object[key] is NSNull { continue }  // an explicit null of an optional key
                    return here
                }
                if let found = walk(object[key]!, counterpart, here) { return found }
            }
        } else if let array = original as? [Any], let knownArray = known as? [Any] {
            for (index, (item, counterpart)) in zip(array, knownArray).enumerated() {
                if let found = walk(item, counterpart, "\(path)[\(index)]") { return found }
            }
        }
        return nil
    }
    return walk(original, known, "")
}

private func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
    switch error {
    case .keyNotFound(let key, let context): return "missing key '\(key.stringValue)' at \(path(context))"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
        return "\(context.debugDescription) at \(path(context))"
    @unknown default: return "\(error)"
    }
}
