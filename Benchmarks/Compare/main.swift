import Foundation
import Veil
import VeilEngine
import VeilImage
import VeilKernels
import VeilTensor
import VeilVocabulary

// `swift run -c release veil-compare [decode|forward|all]`: measurements that need a ratio
// printed beside them, each side measured in the same run on the same machine. The
// package-benchmark targets track regressions; this prints the comparisons the README quotes.
// It is a target of the root package (not of Benchmarks/) because it measures the engine's
// `package` internals: single layers, raw forward passes and the GEMM ceiling.

/// `batch` synthetic 224×224 images (values from −127 to 127), the same for every
/// forward-pass timing and for `output-bits`.
func syntheticBatch(_ batch: Int) -> Tensor {
    let images: [[Float]] = (0..<batch).map { (seed: Int) -> [Float] in
        (0..<(3 * 224 * 224)).map { (i: Int) -> Float in Float((i * 7 + seed * 13) % 255) - 127 }
    }
    return Tensor(batchNCHW: images, channels: 3, height: 224, width: 224)
}

func medianSeconds(runs: Int, warmup: Int = 1, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return times.sorted()[times.count / 2]
}

/// User and system time of the whole process, all threads: on a shared VM whose neighbours
/// steal cycles, it compares code changes more steadily than wall time does.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func row(_ cells: [String], widths: [Int]) -> String {
    zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
}

func compareDecoding() throws {
    print("## Decoding a 4032x3024 JPEG to 256x256 (median of 15, one thread)")
    let widths = [8, 26, 12, 10]
    print(row(["photo", "path", "ms/image", "speed-up"], widths: widths))
    let target = PixelSize(width: 256, height: 256)
    for kind in SyntheticPhoto.Kind.allCases {
        let data = Data(SyntheticPhoto.jpeg(kind, width: 4032, height: 3024))
        let scaled = ImageDecoder(options: DecodingOptions(minimumSize: target))
        let full = ImageDecoder()
        let tScaled = try medianSeconds(runs: 15) { _ = try scaled.decode(data).resized(to: target) }
        let tFull = try medianSeconds(runs: 15) { _ = try full.decode(data).resized(to: target) }
        print(row([kind.rawValue, "full decode + resize", String(format: "%.1f", tFull * 1000), "1.00x"], widths: widths))
        print(row([kind.rawValue, "DCT-scaled decode + resize", String(format: "%.1f", tScaled * 1000),
                   String(format: "%.2fx", tFull / tScaled)], widths: widths))
        print("   (\(kind.rawValue) file: \(data.count / 1024) KiB)")
    }
}

func compareForward(threads: Int) throws {
    let runtime = Runtime(threads: threads)
    print("## open_nsfw forward pass vs the machine's sgemm ceiling (\(threads) threads)")
    let n = 2048
    let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
    var c = [Float](repeating: 0, count: n * n)
    let tGemm = medianSeconds(runs: 7) { runtime.enter { MatrixMultiply.multiply(m: n, n: n, k: n, a: a, b: b, into: &c) } }
    let ceiling = 2 * Double(n * n * n) / tGemm / 1e9
    print(String(format: "sgemm %dx%dx%d: %.1f GFLOP/s (the ceiling)", n, n, n, ceiling))
    let model = try Classifier.loadDefault(runtime: runtime).model
    let flopsPerImage = 2 * 1.07e9
    let widths = [6, 10, 10, 12]
    print(row(["batch", "images/s", "GFLOP/s", "of ceiling"], widths: widths))
    for batch in [1, 8, 16] {
        let input = syntheticBatch(batch)
        let t = try medianSeconds(runs: batch == 1 ? 15 : 5) { _ = try model.run(input) }
        let rate = Double(batch) / t
        print(row(["\(batch)", String(format: "%.2f", rate), String(format: "%.1f", rate * flopsPerImage / 1e9),
                   String(format: "%.0f%%", 100 * rate * flopsPerImage / 1e9 / ceiling)], widths: widths))
    }
}

func profileForward(batch: Int, threads: Int) throws {
    let runtime = Runtime(threads: threads)
    let model = try Classifier.loadDefault(runtime: runtime).model
    let input = syntheticBatch(batch)
    _ = try model.run(input)
    // Each layer's best of several passes: the machines here are shared, and a mean takes
    // every stall in.
    let passes = 9
    var samples: [String: [Double]] = [:]
    var layers: [(name: String, operation: String, flops: Double)] = []
    var passTotals: [Double] = []
    for pass in 0..<passes {
        let profiled = try model.runProfiled(input).layers
        passTotals.append(profiled.reduce(0) { $0 + $1.seconds })
        for layer in profiled {
            samples[layer.name, default: []].append(layer.seconds)
            if pass == 0 { layers.append((layer.name, layer.operation, layer.flops)) }
        }
    }
    var byOperation: [String: (seconds: Double, flops: Double, count: Int)] = [:]
    var byName: [String: Double] = [:]
    var total = 0.0
    for layer in layers {
        let seconds = samples[layer.name]!.min()!
        byName[layer.name] = seconds
        byOperation[layer.operation, default: (0, 0, 0)].seconds += seconds
        byOperation[layer.operation, default: (0, 0, 0)].flops += layer.flops
        byOperation[layer.operation, default: (0, 0, 0)].count += 1
        total += seconds
    }
    if arguments.contains("by-layer") {
        for (name, seconds) in byName.sorted(by: { $0.value > $1.value }) { print(String(format: "%8.2f ms  %@", seconds * 1000, name)) }
    }
    print("## open_nsfw layers at batch \(batch), \(threads) threads: \(String(format: "%.1f", total * 1000)) ms per batch (each layer best of \(passes))")
    // What the layers' best times leave out: their spread, and what runs between them.
    let wall = try medianSeconds(runs: passes) { _ = try model.run(input) }
    print(String(format: "median pass, layers summed: %.1f ms; median unprofiled run: %.1f ms", passTotals.sorted()[passes / 2] * 1000, wall * 1000))
    let widths = [34, 10, 8, 10]
    print(row(["operation", "ms", "share", "GFLOP/s"], widths: widths))
    for (op, v) in byOperation.sorted(by: { $0.value.seconds > $1.value.seconds }) {
        print(row([op, String(format: "%.2f", v.seconds * 1000), String(format: "%.0f%%", 100 * v.seconds / total),
                   v.flops > 0 ? String(format: "%.1f", v.flops / v.seconds / 1e9) : "-"], widths: widths))
    }
}

