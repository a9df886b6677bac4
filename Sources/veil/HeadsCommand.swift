import ArgumentParser
import Foundation
import Veil
import VeilEngine
import VeilFitting
import VeilPolicy
import VeilReview
import VeilVocabulary

struct HeadsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heads",
        abstract: "Fit site-trained flags (heads) from reviewers' decisions, and check them on new ones.",
        discussion: """
        A head scores one flag, such as gruesome, from the model's embedding of an image, in \
        the same forward pass as the model's own scores. The loop: score, review, fit, score \
        with --head. See docs/site-trained-flags.md.
        """,
        subcommands: [Fit.self, Evaluate.self]
    )

    /// Where labels come from: a review ledger's decisions on the flag, or a truth CSV.
    struct LabelSource: ParsableArguments {
        @Option(help: "Use the confirmed (1) and rejected (0) decisions on the head's flag in this review ledger.") var ledger: String?
        @Option(help: "A CSV with a path column and a column named after the head's flag, holding 0 or 1 (paths relative to the working folder).") var truth: String?
        @Option(help: "Embeddings from `veil embed` (its .safetensors file); without it, they are computed from the images.")
        var embeddings: String?

        func validate() throws {
            if (ledger == nil) == (truth == nil) { throw ValidationError("Give exactly one of --ledger or --truth.") }
        }

        /// A path made absolute against the working folder, as rows are matched.
        static func canonical(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

        /// The paths `--embeddings` lists, made absolute.
        func storePaths() throws -> Set<String> {
            guard let embeddings else { return [] }
            let text = (try? String(contentsOfFile: EmbeddingStore.indexPath(for: embeddings), encoding: .utf8)) ?? ""
            return Set(text.split(separator: "\n").dropFirst().compactMap {
                (try? JSONDecoder().decode(EmbeddingStore.Row.self, from: Data($0.utf8))).map { Self.canonical($0.path) }
            })
        }

        /// One example: an image (or one frame of it) and its label.
        struct Example { var sha256: String; var path: String; var frame: Int?; var label: Bool }

        /// The labelled images for `flag`, by path and SHA-256 (a truth CSV's images are read
        /// to find their SHA-256).
        func labels(for flag: Flag) throws -> [(sha256: String, path: String, label: Bool)] {
            if let ledger {
                guard FileManager.default.fileExists(atPath: ledger) else { throw CommandFailure(.noInput, "\(ledger): no such review ledger") }
                let opened: Ledger
                do { opened = try Ledger(path: ledger, create: false) } catch { throw CommandFailure(.usage, "\(error)") }
                // The latest decision on the flag, per image: an image is a positive if its
                // latest decided suggestion of the flag was confirmed.
                var latest: [String: (at: String, path: String, label: Bool)] = [:]
                for e in try opened.entries() where e.flag == flag && (e.state == .confirmed || e.state == .rejected) {
                    let at = e.decidedAt ?? ""
                    if let seen = latest[e.sha256], seen.at > at { continue }
                    latest[e.sha256] = (at, e.path, e.state == .confirmed)
                }
                guard !latest.isEmpty else {
                    throw CommandFailure(.fileErrors, "\(ledger) holds no confirmed or rejected decisions on '\(flag)'. A flag nothing scores yet has none: fit its first head from a truth CSV (--truth; docs/site-trained-flags.md), then refit from the ledger once its suggestions are reviewed")
                }
                return latest.sorted { $0.key < $1.key }.map { ($0.key, $0.value.path, $0.value.label) }
            }
            let file = truth!
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure(FileManager.default.fileExists(atPath: file) ? .usage : .noInput, "\(file): no such truth file, or unreadable")
            }
            let table: [String: [Flag: Bool]]
            do { table = try TruthFile.parse(data, file: file) } catch { throw CommandFailure(.usage, "\(error)") }
            let labelled = table.compactMap { path, labels in labels[flag].map { (path, $0) } }.sorted { $0.0 < $1.0 }
            guard !labelled.isEmpty else {
                let header = String(decoding: data.prefix { $0 != 0x0A && $0 != 0x0D }, as: UTF8.self)
                let hasColumn = header.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == flag.rawValue }
                throw CommandFailure(.usage, hasColumn ? "\(file): no row has 0 or 1 in column '\(flag)'"
                                                      : "\(file) has no column '\(flag)'; its header: \(header)")
            }
            let unlabelled = table.count - labelled.count
            if unlabelled > 0 { warn("note: \(file): \(unlabelled) row(s) have no value in column '\(flag)' and are left out") }
            // A file that does not exist can still be named in --embeddings by its path; it
            // must be there or be missing from both.
            let missing = labelled.map(\.0).filter { !FileManager.default.fileExists(atPath: $0) }
            let listed = try storePaths()
            if !missing.isEmpty && (embeddings == nil || !listed.isSuperset(of: missing.map(Self.canonical))) {
                throw CommandFailure(.noInput, "\(file): \(missing.count) labelled path(s) do not exist, e.g. \(missing.prefix(3).joined(separator: ", "))")
            }
            // Images are matched to embeddings by their bytes where they can be read, so that
            // a path written differently (relative, through a link) still finds its row.
            var result: [(sha256: String, path: String, label: Bool)] = []
            var seen: [String: (path: String, label: Bool)] = [:]
            for (path, label) in labelled {
                let sha = (try? ImageDecoder.readFile(atPath: path)).map(ContentDigest.sha256) ?? ""
                if !sha.isEmpty, let earlier = seen[sha] {
                    // The same picture twice: the same label is one example, two labels a contradiction.
                    guard earlier.label == label else {
                        throw CommandFailure(.usage, "\(file): \(earlier.path) and \(path) are the same image, labelled \(earlier.label ? 1 : 0) and \(label ? 1 : 0)")
                    }
                    continue
                }
                if !sha.isEmpty { seen[sha] = (path, label) }
                result.append((sha256: sha, path: path, label: label))
            }
            return result
        }

        /// Each labelled image's embeddings (one per frame) as examples, from --embeddings or
        /// computed with `classifier`.
        func examples(for flag: Flag, classifier: Classifier) throws -> (examples: [Example], vectors: [[Float]]) {
            let labelled = try labels(for: flag)
            var examples: [Example] = [], vectors: [[Float]] = []
            if let embeddings {
                let store = try EmbeddingStore.load(embeddings, expecting: EmbeddingStore.Backbone(classifier))
                // By SHA-256; by path (made absolute) only for an image that can no longer be read.
                let canonical = Self.canonical
                var bySHA: [String: [Int]] = [:], byPath: [String: [Int]] = [:]
                for (i, row) in store.rows.enumerated() {
                    if bySHA[row.sha256]?.contains(where: { store.rows[$0].frame == row.frame }) != true { bySHA[row.sha256, default: []].append(i) }
                    byPath[canonical(row.path), default: []].append(i)
                }
                var unknown: [String] = []
                for item in labelled {
                    let rows = item.sha256.isEmpty ? byPath[canonical(item.path)] : bySHA[item.sha256]
                    guard let rows, !rows.isEmpty else { unknown.append(item.path); continue }
                    for i in rows {
                        let row = store.rows[i]
                        examples.append(Example(sha256: row.sha256, path: row.path, frame: row.frame, label: item.label))
                        vectors.append(Array(store.values[(i * store.length)..<((i + 1) * store.length)]))
                    }
                }
                if !unknown.isEmpty {
                    throw CommandFailure(.usage, "\(unknown.count) labelled image(s) are not in \(embeddings), e.g. \(unknown.prefix(3).joined(separator: ", ")); embed them (veil embed --resume) or leave them out")
                }
                return (examples, vectors)
            }
            var failed: [String] = []
            for item in labelled {
                do {
                    let data = try ImageDecoder.readFile(atPath: item.path)
                    let sha = ContentDigest.sha256(data)
                    if !item.sha256.isEmpty && sha != item.sha256 {
                        failed.append("\(item.path) has changed since it was reviewed (its SHA-256 differs)")
                        continue
                    }
                    let outputs = try classifier.outputs(forFileAt: item.path)
                    for (n, output) in outputs.enumerated() {
                        examples.append(Example(sha256: sha, path: item.path, frame: outputs.count > 1 ? n + 1 : nil, label: item.label))
                        vectors.append(output.embedding ?? [])
                    }
                } catch {
                    failed.append("\(error)")
                }
            }
            // A label that silently drops out changes what the head learns: refuse instead.
            if !failed.isEmpty {
                throw CommandFailure(.fileErrors, "\(failed.count) labelled image(s) could not be read: \(failed.prefix(3).joined(separator: "; "))")
            }
            return (examples, vectors)
        }
    }

    /// A value that is not a finite number (a damaged or hand-edited embeddings file) would
    /// make the fit, and every score of the head, NaN.
    static func refuseNonFinite(_ examples: [LabelSource.Example], _ vectors: [[Float]], source: String?) throws {
        if let i = vectors.firstIndex(where: { !$0.allSatisfy(\.isFinite) }) {
            throw CommandFailure(.usage, "\(source ?? "the embeddings"): the embedding of \(examples[i].path)\(examples[i].frame.map { " frame \($0)" } ?? "") holds a value that is not a finite number; embed it again")
        }
    }

    static func loadClassifier(threads: Int?) throws -> Classifier {
        do {
            return try Classifier.loadDefault(runtime: Runtime(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount))
        } catch {
            throw CommandFailure(.unavailable, "cannot load the model: \(error)")
        }
    }

    struct Fit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fit a head for one flag from labelled images and write it as a model folder.",
            usage: "veil heads fit --flag <flag> (--ledger <ledger> | --truth <truth>)\n     [--embeddings <file>] --out <dir> [--target-recall <r>]\n     [--category <code>] [--threads <n>] [--json]",
            discussion: """
            Fits an L2-regularised logistic regression on the standardised embeddings, classes \
            weighted, its strength chosen by stratified 5-fold cross-validation with a fixed \
            seed, and a Platt calibration fitted out of fold. Prints and stores the \
            cross-validated ROC AUC and PR AUC with 95% bootstrap intervals, and the threshold \
            for --target-recall with its precision and review rate. Needs at least 20 images \
            with the flag and 20 without: fewer leave folds that cannot be ranked.

            The folder holds manifest.json and weights.safetensors; its provenance names the \
            backbone, the counts of each class, a hash of the sorted image hashes and labels, \
            who fitted it, when, with which command, and the measures. No per-image data.

            Exit codes: 0 fitted; 64 bad options or inputs; 65 too few examples, or images \
            that cannot be read; 66 an input does not exist; 69 the model cannot be loaded; \
            73 the folder cannot be written.

            Examples:
              veil heads fit --flag gruesome --ledger review.sqlite --out heads/gruesome
              veil heads fit --flag ruler --truth truth.csv --embeddings emb.safetensors \\
                --out heads/ruler --target-recall 0.95
            """
        )

        @Option(help: "The flag the head scores, e.g. gruesome.") var flag: Flag
        @OptionGroup var source: LabelSource
        @Option(help: "The folder to write the head into (created; must be empty if it exists).") var out: String
        @Option(help: "The recall the suggested threshold must reach, out of fold.") var targetRecall = 0.9
        @Option(help: ArgumentHelp("The DICOM category (CID 900) of the flag. Default: gruesome 131394, personal 131392, others 131395.", valueName: "code"))
        var category: String?
        @Option(help: "Threads for computing embeddings. Default: all cores.") var threads: Int?
        @ArgumentParser.Flag(help: "Print the measures as JSON.") var json = false

        func validate() throws {
            if !(targetRecall > 0 && targetRecall <= 1) { throw ValidationError("--target-recall must be in (0, 1].") }
            // A head adds a site flag: a built-in one is scored already, by a model or metadata.
            if let problem = Policy.siteFlagProblem(flag.rawValue) { throw ValidationError("--flag \(flag): \(problem)") }
        }

        func categoryCode() throws -> SensitiveContentCode {
            if let category {
                let key = category.contains(":") ? category : "DCM:" + category
                guard let code = SensitiveContentCode.recognize(key), code.group == .category, code != .noSensitiveContent else {
                    throw CommandFailure(.usage, "--category \(category) is not a DICOM sensitive content category (131391 to 131395)")
                }
                return code
            }
            switch flag.rawValue {
            case "gruesome": return .gruesomeContent
            case "personal": return .personalContent
            default: return Policy.standard.contentCategory(for: flag) ?? .sensitiveContent
            }
        }

        func run() throws {
            let category = try categoryCode()
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isFolder) {
                let contents = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? ["?"]
                guard isFolder.boolValue, contents.isEmpty else {
                    throw CommandFailure(.usage, "--out \(out) exists and is not an empty folder; a head is never written over another")
                }
            }
            let classifier = try HeadsCommand.loadClassifier(threads: threads)
            guard let length = classifier.embeddingLength, let tensor = classifier.embeddingTensor else {
                throw CommandFailure(.unavailable, "the model \(classifier.identity.name) names no embedding to fit a head on")
            }
            let (examples, vectors) = try source.examples(for: flag, classifier: classifier)
            try HeadsCommand.refuseNonFinite(examples, vectors, source: source.embeddings)
            var options = HeadFitOptions()
            options.targetRecall = targetRecall
            let x = Matrix(rows: vectors.map { $0.map(Double.init) })
            let fitted: FittedHead
            do { fitted = try fitHead(embeddings: x, labels: examples.map(\.label), options: options) } catch let error as HeadFitError {
                throw CommandFailure(.fileErrors, "--flag \(flag): \(error)")
            }
            guard fitted.folded.weights.allSatisfy(\.isFinite), fitted.folded.bias.isFinite else {
                throw CommandFailure(.fileErrors, "--flag \(flag): the fit did not converge to finite weights; check the embeddings")
            }
            // The data's identity without the data: the sorted image hashes with their labels.
            let lines = Set(examples.map { "\($0.sha256)\t\($0.frame ?? 0)\t\($0.label ? 1 : 0)\n" }).sorted().joined()
            let (weights, bias) = fitted.folded
            let name = "head-\(flag.rawValue)"
            let weightsBytes = try SafeTensorsWriter.encode(["head.weight": (shape: [1, length], values: weights.map(Float.init)),
                                                             "head.bias": (shape: [1], values: [Float(bias)])],
                                                            metadata: ["format": "veil-model", "model": name])
            let metrics = ModelManifest.HeadSpec.Metrics(
                folds: options.folds, seed: options.seed, c: fitted.c, rocAUC: fitted.rocAUC, rocAUCInterval: fitted.rocAUCInterval,
                prAUC: fitted.prAUC, prAUCInterval: fitted.prAUCInterval, targetRecall: targetRecall, threshold: fitted.threshold,
                precision: fitted.precision, reviewRate: fitted.reviewRate)
            let formatter = ISO8601DateFormatter()
            let manifest = ModelManifest(
                name: name, version: formatter.string(from: Date()).prefix(10).replacingOccurrences(of: "-", with: ""),
                license: "LicenseRef-site-trained",
                summary: "Site-trained head: probability that an image shows '\(flag)', from \(classifier.identity.name)'s embedding.",
                provenance: .init(sources: [], converter: "veil heads fit",
                                  notes: "Logistic regression (L2, balanced classes) on standardised embeddings, C chosen by stratified \(options.folds)-fold cross-validation, Platt calibration fitted out of fold; standardisation and calibration folded into one fully connected layer."),
                weights: .init(file: "weights.safetensors", sha256: SHA256Hasher.hex(weightsBytes)),
                input: .init(tensor: "embedding", channels: length, height: 1, width: 1),
                preprocessing: [],
                outputs: [.init(name: flag.rawValue, tensor: "probability", channel: 0)],
                graph: [
                    .init(name: "head", op: .fullyConnected, inputs: ["embedding"], output: "logit",
                          attributes: .init(units: 1), weights: ["weight": "head.weight", "bias": "head.bias"]),
                    .init(name: "probability", op: .sigmoid, inputs: ["logit"], output: "probability"),
                ],
                head: .init(
                    backbone: .init(name: classifier.identity.name, version: classifier.identity.version,
                                    weightsSHA256: classifier.identity.weightsSHA256, embedding: tensor),
                    category: category.key,
                    training: .init(positives: fitted.positives, negatives: fitted.negatives,
                                    dataSHA256: SHA256Hasher.hex(Array(lines.utf8)),
                                    fittedBy: ProcessInfo.processInfo.environment["USER"] ?? NSUserName(),
                                    fittedAt: formatter.string(from: Date()),
                                    command: CommandLine.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")),
                    metrics: metrics))
            try write(manifest: manifest, weights: weightsBytes)
            // The written head must load and run as `veil score --head` will run it.
            do { _ = try classifier.adding(heads: [try Head(manifestAt: (out as NSString).appendingPathComponent("manifest.json"))]) } catch {
                throw CommandFailure(.outputFailed, "the head written to \(out) does not load: \(error)")
            }
            try HeadsCommand.report(flag: flag, metrics: metrics, positives: fitted.positives, negatives: fitted.negatives,
                                    out: out, json: json)
        }

        /// Writes the folder beside `out` and renames it into place: a head is whole or absent.
        func write(manifest: ModelManifest, weights: [UInt8]) throws {
            let target = URL(fileURLWithPath: out).standardizedFileURL
            let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).veil-partial-\(UUID().uuidString)")
            do {
                try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                try Data(weights).write(to: temporary.appendingPathComponent("weights.safetensors"))
                try encoder.encode(manifest).write(to: temporary.appendingPathComponent("manifest.json"))
                // An empty folder named --out (allowed) goes first; rename does not replace a folder.
                if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
                guard rename(temporary.path, target.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw CommandFailure(.outputFailed, "cannot write the head to \(out): \(plainReason(error))")
            }
        }
    }

    /// The measures in plain words, or as JSON: of a fit (cross-validated, `out` the folder
    /// written) or of an evaluation on new images (`out` nil).
    static func report(flag: Flag, metrics: ModelManifest.HeadSpec.Metrics, positives: Int, negatives: Int, out: String?, json: Bool) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            struct Report: Encodable { var flag: String; var positives: Int; var negatives: Int; var metrics: ModelManifest.HeadSpec.Metrics }
            try StandardOutput.line(String(decoding: try encoder.encode(Report(flag: flag.rawValue, positives: positives, negatives: negatives, metrics: metrics)), as: UTF8.self))
            return
        }
        func f(_ v: Double) -> String { String(format: "%.3f", v) }
        let r = metrics.rocAUCInterval, p = metrics.prAUCInterval
        let fitted = out != nil
        try StandardOutput.line("""
            head for '\(flag)'\(out.map { " written to \($0)" } ?? ""): \(positives) examples with the flag, \(negatives) without
              ROC AUC \(f(metrics.rocAUC)) (95% interval \(f(r.first ?? .nan))–\(f(r.last ?? .nan)))\(fitted ? ", cross-validated over \(metrics.folds) folds" : "")
              PR AUC  \(f(metrics.prAUC)) (95% interval \(f(p.first ?? .nan))–\(f(p.last ?? .nan)))
              at \(fitted ? "" : "the head's ")threshold \(f(metrics.threshold)): recall \(f(metrics.targetRecall))\(fitted ? " or more" : ""), \
            precision \(f(metrics.precision)), \(String(format: "%.1f", 100 * metrics.reviewRate))% of images to review
            """ + (fitted ? "\n  regularisation C = \(metrics.c)" : ""))
    }

    /// What `heads evaluate` measured, as printed and as JSON.
    struct Evaluation: Encodable {
        var flag: String
        var positives: Int
        var negatives: Int
        var rocAUC: Double
        var rocAUCInterval: [Double]
        var prAUC: Double
        var prAUCInterval: [Double]
        /// The head's own threshold, and recall, precision and review rate there.
        var threshold: Double
        var recall: Double
        var precision: Double
        var reviewRate: Double
        /// The cross-validated ROC AUC and interval when the head was fitted.
        var fittedROCAUC: Double
        var fittedROCAUCInterval: [Double]
        /// "below" or "above" the fitted interval, or "none".
        var drift: String
        /// Every image scored at or above the threshold: the images the head itself queued.
        var selectedByHead: Bool

        func print(json: Bool) throws {
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                try StandardOutput.line(String(decoding: try encoder.encode(self), as: UTF8.self))
                return
            }
            func f(_ v: Double) -> String { String(format: "%.3f", v) }
            try StandardOutput.line("""
                head for '\(flag)', on newly labelled images: \(positives) with the flag, \(negatives) without
                  ROC AUC \(f(rocAUC)) (95% interval \(f(rocAUCInterval[0]))–\(f(rocAUCInterval[1]))); when fitted \(f(fittedROCAUC)) (\(f(fittedROCAUCInterval[0]))–\(f(fittedROCAUCInterval[1])))
                  PR AUC  \(f(prAUC)) (95% interval \(f(prAUCInterval[0]))–\(f(prAUCInterval[1])))
                  at the head's threshold \(f(threshold)): recall \(f(recall)), precision \(f(precision)), \(String(format: "%.1f", 100 * reviewRate))% of images to review
                """)
        }
    }

    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure a head on newly reviewed images, and warn when it drifts.",
            usage: "veil heads evaluate <head> (--ledger <ledger> | --truth <truth>)\n     [--embeddings <file>] [--threads <n>] [--json]",
            discussion: """
            Scores the labelled images with the head and measures its ROC AUC and PR AUC with \
            95% bootstrap intervals. When the AUC falls outside the interval measured when the \
            head was fitted, it warns: the images have drifted, or the site's practice has \
            changed; review more and fit again.

            Exit codes: 0 measured (a drift warning included; --json says "drift"); 64 bad \
            options or a head of another model; 65 no decisions on the flag, fewer than 5 \
            images of a class, or images that cannot be read; 66 an input does not exist; 69 \
            the model or head cannot be loaded.

            Examples:
              veil heads evaluate heads/gruesome --ledger review-2027-01.sqlite
            """
        )

        @Argument(help: "The head's folder, as `veil heads fit` wrote it.") var head: String
        @OptionGroup var source: LabelSource
        @Option(help: "Threads for computing embeddings. Default: all cores.") var threads: Int?
        @ArgumentParser.Flag(help: "Print the measures as JSON.") var json = false

        func run() throws {
            let manifestPath = (head as NSString).appendingPathComponent("manifest.json")
            guard FileManager.default.fileExists(atPath: manifestPath) else {
                throw CommandFailure(.noInput, "\(head): no head here (no manifest.json)")
            }
            let loaded: Head
            do { loaded = try Head(manifestAt: manifestPath) } catch { throw CommandFailure(.unavailable, "\(error)") }
            let classifier = try HeadsCommand.loadClassifier(threads: threads)
            do { _ = try classifier.adding(heads: [loaded]) } catch { throw CommandFailure(.usage, "\(error)") }
            let (examples, vectors) = try source.examples(for: loaded.flag, classifier: classifier)
            let labels = examples.map(\.label)
            try HeadsCommand.refuseNonFinite(examples, vectors, source: source.embeddings)
            let positives = labels.filter { $0 }.count, negatives = labels.count - positives
            // Fewer than 5 of a class cannot be ranked in any way worth a number.
            guard positives >= 5, negatives >= 5 else {
                throw CommandFailure(.fileErrors, "too few labelled images to measure '\(loaded.flag)': need at least 5 of each class, have \(positives) with it and \(negatives) without")
            }
            let scores = try loaded.scores(embeddings: vectors)
            let auc = rocAUC(scores: scores, labels: labels) ?? .nan
            let atThreshold = scores.indices.filter { scores[$0] >= loaded.suggestedThreshold }
            let found = atThreshold.filter { labels[$0] }.count
            let report = Evaluation(
                flag: loaded.flag.rawValue, positives: positives, negatives: negatives, rocAUC: auc,
                rocAUCInterval: bootstrapInterval(scores: scores, labels: labels, seed: 1, statistic: rocAUC),
                prAUC: averagePrecision(scores: scores, labels: labels) ?? .nan,
                prAUCInterval: bootstrapInterval(scores: scores, labels: labels, seed: 2, statistic: averagePrecision),
                threshold: loaded.suggestedThreshold, recall: Double(found) / Double(positives),
                precision: atThreshold.isEmpty ? 0 : Double(found) / Double(atThreshold.count),
                reviewRate: Double(atThreshold.count) / Double(scores.count),
                fittedROCAUC: loaded.rocAUC.value, fittedROCAUCInterval: [loaded.rocAUC.low, loaded.rocAUC.high],
                drift: auc < loaded.rocAUC.low ? "below" : auc > loaded.rocAUC.high ? "above" : "none",
                selectedByHead: scores.allSatisfy { $0 >= loaded.suggestedThreshold })
            try report.print(json: json)
            if positives < HeadFitOptions.minimumPerClass || negatives < HeadFitOptions.minimumPerClass {
                warn("note: fewer than \(HeadFitOptions.minimumPerClass) images of a class: the intervals are wide")
            }
            if report.selectedByHead {
                warn("warning: every image here scored at or above the head's threshold (they are the images it sent to review), so recall and review rate describe that selection, not the archive; measure on a random sample too (--truth)")
            }
            if report.drift != "none" {
                let drift = report.drift
                warn("warning: the ROC AUC on these images, \(String(format: "%.3f", auc)), is \(drift) the interval measured when the head was fitted (\(String(format: "%.3f", loaded.rocAUC.low))–\(String(format: "%.3f", loaded.rocAUC.high))): the images have drifted, or the site's practice has changed; review more and fit the head again")
            }
        }
    }
}
