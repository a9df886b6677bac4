import Foundation
import VeilEngine
import VeilPolicy
import VeilTensor
import VeilVocabulary

/// A site-trained head: one flag, such as `gruesome`, scored from a classifier's embedding
/// in the same forward pass that gives the classifier's own scores.
///
/// `veil heads fit` makes one from reviewers' decisions: a logistic regression on the
/// backbone's pooled features, calibrated out of fold, stored as a Veil model (a manifest
/// and safetensors) whose graph is one fully connected layer and a sigmoid. The manifest
/// records the backbone it was fitted on, the training data in counts and one hash, and
/// the cross-validated measures; no per-image data.
///
/// ```swift
/// let gruesome = try Head(manifestAt: "/site/heads/gruesome/manifest.json")
/// let classifier = try Classifier.loadDefault().adding(heads: [gruesome])
/// let scores = try classifier.scores(forFileAt: "/archive/IMG_0042.jpg")   // nudity and gruesome
/// ```
public final class Head: Sendable {
    package let model: Model

    /// The flag the head scores.
    public let flag: Flag

    /// The head's own name, version and weights hash.
    public let identity: ModelIdentity

    /// The classifier the head reads: its name, version and weights hash must match.
    public let backbone: ModelIdentity

    /// The DICOM category (CID 900) its flag carries, if the fit named one, e.g. 131394
    /// Gruesome Content.
    public let category: SensitiveContentCode?

    /// The threshold that reached the target recall out of fold when it was fitted: a
    /// starting point for the policy, which governance may change.
    public let suggestedThreshold: Double

    /// The cross-validated ROC AUC and its 95% bootstrap interval at fitting time, against
    /// which `veil heads evaluate` checks newly reviewed images for drift.
    public let rocAUC: (value: Double, low: Double, high: Double)

    /// Where the head was loaded from, for messages that must say which head is meant.
    public let manifestPath: String

    /// Loads the head whose manifest is at `path`; its weights file is found beside it.
    ///
    /// - Throws: ``ModelLoadingError`` naming the file and the cause: not a head, a graph
    ///   that does not take a pooled embedding, or more than one score.
    public init(manifestAt path: String, runtime: Runtime = Runtime(threads: 1)) throws {
        let model = try Model.load(manifestAt: path, runtime: runtime)
        let manifest = model.manifest
        guard let head = manifest.head else {
            throw ModelLoadingError(file: path, "is not a head (it has no 'head' section); heads are made by `veil heads fit`")
        }
        guard manifest.outputs.count == 1, manifest.preprocessing.isEmpty, manifest.input.height == 1, manifest.input.width == 1 else {
            throw ModelLoadingError(file: path, "a head takes a pooled embedding (C×1×1, no preprocessing) and gives one score")
        }
        // A weight that is not a number would make every score NaN: no verdict at all. A
        // head's weights are a few kilobytes; reading them again costs nothing.
        let weightsPath = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(manifest.weights.file)
        let weights = try SafeTensorsFile(path: weightsPath)
        for name in weights.entries.keys.sorted() where try !weights.floats(name).values.allSatisfy(\.isFinite) {
            throw ModelLoadingError(file: weightsPath, "weight '\(name)' holds values that are not finite numbers")
        }
        var category: SensitiveContentCode?
        if let key = head.category {
            guard let code = SensitiveContentCode.recognize(key), code.group == .category else {
                throw ModelLoadingError(file: path, "head.category '\(key)' is not a DICOM sensitive content category (CID 900)")
            }
            category = code
        }
        self.model = model
        self.manifestPath = path
        self.flag = Flag(manifest.outputs[0].name)
        self.identity = ModelIdentity(manifest)
        self.backbone = ModelIdentity(name: head.backbone.name, version: head.backbone.version, weightsSHA256: head.backbone.weightsSHA256)
        self.category = category
        self.suggestedThreshold = head.metrics.threshold
        let interval = head.metrics.rocAUCInterval
        self.rocAUC = (head.metrics.rocAUC, interval.first ?? .nan, interval.last ?? .nan)
    }

    /// The embedding length the head takes.
    public var embeddingLength: Int { model.manifest.input.channels }

    /// Scores a batch of embeddings held as Veil's `(C, N, 1, 1)` tensor.
    func scores(embeddings: Tensor) throws -> [Double] {
        let spec = model.manifest.outputs[0]
        let output = try model.run(embeddings)[spec.tensor]!
        return (0..<embeddings.shape.batch).map { n in Double(output.storage[(spec.channel * output.shape.batch + n) * output.shape.plane]) }
    }

    /// Scores embeddings, one array per image, each ``embeddingLength`` long.
    public func scores(embeddings: [[Float]]) throws -> [Double] {
        guard !embeddings.isEmpty else { return [] }
        var values = [Float](repeating: 0, count: embeddingLength * embeddings.count)
        for (n, e) in embeddings.enumerated() {
            guard e.count == embeddingLength else {
                throw ModelLoadingError(file: "head \(identity.name)", "takes embeddings of \(embeddingLength) values, got \(e.count)")
            }
            for c in 0..<embeddingLength { values[c * embeddings.count + n] = e[c] }
        }
        return try scores(embeddings: Tensor(shape: .init(channels: embeddingLength, batch: embeddings.count, height: 1, width: 1), storage: values))
    }
}

extension Policy {
    /// This policy with a rule for each head's flag it lacks: the flag declared a site flag,
    /// reviewed from the head's suggested threshold and labelled with its category. A rule the
    /// policy has is kept: the committee's threshold wins over the fit's.
    public func covering(_ heads: [Head]) -> Policy {
        var policy = self
        for head in heads where policy.flags[head.flag] == nil {
            policy.siteFlags.insert(head.flag)
            policy.flags[head.flag] = FlagPolicy(reviewThreshold: head.suggestedThreshold, category: head.category)
        }
        return policy
    }

    /// Loads the heads this policy names (``heads``), each folder's `manifest.json`.
    ///
    /// - Throws: ``ModelLoadingError`` naming the folder and the cause.
    public func loadHeads(runtime: Runtime = Runtime(threads: 1)) throws -> [Head] {
        try heads.map { try Head(manifestAt: ($0 as NSString).appendingPathComponent("manifest.json"), runtime: runtime) }
    }
}