func measureVocabulary() throws {
    let vocabulary = try Vocabulary.standard()
    // Short terms as archives hold them: defined terms, free text, codes, detector labels.
    let terms = ["KNEE", "L BREAST", "chest", "Rt hand", "ABDOMEN", "76752008", "SRT:T-D2600", "groin",
                 "FEMALE_BREAST_EXPOSED", "face", "buttocks", "LSPINE", "left foot", "scalp", "xyzzy", "perineum"]
    var found = 0
    let rounds = 100_000
    let seconds = medianSeconds(runs: 3) {
        for _ in 0..<rounds {
            for term in terms { found &+= vocabulary.normalize(term).count }
        }
    }
    let rate = Double(rounds * terms.count) / seconds
    print(String(format: "## Vocabulary: %.2f million normalizations/s on one thread (%d short terms, %d regions)", rate / 1e6, terms.count, found))
}

/// Face detection on a 12-MP photo (as decoded for scoring), beside the nudity model's
/// forward pass on the same image; and BlazeFace's recall on scikit-image's lfw_subset.
func compareFaces(threads: Int) throws {
    let runtime = Runtime(threads: threads)
    let classifier = try Classifier.loadDefault(runtime: runtime)
    let image = try classifier.decoder.decode(SyntheticPhoto.jpeg(.noisy, width: 4032, height: 3024))
    let nudity = try medianSeconds(runs: 9) { _ = try classifier.scores(for: image) }
    print("12-MP photo decoded at \(image.width)x\(image.height), \(threads) threads, median:")
    print(String(format: "  nudity model forward                    %7.1f ms", nudity * 1000))
    for (name, detector) in [("full range (default)", try FaceDetector.loadDefault(runtime: runtime)),
                             ("short range", try FaceDetector.loadShortRange(runtime: runtime))] {
        let whole = try medianSeconds(runs: 9) { _ = try detector.detect(in: image) }
        let two = try medianSeconds(runs: 5) { _ = try detector.faces(in: image, levels: 2) }
        let label = name.padding(toLength: 22, withPad: " ", startingAt: 0)
        print(String(format: "  %@ whole image %7.1f ms (%.2fx the nudity forward)", label, whole * 1000, whole / nudity))
        print(String(format: "  %@ + 1/2 tiles %7.1f ms (%.2fx)", label, two * 1000, two / nudity))
    }
    let detector = try FaceDetector.loadShortRange(runtime: runtime)
    let lfw = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Tests/VeilTests/Fixtures/faces/lfw_subset.u8").standardized
    if let bytes = try? [UInt8](Data(contentsOf: lfw)), bytes.count == 200 * 625 {
        // Each 25x25 crop 5x by repetition on a black 128x128 frame, as the goldens made them.
        let frames = try (0..<200).map { i in
            try RGBImage(width: 128, height: 128) { x, y -> (UInt8, UInt8, UInt8) in
                guard (1..<126).contains(x), (1..<126).contains(y) else { return (0, 0, 0) }
                let v = bytes[i * 625 + ((y - 1) / 5) * 25 + (x - 1) / 5]
                return (v, v, v)
            }
        }
        let found = try stride(from: 0, to: 200, by: 20).flatMap { try detector.detect(inEach: Array(frames[$0..<($0 + 20)])).map(\.count) }
        print("lfw_subset (scikit-image): faces found in \(found[..<100].filter { $0 > 0 }.count)/100 face crops, "
              + "\(found[100...].filter { $0 > 0 }.count)/100 non-face crops")
    }
}

