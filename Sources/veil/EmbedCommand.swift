import ArgumentParser
import Foundation
import Veil
import VeilDICOM
import VeilImage

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Write each image's embedding (the model's pooled features) for fitting heads.",
        usage: "veil embed <paths> ... --out <out.safetensors> [--resume]\n     [--manifest <manifest>] [--batch-size <n>] [--threads <n>]",
        discussion: """
        Runs the model over the images and keeps, for each, the vector its last layer reads: \
        open_nsfw's 1,024 pooled features. A DICOM object gives one row per frame. Writes \
        OUT.safetensors (one matrix, `embeddings`, images × features, float32) and beside it \
        OUT.jsonl: a header naming the model, then one line per row with its sha256, path \
        and frame. `veil heads fit --embeddings` reads them; so does Python:

          from safetensors.numpy import load_file; import pandas as pd
          X = load_file("emb.safetensors")["embeddings"]
          rows = pd.read_json("emb.jsonl", lines=True).iloc[1:]

        A stopped run continues with --resume, skipping the paths already embedded. \
        Files that cannot be read are reported and skipped; the run goes on. DICOM objects \
        that are not visible-light captures are skipped, as `veil score` skips them.

        Exit codes: 0 done; 64 bad options, or an --out of another run; 65 some files \
        failed; 66 an input does not exist; 69 the model cannot be loaded; 73 the output \
        cannot be written.

        Examples:
          veil embed /archive/wound-photos --out wounds.safetensors
          veil embed --manifest todo.txt --out emb.safetensors --resume
        """
    )

    @Argument(help: "Image files and folders (walked recursively).") var paths: [String] = []
    @Option(help: "A file listing inputs, one path per line ('-': standard input).") var manifest: String?
    @Option(help: "The embeddings file to write; must end in .safetensors (the index goes beside it as .jsonl).") var out: String
    @ArgumentParser.Flag(help: "Continue an earlier run of the same --out, skipping the paths it embedded.") var resume = false
    @Option(help: "Images per forward pass.") var batchSize = 8
    @Option(help: "Threads for inference. Default: all cores.") var threads: Int?

    mutating func validate() throws {
        if paths.isEmpty && manifest == nil { throw ValidationError("Give at least one file or folder, or --manifest.") }
        if batchSize < 1 || batchSize > 256 { throw ValidationError("--batch-size must be between 1 and 256.") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
    }

    func run() throws {
        let runtime = Runtime(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let classifier: Classifier
        do { classifier = try Classifier.loadDefault(runtime: runtime, batchSize: batchSize) } catch {
            throw CommandFailure(.unavailable, "cannot load the model: \(error)")
        }
        guard let length = classifier.embeddingLength else {
            throw CommandFailure(.unavailable, "the model \(classifier.identity.name) names no embedding")
        }
        try refuseOverwriting(out, option: "--out", inputs: paths + [manifest])
        var store = try EmbeddingStore(path: out, backbone: .init(classifier), length: length, resume: resume)
        // The files this run writes, should a folder being embedded hold them: never inputs.
        let own = Set([out, EmbeddingStore.indexPath(for: out), store.partialPath, store.lockPath].map(EmbeddingStore.canonical))
        let done = store.donePaths
        var walker: InputWalker
        do { walker = try InputWalker(paths: paths, manifest: manifest) } catch let failure as CommandFailure { throw failure } catch {
            throw CommandFailure(.noInput, "\(error)")
        }
        // Pictures of several files share a forward pass; each file's rows are written once
        // all its frames are embedded, so that an index line never names half an object.
        struct Pending { var path: String; var sha256: String; var frames: Int; var multiFrame: Bool; var vectors: [[Float]] = [] }
        var files: [Pending] = [], images: [RGBImage] = [], owners: [Int] = []
        var failed = 0, missing = 0, embedded = 0, skipped = 0, notVisibleLight = 0
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1, total: nil)
        let start = DispatchTime.now().uptimeNanoseconds
        func flush() throws {
            guard !images.isEmpty else { return }
            let outputs = try classifier.outputs(for: images)
            for (owner, output) in zip(owners, outputs) { files[owner].vectors.append(output.embedding ?? []) }
            images.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            for file in files where file.vectors.count == file.frames {
                try store.append(sha256: file.sha256, path: file.path, embeddings: file.vectors, frames: file.multiFrame)
                embedded += 1
            }
            // The file being read, if unfinished, stays, and is the last again.
            files.removeAll { $0.vectors.count == $0.frames }
        }
        while let input = walker.next() {
            if let problem = input.problem { warn("\(input.path): \(problem)"); failed += 1; continue }
            if done.contains(input.path) { skipped += 1; continue }
            if own.contains(EmbeddingStore.canonical(input.path)) || input.path.contains(".veil-partial-") { continue }
            progress.update(done: embedded + failed, rate: Double(embedded) / max(1e-9, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            do {
                let data = try ImageDecoder.readFile(atPath: input.path)
                // As `veil score`: in a folder, files that are no image at all are passed over.
                if !input.named && !ImageReader.canRead(data) && ImageFormat.sniff(data) == nil && !ScorePipeline.isNamedLikeAnImage(input.path) {
                    continue
                }
                let source = try classifier.reader.pictures(in: data)
                // The model was made for photographs: a CT or an ultrasound has no embedding
                // a head should learn from, as `veil score` does not score them either.
                if let dicom = source.dicom, VisibleLight.exclusionReason(for: dicom) != nil {
                    notVisibleLight += 1
                    continue
                }
                let sha = ContentDigest.sha256(data)
                files.append(Pending(path: input.path, sha256: sha, frames: source.count, multiFrame: source.dicom != nil))
                for index in 0..<source.count {
                    images.append(try source.picture(at: index).image)
                    owners.append(files.count - 1)  // the file being read is always the last
                    if images.count >= batchSize { try flush() }
                }
            } catch let error as ImageDecodingError {
                // The whole file is left out: a row per frame, or none.
                if let last = files.last, last.path == input.path {
                    let owner = files.count - 1
                    let keep = owners.indices.filter { owners[$0] != owner }
                    images = keep.map { images[$0] }
                    owners = keep.map { owners[$0] }
                    files.removeLast()
                }
                if error.kind == .noSuchFile && input.named { missing += 1 }
                warn("\(error.attributed(to: input.path))")
                failed += 1
            }
        }
        try flush()
        try store.finish()
        progress.finish()
        warn("embedded \(embedded) image(s), \(store.rows.count) row(s) in \(out)" + (skipped > 0 ? "; \(skipped) already there" : "")
             + (notVisibleLight > 0 ? "; \(notVisibleLight) DICOM object(s) not visible-light, skipped" : "")
             + (failed > 0 ? "; \(failed) failed" : ""))
        if missing > 0 { throw CommandFailure(.noInput) }
        if failed > 0 { throw CommandFailure(.fileErrors) }
    }
}

extension EmbeddingStore.Backbone {
    init(_ classifier: Classifier) {
        self.init(name: classifier.identity.name, version: classifier.identity.version,
                  weightsSHA256: classifier.identity.weightsSHA256, embedding: classifier.embeddingTensor ?? "")
    }
}
