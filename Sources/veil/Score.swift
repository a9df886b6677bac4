import ArgumentParser
import Foundation
import Veil
import VeilReview

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score image files and folders, one JSON record per image.",
        discussion: """
        Folders are walked recursively, in sorted order. Formats are recognised from the \
        bytes, not the file name; in a folder, files that are not a supported image are \
        counted and skipped, while a file named on the command line always gets a record. \
        A file that fails to decode gets an error record and the run goes on.

        Records go to standard output as JSON lines (see "The score record" in README.md). \
        Scores are suggestions for human review, never labels.

        Examples:
          veil score Samples/images
          veil score /archive/photos --batch-size 16 > scores.jsonl
        """
    )

    @Argument(help: "Image files or folders to score.")
    var paths: [String]

    @Option(help: "Images per forward pass; larger batches make faster matrix products.")
    var batchSize = 8

    @Option(help: "Compute threads (OpenBLAS and Veil's own loops together). Default: all cores.")
    var threads: Int?

    @Option(help: "A model manifest to use instead of the embedded default model.")
    var model: String?

    @Option(help: "A policy file (YAML) with the flags' review thresholds; default: Veil's built-in policy.")
    var policy: String?

    @Option(name: .customLong("threshold"), help: ArgumentHelp("Override a flag's review threshold for this run.", valueName: "FLAG=VALUE"))
    var thresholds: [String] = []

    @Option(help: "Also record the suggestions that call for review in this review ledger (SQLite).")
    var ledger: String?

    @Flag(help: "Exit with code \(ExitCodes.fileErrors.rawValue) if any file failed.")
    var failOnError = false

    mutating func validate() throws {
        if paths.isEmpty { throw ValidationError("Give at least one file or folder.") }
        if batchSize < 1 || batchSize > 256 { throw ValidationError("--batch-size must be between 1 and 256.") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
        _ = try thresholdOverrides()
    }

    func thresholdOverrides() throws -> [String: Double] {
        var out: [String: Double] = [:]
        for item in thresholds {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let value = Double(parts[1]), (0...1).contains(value) else {
                throw ValidationError("--threshold takes FLAG=VALUE with VALUE between 0 and 1, e.g. nudity=0.3; got '\(item)'.")
            }
            out[parts[0]] = value
        }
        return out
    }

    func run() throws {
        ComputeThreads.configure(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        if BLASDiagnostics.isUsingGenericKernelsOnModernCPU {
            FileHandle.standardError.write(Data("""
                veil: note: OpenBLAS uses its generic '\(BLASDiagnostics.coreName)' kernels on this AVX2 processor, \
                so scoring runs several times slower than it could. See "Performance" in README.md \
                (OPENBLAS_CORETYPE).\n
                """.utf8))
        }
        let classifier: Classifier
        do {
            classifier = try model.map { try Classifier(manifestAt: $0) } ?? Classifier.loadDefault()
        } catch {
            FileHandle.standardError.write(Data("veil: cannot load the model: \(error)\n".utf8))
            throw ExitCodes.modelUnavailable
        }
        let activePolicy: Policy
        do { activePolicy = try policy.map { try Policy.load(path: $0) } ?? .standard } catch {
            FileHandle.standardError.write(Data("veil: \(error)\n".utf8))
            throw ExitCodes.usage
        }
        let overrides = try thresholdOverrides()
        let reviewLedger: Ledger?
        do { reviewLedger = try ledger.map { try Ledger(path: $0) } } catch {
            FileHandle.standardError.write(Data("veil: \(error)\n".utf8))
            throw ExitCodes.outputFailed
        }
        let policyInfo = ScoreRecord.PolicyInfo(name: activePolicy.name, version: activePolicy.version)
        let manifest = classifier.model.manifest
        let modelInfo = ScoreRecord.ModelInfo(name: manifest.name, version: manifest.version,
                                              weightsSHA256: manifest.weights.sha256)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let inputs = InputWalker.files(under: paths)
        let vocabulary: Vocabulary
        do { vocabulary = try Vocabulary.standard() } catch {
            FileHandle.standardError.write(Data("veil: cannot load the body-part vocabulary: \(error)\n".utf8))
            throw ExitCodes.modelUnavailable
        }

        var failures = 0
        // Records wait here until their batch is scored, errors included, so output keeps input order.
        var pending: [(record: ScoreRecord, image: RGBImage?)] = []
        var pendingImages = 0
        func emit(_ record: ScoreRecord) throws {
            var line = try encoder.encode(record)
            line.append(0x0A)
            do {
                try FileHandle.standardOutput.write(contentsOf: line)
            } catch {
                FileHandle.standardError.write(Data("veil: cannot write the output: \(error.localizedDescription)\n".utf8))
                throw ExitCodes.outputFailed
            }
        }
        func flush() throws {
            let scores = try classifier.scores(for: pending.compactMap(\.image))
            var next = scores.makeIterator()
            for entry in pending {
                var record = entry.record
                if entry.image != nil, var scores = next.next() {
                    // Metadata evidence: an intimate region named in the path raises `body-region`.
                    let evidence = BodyRegionEvidence.fromPath(record.path, vocabulary: vocabulary)
                    scores["body-region"] = Float(evidence.map(\.confidence).max() ?? 0)
                    record.scores = scores
                    record.evidence = evidence.isEmpty ? nil : evidence
                    // Six decimals: enough for any threshold, and no float noise in records.
                    let suggestions = activePolicy.suggestions(for: scores.mapValues { (Double($0) * 1e6).rounded() / 1e6 },
                                                               overrides: overrides)
                    record.suggestions = suggestions
                    record.review = ReviewSummary(suggestions)
                    record.policy = policyInfo
                    if let reviewLedger, let sha = record.sha256, let w = record.width, let h = record.height {
                        do {
                            try reviewLedger.record(image: LedgerImage(sha256: sha, path: record.path, width: w, height: h),
                                                    suggestions: suggestions, policy: activePolicy,
                                                    model: manifest.name, modelVersion: manifest.version)
                        } catch {
                            FileHandle.standardError.write(Data("veil: \(error)\n".utf8))
                            throw ExitCodes.outputFailed
                        }
                    }
                }
                try emit(record)
            }
            pending.removeAll(keepingCapacity: true)
            pendingImages = 0
        }
        for input in inputs {
            var record = ScoreRecord(path: input.path, status: "ok")
            do {
                let data = try ImageDecoder.readFile(atPath: input.path)
                record.sha256 = SHA256.hex(data)
                if !input.named, let format = ImageFormat.sniff(data), !format.isDecodable {
                    continue  // found in a folder, not an image Veil reads
                } else if !input.named, ImageFormat.sniff(data) == nil {
                    continue
                }
                let decoded = try classifier.decoder.decodeWithDetails(data)
                record.format = decoded.format.rawValue
                record.width = decoded.fullSize.width
                record.height = decoded.fullSize.height
                record.model = modelInfo
                pending.append((record, decoded.image))
                pendingImages += 1
                if pendingImages == batchSize { try flush() }
            } catch let error as ImageDecodingError {
                failures += 1
                record.status = "error"
                record.error = .init(kind: error.kind.name, message: error.reason)
                pending.append((record, nil))
            }
        }
        try flush()
        if failures > 0 {
            FileHandle.standardError.write(Data("veil: \(failures) file(s) could not be scored; see their error records\n".utf8))
            if failOnError { throw ExitCodes.fileErrors }
        }
    }
}

/// Expands folders into the files beneath them, in a stable (sorted) order.
enum InputWalker {
    struct Input {
        var path: String
        /// Named on the command line (always gets a record) rather than found in a folder.
        var named: Bool
    }

    static func files(under paths: [String]) -> [Input] {
        var result: [Input] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let found = (fm.enumerator(atPath: path)?.allObjects as? [String]) ?? []
                for relative in found.sorted() {
                    let full = (path as NSString).appendingPathComponent(relative)
                    var sub: ObjCBool = false
                    if fm.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue {
                        result.append(Input(path: full, named: false))
                    }
                }
            } else {
                result.append(Input(path: path, named: true))
            }
        }
        return result
    }
}