/// Recall by face size on a set written by Benchmarks/faces/make_recall_set.py, for the
/// default (full range, one pass), full range with tiles, and the short-range model on tiles
/// (Veil's default before the full-range model); then each configuration's best face score on
/// the bundled samples that show no person, the textures where tiles found false faces.
func faceRecall(folder: String, threads: Int) throws {
    struct Truth: Decodable { var file: String; var size: Double; var x, y, width, height: Double }
    struct Set: Decodable { var faces: [Truth] }
    let set = try JSONDecoder().decode(Set.self, from: Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent("truth.json")))
    let runtime = Runtime(threads: threads)
    let decoder = try Classifier.loadDefault(runtime: runtime).decoder
    let full = try FaceDetector.loadDefault(runtime: runtime), short = try FaceDetector.loadShortRange(runtime: runtime)
    let configurations: [(name: String, detector: FaceDetector, levels: Int)] = [
        ("full range, 1 pass (default)", full, 1), ("full range + 1/2 tiles", full, 2), ("short range + 1/2 tiles (before)", short, 2),
    ]
    let images = try set.faces.map { try decoder.decode(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent($0.file).path) }
    let sizes = Array(Swift.Set(set.faces.map(\.size))).sorted()
    print("Recall by face width (share of the shorter side), \(set.faces.count) frames, hit = IoU >= 0.3 with the pasted face:")
    print(row(["configuration"] + sizes.map { String(format: "%.1f%%", $0 * 100) }, widths: [34] + sizes.map { _ in 7 }))
    for c in configurations {
        var hits: [Double: Int] = [:], totals: [Double: Int] = [:]
        for (truth, image) in zip(set.faces, images) {
            // Boxes are in the decoded image's pixels; the truth is in the 1600x1200 frame's.
            let scale = Double(image.width) / 1600
            let box = FaceDetection(x: truth.x * scale, y: truth.y * scale, width: truth.width * scale, height: truth.height * scale, score: 1)
            let found = try c.detector.faces(in: image, levels: c.levels)
            totals[truth.size, default: 0] += 1
            if found.contains(where: { $0.iou(box) >= 0.3 }) { hits[truth.size, default: 0] += 1 }
        }
        print(row([c.name] + sizes.map { String(format: "%d/%d", hits[$0] ?? 0, totals[$0] ?? 0) }, widths: [34] + sizes.map { _ in 7 }))
    }
    let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples/images").standardized
    let textures = ["coins", "hubble_deep_field", "brick", "coffee", "rocket", "chelsea", "retina", "immunohistochemistry"]
    print("Best face score on samples without a person (none means below the detector's threshold):")
    print(row(["configuration"] + textures.map { String($0.prefix(8)) }, widths: [34] + textures.map { _ in 9 }))
    for c in configurations {
        let cells = try textures.map { name -> String in
            let image = try decoder.decode(contentsOf: samples.appendingPathComponent("\(name).jpg").path)
            return try c.detector.faces(in: image, levels: c.levels).map(\.score).max().map { String(format: "%.2f", $0) } ?? "none"
        }
        print(row([c.name] + cells, widths: [34] + textures.map { _ in 9 }))
    }
}

/// Where BlazeFace's time goes at batch 16 (16 tiles of a photo): letterbox, forward pass,
/// the whole detect call, time by operation type, and the slowest layers.
func profileFaces(threads: Int) throws {
    let runtime = Runtime(threads: threads)
    let detector = try FaceDetector.loadDefault(runtime: runtime)
    let size = detector.preprocessor.inputSize
    let tiles = try (0..<16).map { i in try RGBImage(width: 189, height: 189) { x, y in (UInt8((x + i) % 256), UInt8(y % 256), 90) } }
    let letterbox = medianSeconds(runs: 9) { _ = tiles[0].letterboxed(to: size) }
    let input = Tensor(batchNCHW: tiles.map { detector.preprocessor.tensorValues(prepared: $0.letterboxed(to: size).image) },
                       channels: 3, height: size.height, width: size.width)
    let forward = try medianSeconds(runs: 9) { _ = try detector.model.run(input) }
    let detect = try medianSeconds(runs: 7) { _ = try detector.detect(inEach: tiles) }
    print(String(format: "letterbox %.2f ms per tile; forward, batch 16: %.1f ms; detect(inEach:) 16 tiles: %.1f ms",
                 letterbox * 1000, forward * 1000, detect * 1000))
    var byOperation: [String: Double] = [:]
    var layers: [Model.LayerTiming] = []
    for _ in 0..<5 {
        layers = try detector.model.runProfiled(input).layers
        for l in layers { byOperation[l.operation.split(separator: " ").prefix(2).joined(separator: " "), default: 0] += l.seconds / 5 }
    }
    for (operation, seconds) in byOperation.sorted(by: { $0.value > $1.value }) {
        print("  " + operation.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%6.1f ms", seconds * 1000))
    }
    for l in layers.sorted(by: { $0.seconds > $1.seconds }).prefix(8) {
        print("  " + l.name.padding(toLength: 22, withPad: " ", startingAt: 0) + l.operation.padding(toLength: 32, withPad: " ", startingAt: 0)
              + String(format: "%6.1f ms", l.seconds * 1000))
    }
}

func gemmShapes(threads: Int) {
    let runtime = Runtime(threads: threads)
    // `veil-compare gemm-shapes THREADS [M K N]...` for other shapes.
    let given = arguments.dropFirst(2).compactMap { Int($0) }
    var shapes: [(Int, Int, Int)] = [(64, 147, 1783), (64, 147, 200_704), (32, 288, 910), (32, 288, 50_176), (128, 1152, 227), (256, 256, 12544)]
    if given.count >= 3 {
        shapes = []
        for i in Swift.stride(from: 0, to: given.count - 2, by: 3) { shapes.append((given[i], given[i + 1], given[i + 2])) }
    }
    for (m, k, n) in shapes {
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        let t = medianSeconds(runs: 9) { runtime.enter { MatrixMultiply.multiply(m: m, n: n, k: k, a: a, b: b, into: &c) } }
        var line = String(format: "gemm m=%d k=%d n=%d: OpenBLAS %.1f GFLOP/s", m, k, n, 2 * Double(m * n * k) / t / 1e9)
        let packed = MatrixMultiply.Packed(m: m, k: k, a: a)
        for kernels in ComputeKernels.supported.reversed() {
            let t = medianSeconds(runs: 9) { runtime.enter { MatrixMultiply.multiply(packed, n: n, b: b, into: &c, kernels: kernels) } }
            line += String(format: ", Veil %@ %.1f", kernels.rawValue, 2 * Double(m * n * k) / t / 1e9)
        }
        print(line)
    }
}

/// The end-to-end ceiling on a folder of photos: DCT-scaled decoding alone and the forward
/// pass alone, each on all cores; `1 / (1/decode + 1/forward)` is what a perfect pipeline
/// that shares the cores between the two could reach.
func ceiling(folder: String, threads: Int) throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".jpg") }.sorted()
        .map { (folder as NSString).appendingPathComponent($0) }
    let classifier = try Classifier.loadDefault(runtime: Runtime(threads: threads))
    let decoder = classifier.decoder
    let box = LockedImages()
    let startDecode = DispatchTime.now().uptimeNanoseconds
    // Each thread claims the next file, as `veil score`'s decode workers do, so that photos
    // of uneven cost do not leave one thread idle at the end.
    DispatchQueue.concurrentPerform(iterations: threads) { _ in
        while let i = box.claim(below: files.count) {
            if let image = try? decoder.decode(contentsOf: files[i]) { box.append(image) }
        }
    }
    let decodeRate = Double(files.count) / (Double(DispatchTime.now().uptimeNanoseconds - startDecode) / 1e9)
    let images = box.images
    _ = try classifier.scores(for: Array(images.prefix(8)))
    let startForward = DispatchTime.now().uptimeNanoseconds
    var done = 0
    while done < images.count {
        let batch = Array(images[done..<min(done + 8, images.count)])
        _ = try classifier.scores(for: batch)
        done += batch.count
    }
    let forwardRate = Double(images.count) / (Double(DispatchTime.now().uptimeNanoseconds - startForward) / 1e9)
    let json = try JSONSerialization.data(withJSONObject: [
        "decodeImagesPerSecond": decodeRate, "forwardImagesPerSecond": forwardRate,
        "ceilingImagesPerSecond": 1 / (1 / decodeRate + 1 / forwardRate), "threads": threads, "images": files.count,
    ])
    print(String(decoding: json, as: UTF8.self))
}

func compareEighthScaleDecoding(folder: String, rounds: Int) throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".jpg") }.sorted()
        .map { try Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent($0))) }
    var veil = try Classifier.loadDefault(runtime: Runtime(threads: 1)).decoder.options
    var turbo = veil
    veil.decodesEighthScaleItself = true
    turbo.decodesEighthScaleItself = false
    // A fast decoder is worth nothing if its pixels differ: check every file first.
    let differing = try files.filter { try ImageDecoder(options: veil).decode($0) != ImageDecoder(options: turbo).decode($0) }
    print("pixels identical to TurboJPEG's on \(files.count - differing.count) of \(files.count) files")
    var times: [String: [Double]] = [:]
    for _ in 0..<rounds {
        for (name, options) in [("Veil", veil), ("TurboJPEG", turbo)] {
            let decoder = ImageDecoder(options: options)
            let start = DispatchTime.now().uptimeNanoseconds
            for data in files { _ = try decoder.decode(data) }
            times[name, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(files.count))
        }
    }
    let median = { (values: [Double]) in values.sorted()[values.count / 2] }
    let ratios = zip(times["TurboJPEG"]!, times["Veil"]!).map { $0 / $1 }
    print(String(format: "1/8-scale JPEG decoding, one thread, %d files, median of %d rounds: Veil %.2f ms, TurboJPEG %.2f ms a file; "
                 + "TurboJPEG / Veil %.2fx (rounds %.2fx-%.2fx)", files.count, rounds, median(times["Veil"]!), median(times["TurboJPEG"]!),
                 median(ratios), ratios.min()!, ratios.max()!))
}

/// One thread's milliseconds an image for the classifier's preprocessing (resize and crop,
/// then the tensor's values) beside its whole `scores(for:)` at batch 8, on decoded photos.
func preprocessingCost(folder: String) throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".jpg") }.sorted()
        .map { (folder as NSString).appendingPathComponent($0) }
    let classifier = try Classifier.loadDefault(runtime: Runtime(threads: 1))
    let images = try files.map { try classifier.decoder.decode(contentsOf: $0) }
    let prep = classifier.preprocessor
    for _ in 0..<3 {
        var t0 = DispatchTime.now().uptimeNanoseconds
        for image in images { _ = prep.prepare(image) }
        let tPrepare = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / Double(images.count)
        let prepared = images.map { prep.prepare($0) }
        t0 = DispatchTime.now().uptimeNanoseconds
        for p in prepared { _ = prep.tensorValues(prepared: p) }
        let tValues = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / Double(images.count)
        t0 = DispatchTime.now().uptimeNanoseconds
        var done = 0
        while done < images.count { _ = try classifier.scores(for: Array(images[done..<min(done + 8, images.count)])); done += 8 }
        let tScore = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / Double(images.count)
        print(String(format: "one thread, ms an image: prepare %.2f, tensor values %.2f, scores (all of it, batch 8) %.2f", tPrepare, tValues, tScore))
    }
}

final class LockedImages: @unchecked Sendable {
    private var storage: [RGBImage] = []
    private var claimed = 0
    private let lock = NSLock()
    func append(_ image: RGBImage) { lock.lock(); storage.append(image); lock.unlock() }
    /// The next unclaimed index below `count`, or nil when all are taken.
    func claim(below count: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard claimed < count else { return nil }
        claimed += 1
        return claimed - 1
    }
    var images: [RGBImage] { lock.lock(); defer { lock.unlock() }; return storage }
}

/// What a site-trained head adds to a forward pass: the same batch scored with and without
/// one head (a 1,024 → 1 layer and a sigmoid on the embedding), runs alternating so that the
/// machine's drift falls on both sides alike.
func compareHeads(threads: Int, batch: Int = 8) throws {
    let runtime = Runtime(threads: threads)
    let plain = try Classifier.loadDefault(runtime: runtime, batchSize: batch)
    let length = plain.embeddingLength!
    // A head with arbitrary weights: its cost does not depend on their values.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-compare-head-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let weights = try SafeTensorsWriter.encode(["head.weight": (shape: [1, length], values: (0..<length).map { Float($0 % 7) / 7000 }),
                                                "head.bias": (shape: [1], values: [0])])
    try Data(weights).write(to: folder.appendingPathComponent("weights.safetensors"))
    let manifest = ModelManifest(
        name: "head-bench", version: "1", license: "LicenseRef-test", provenance: .init(sources: [], converter: "veil-compare"),
        weights: .init(file: "weights.safetensors", sha256: SHA256Hasher.hex(weights)),
        input: .init(tensor: "embedding", channels: length, height: 1, width: 1), preprocessing: [],
        outputs: [.init(name: "bench", tensor: "probability", channel: 0)],
        graph: [.init(name: "head", op: .fullyConnected, inputs: ["embedding"], output: "logit", attributes: .init(units: 1),
                      weights: ["weight": "head.weight", "bias": "head.bias"]),
                .init(name: "probability", op: .sigmoid, inputs: ["logit"], output: "probability")],
        head: .init(backbone: .init(name: plain.identity.name, version: plain.identity.version, weightsSHA256: plain.identity.weightsSHA256,
                                    embedding: "pool"),
                    category: nil, training: .init(positives: 0, negatives: 0, dataSHA256: "", fittedBy: "", fittedAt: "", command: ""),
                    metrics: .init(folds: 0, seed: 0, c: 0, rocAUC: 0, rocAUCInterval: [0, 1], prAUC: 0, prAUCInterval: [0, 1],
                                   targetRecall: 0, threshold: 0.5, precision: 0, reviewRate: 0)))
    try JSONEncoder().encode(manifest).write(to: folder.appendingPathComponent("manifest.json"))
    let withHead = try plain.adding(heads: [try Head(manifestAt: folder.appendingPathComponent("manifest.json").path, runtime: runtime)])
    let photo = try ImageDecoder().decode(Data(SyntheticPhoto.jpeg(.noisy, width: 320, height: 240)))
    let images = Array(repeating: photo, count: batch)
    // The head alone, on the batch's embeddings: what it adds, measured apart from the
    // forward pass's own run-to-run noise (several percent on a shared VM).
    let head = withHead.heads[0]
    let embeddings = try plain.outputs(for: images).map { $0.embedding! }
    let tHead = try medianSeconds(runs: 101) { _ = try head.scores(embeddings: embeddings) }
    var a: [Double] = [], b: [Double] = []
    for _ in 0..<15 {
        a.append(try medianSeconds(runs: 1, warmup: 0) { _ = try plain.outputs(for: images) })
        b.append(try medianSeconds(runs: 1, warmup: 0) { _ = try withHead.outputs(for: images) })
    }
    let ta = a.sorted()[a.count / 2], tb = b.sorted()[b.count / 2]
    print("## A site-trained head on open_nsfw (batch \(batch), \(threads) threads)")
    print(String(format: "the head alone: %.3f ms/batch, %.3f%% of the forward pass (median of 101)", tHead * 1000, tHead / ta * 100))
    print(String(format: "end to end, median of 15 alternating runs: without %.1f ms/batch, with %.1f ms/batch (%+.1f%%, within the runs' noise)",
                 ta * 1000, tb * 1000, (tb / ta - 1) * 100))
}

/// What one short parallel loop costs: two halves of a fixed spin of arithmetic, run one after
/// the other, by `DispatchQueue.concurrentPerform`, and by the kernels' `parallelFor` (the
/// compute pool on Linux). Ideal is half the serial time. Loops of 0.1–0.5 ms are what a
/// batch-1 forward pass is made of.
func loopLatency() {
    @Sendable @inline(never) func spin(_ iterations: Int, _ x: UnsafeMutablePointer<Double>) {
        var a = x.pointee
        for i in 0..<iterations { a = a * 1.0000001 + Double(i & 1) }
        x.pointee = a
    }
    let cells = UnsafeMutablePointer<Double>.allocate(capacity: 32)
    cells.initialize(repeating: 1, count: 32)
    defer { cells.deallocate() }
    let shared = UncheckedSendable(cells)
    let runtime = Runtime(threads: 2)
    print("## One loop of two halves: microseconds per loop (median of 9 runs of 500 loops)")
    print("half       serial    concurrentPerform    parallelFor")
    for iterations in [20_000, 100_000, 400_000] {
        func perLoop(_ body: () -> Void) -> Double { medianSeconds(runs: 9) { for _ in 0..<500 { body() } } / 500 * 1e6 }
        let serial = perLoop { spin(iterations, shared.value); spin(iterations, shared.value + 16) }
        let dispatch = perLoop { DispatchQueue.concurrentPerform(iterations: 2) { spin(iterations, shared.value + 16 * $0) } }
        let pool = perLoop { runtime.parallelFor(2) { spin(iterations, shared.value + 16 * $0) } }
        print(String(format: "%6.0f us  %8.0f  %19.0f  %13.0f", serial / 2, serial, dispatch, pool))
    }
}

// OpenBLAS must run single-threaded under Veil's own threads: run with OPENBLAS_NUM_THREADS=1,
// as the peer scripts do. Say so rather than measure something else.
if BLASDiagnostics.threadCount != 1 {
    FileHandle.standardError.write(Data("veil-compare: set OPENBLAS_NUM_THREADS=1 (OpenBLAS runs \(BLASDiagnostics.threadCount) threads)\n".utf8))
}
let arguments = CommandLine.arguments.dropFirst()
let what = arguments.first ?? "all"
let threads = arguments.dropFirst().first.flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
if what == "decode" || what == "all" { try compareDecoding() }
if what == "forward" || what == "all" { try compareForward(threads: threads) }
if what == "vocab" || what == "all" { try measureVocabulary() }
if what == "gemm-shapes" { gemmShapes(threads: threads) }
if what == "loop-latency" { loopLatency() }
if what == "sha256" {
    let data = [UInt8](repeating: 0x5A, count: 32 << 20)
    let t = medianSeconds(runs: 5) { _ = SHA256Hasher.hex(data) }
    print(String(format: "SHA-256: %.0f MB/s on one thread", Double(data.count) / t / 1e6))
}
if what == "decode-jpeg", let folder = arguments.dropFirst(2).first {
    // `veil-compare decode-jpeg 1 FOLDER [rounds]`: one thread decoding the folder's JPEGs at
    // the classifier's size, Veil's 1/8-scale entropy decoder against TurboJPEG, alternating.
    try compareEighthScaleDecoding(folder: folder, rounds: arguments.dropFirst(3).first.flatMap(Int.init) ?? 7)
}
if what == "ceiling", let folder = arguments.dropFirst(2).first {
    try ceiling(folder: folder, threads: threads)
}
if what == "layers" {
    // `veil-compare layers THREADS BATCH [by-layer]`: time by kind of layer, and by layer too.
    try profileForward(batch: arguments.dropFirst(2).first.flatMap(Int.init) ?? 16, threads: threads)
}
if what == "faces" { try compareFaces(threads: threads) }
if what == "face-recall" {
    // `veil-compare face-recall THREADS DIR`, DIR written by Benchmarks/faces/make_recall_set.py.
    guard let folder = arguments.dropFirst(2).first else {
        FileHandle.standardError.write(Data("usage: veil-compare face-recall THREADS DIR\n".utf8))
        exit(64)
    }
    try faceRecall(folder: folder, threads: threads)
}
if what == "heads" { try compareHeads(threads: threads) }
if what == "conv" {
    // One convolution alone: `veil-compare conv THREADS CIN COUT KERNEL STRIDE SIZE BATCH [shortcut [inplace]|maxpool]`,
    // e.g. the stem `conv 1 3 64 7 2 224 16` or a bottleneck's last layer `conv 1 32 128 1 1 56 16 shortcut`.
    // `inplace` writes over the shortcut, as a graph does when the layer is the shortcut's last reader;
    // `runs=N` times N runs instead of 15 (for perf record).
    let p = arguments.dropFirst(2).compactMap { Int($0) }
    let runs = arguments.first { $0.hasPrefix("runs=") }.flatMap { Int($0.dropFirst(5)) } ?? 15
    guard p.count >= 6 else {
        FileHandle.standardError.write(Data("usage: veil-compare conv THREADS CIN COUT KERNEL STRIDE SIZE BATCH [shortcut [inplace]|maxpool] [runs=N]\n".utf8))
        exit(64)
    }
    let (cin, cout, kernel, stride, size, batch) = (p[0], p[1], p[2], p[3], p[4], p[5])
    let runtime = Runtime(threads: threads)
    let conv = try Convolution2D(inputChannels: cin, outputChannels: cout, window: .square(kernel, stride: stride, pad: kernel / 2),
                                 weights: (0..<(cout * cin * kernel * kernel)).map { Float($0 % 13) / 13 - 0.5 }, bias: nil, activation: .relu)
    let input = Tensor(shape: .init(channels: cin, batch: batch, height: size, width: size),
                       storage: (0..<(cin * batch * size * size)).map { Float(($0 * 7) % 255) - 127 })
    let outShape = try conv.outputShape(for: input.shape)
    let residual = arguments.contains("shortcut") ? Tensor(shape: outShape, storage: [Float](repeating: 1, count: outShape.count)) : nil
    var pool = TensorPool()
    // `maxpool`: the stem's fused convolution and 3×3, stride-2 max pooling instead.
    let fused = arguments.contains("maxpool")
        ? try ConvolutionThenMaxPool(conv, Pooling(kind: .max, window: .square(3, stride: 2), ceilMode: true)) : nil
    let cpu0 = processCPUSeconds()
    var carried = arguments.contains("inplace") ? residual : nil
    let t = medianSeconds(runs: runs) {
        if carried != nil {
            runtime.enter { carried = conv.forward(input, addingInto: carried.take()!, pool: &pool) }
            return
        }
        runtime.enter {
            pool.recycle(fused.map { $0.forward(input, pool: &pool) } ?? conv.forward(input, residual: residual, pool: &pool))
        }
    }
    let cpu = (processCPUSeconds() - cpu0) / Double(runs + 1)
    let flops = 2.0 * Double(cout * cin * kernel * kernel * outShape.plane * batch)
    print(String(format: "conv %d->%d %dx%d s%d on %@: %.2f ms (%.1f GFLOP/s), %.2f ms CPU", cin, cout, kernel, kernel, stride,
                 input.shape.description, t * 1000, flops / t / 1e9, cpu * 1000))
}
if what == "pointwise" {
    // A 1×1 convolution over blocked channels (`BlockedPointwise`) beside the same layer over
    // planes (`Convolution2D`), alternated in one run:
    // `veil-compare pointwise THREADS CIN COUT SIZE BATCH [shortcut] [runs=N]`. Threads share
    // the blocked layer by runs of positions.
    let p = arguments.dropFirst(2).compactMap { Int($0) }
    let runs = arguments.first { $0.hasPrefix("runs=") }.flatMap { Int($0.dropFirst(5)) } ?? 200
    guard p.count >= 4 else {
        FileHandle.standardError.write(Data("usage: veil-compare pointwise THREADS CIN COUT SIZE BATCH [shortcut] [runs=N]\n".utf8))
        exit(64)
    }
    let (cin, cout, size, batch) = (p[0], p[1], p[2], p[3])
    let runtime = Runtime(threads: threads)
    let weights = (0..<(cout * cin)).map { Float($0 % 13) / 13 - 0.5 }, bias = [Float](repeating: 0.25, count: cout)
    let conv = try Convolution2D(inputChannels: cin, outputChannels: cout, window: .square(1, stride: 1, pad: 0),
                                 weights: weights, bias: bias, activation: .relu)
    let planes = (0..<(cin * batch * size * size)).map { Float(($0 * 7) % 255) - 127 }
    let input = Tensor(shape: .init(channels: cin, batch: batch, height: size, width: size), storage: planes)
    let outShape = try conv.outputShape(for: input.shape)
    let shortcut = arguments.contains("shortcut")
    let residual = shortcut ? Tensor(shape: outShape, storage: [Float](repeating: 1, count: outShape.count)) : nil
    let layer = BlockedPointwise(weights: weights, bias: bias, outputs: cout, inputs: cin)
    var pool = TensorPool()
    let positions = batch * size * size, width = BlockedChannels.width, stride = positions * width
    let blocked = ChannelBlocks.blocked(input, pool: &pool).storage
    let blockedResidual = [Float](repeating: 1, count: layer.blocks * stride)
    var output = [Float](repeating: 0, count: layer.blocks * stride)
    var planesTimes: [Double] = [], blockedTimes: [Double] = []
    for _ in 0..<runs {
        planesTimes.append(medianSeconds(runs: 1, warmup: 0) {
            runtime.enter { pool.recycle(conv.forward(input, residual: residual, pool: &pool)) }
        })
        blockedTimes.append(medianSeconds(runs: 1, warmup: 0) {
            blocked.withUnsafeBufferPointer { src in
                blockedResidual.withUnsafeBufferPointer { res in
                    output.withUnsafeMutableBufferPointer { out in
                        let (src, res, out) = (src.baseAddress!, res.baseAddress!, UncheckedSendable(out.baseAddress!))
                        let tiles = (positions + PointwiseKernels.positions - 1) / PointwiseKernels.positions
                        runtime.parallelFor(threads) { t in
                            let first = tiles * t / threads * PointwiseKernels.positions
                            let end = min(positions, tiles * (t + 1) / threads * PointwiseKernels.positions)
                            layer.run(input: src, inputStride: stride, relu: true, residual: shortcut ? res : nil,
                                      output: out.value, outputStride: stride, positions: first..<end, blocks: 0..<layer.blocks)
                        }
                    }
                }
            }
        })
    }
    let flops = 2.0 * Double(cout * cin * positions)
    let a = planesTimes.sorted()[runs / 2], b = blockedTimes.sorted()[runs / 2]
    print(String(format: "1x1 %d->%d on %dx%dx%d%@, %d threads, medians of %d alternated runs: planes %.3f ms (%.1f GFLOP/s), "
                 + "blocked %.3f ms (%.1f GFLOP/s); blocked / planes %.3f", cin, cout, batch, size, size,
                 shortcut ? " + shortcut" : "", threads, runs, a * 1000, flops / a / 1e9, b * 1000, flops / b / 1e9, b / a))
}
if what == "output-bits" {
    // A digest of the classifier's output bits at batch 1 and 16, to tell whether an engine
    // change keeps every score bit for bit: run it before and after (FNV-1a over each
    // output's float bit patterns, outputs in name order).
    let runtime = Runtime(threads: threads)
    let model = try Classifier.loadDefault(runtime: runtime).model
    for batch in [1, 16] {
        let outputs = try model.run(syntheticBatch(batch))
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for name in outputs.keys.sorted() {
            for value in outputs[name]!.storage { hash = (hash ^ UInt64(value.bitPattern)) &* 0x100_0000_01b3 }
        }
        print(String(format: "batch %2d: %016llx", batch, hash))
    }
}
if what == "forward-json" {
    // For Benchmarks/peers: images/s of the forward pass alone, by batch size.
    let runtime = Runtime(threads: threads)
    let model = try Classifier.loadDefault(runtime: runtime).model
    var rates: [String: Double] = [:]
    for batch in [1, 16] {
        let input = syntheticBatch(batch)
        let t = try medianSeconds(runs: batch == 1 ? 15 : 5) { _ = try model.run(input) }
        rates[String(batch)] = Double(batch) / t
    }
    let json = try JSONSerialization.data(withJSONObject: ["threads": threads, "imagesPerSecond": rates, "blasCore": BLASDiagnostics.coreName])
    print(String(decoding: json, as: UTF8.self))
}
if what == "forward-times" {
    // `forward-times THREADS BATCH [RUNS]`: the spread of whole passes, fastest to slowest;
    // forward_vs_onnxruntime.py --spread sets ONNX Runtime's beside it.
    let runtime = Runtime(threads: threads)
    let model = try Classifier.loadDefault(runtime: runtime).model
    let words = Array(arguments)
    let batch = words.count > 2 ? Int(words[2]) ?? 1 : 1
    let runs = words.count > 3 ? Int(words[3]) ?? 100 : 100
    let input = syntheticBatch(batch)
    for _ in 0..<3 { _ = try model.run(input) }
    var times: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try model.run(input)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    times.sort()
    let at = { (q: Double) in times[min(times.count - 1, Int(q * Double(times.count)))] }
    print(String(format: "Veil, batch %d, %d threads, %d passes: ms min %.2f p10 %.2f p25 %.2f median %.2f p75 %.2f p90 %.2f max %.2f",
                 batch, threads, runs, times[0], at(0.1), at(0.25), at(0.5), at(0.75), at(0.9), times[times.count - 1]))
}
if what == "forward-serve" {
    // `forward-serve THREADS BATCH`, for forward_vs_onnxruntime.py --paired: after "ready",
    // reads a pass count per line, runs that many passes, and answers with their times in ms
    // on one line, so that the script can alternate short bursts of the two sides.
    guard arguments.count == 3, let batch = Int(Array(arguments)[2]), batch > 0 else {
        FileHandle.standardError.write(Data("usage: veil-compare forward-serve THREADS BATCH\n".utf8))
        exit(64)
    }
    let runtime = Runtime(threads: threads)
    let model = try Classifier.loadDefault(runtime: runtime).model
    let input = syntheticBatch(batch)
    for _ in 0..<3 { _ = try model.run(input) }
    FileHandle.standardOutput.write(Data("ready\n".utf8))
    while let line = readLine(), let passes = Int(line) {
        var times: [String] = []
        for _ in 0..<passes {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try model.run(input)
            times.append(String(format: "%.3f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6))
        }
        FileHandle.standardOutput.write(Data((times.joined(separator: " ") + "\n").utf8))
    }
}
if what == "faces-profile" { try profileFaces(threads: threads) }
if what == "forward-cpu" {
    // CPU time per image of the forward pass (user + system, all threads), besides wall time:
    // on a shared VM whose neighbours steal cycles, CPU time compares code changes more
    // steadily than wall time does. Not a substitute for the same-run ratios the README quotes.
    let runtime = Runtime(threads: threads)
    let model = try Classifier.loadDefault(runtime: runtime).model
    for batch in [1, 16] {
        let input = syntheticBatch(batch)
        _ = try model.run(input)
        let runs = batch == 1 ? 40 : 4
        let cpu0 = processCPUSeconds(), wall0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<runs { _ = try model.run(input) }
        let cpu = (processCPUSeconds() - cpu0) / Double(runs * batch)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - wall0) / 1e9 / Double(runs * batch)
        print(String(format: "batch %2d: %.2f ms CPU per image, %.2f ms wall per image (%.1f images/s)", batch, cpu * 1000, wall * 1000, 1 / wall))
    }
}
if what == "prep-cost", let folder = arguments.dropFirst(2).first { try preprocessingCost(folder: folder) }
