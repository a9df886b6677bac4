import ArgumentParser
import Foundation
import Veil
import VeilDICOM
import VeilDICOMweb
import VeilImage
import VeilPolicy
import VeilReview
import VeilVocabulary

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score image files and folders, one JSON record per image.",
        discussion: """
        Folders are walked recursively, in sorted order. JPEG, PNG and DICOM are read, \
        recognised from the bytes, not the file name; in a folder, files that are not a \
        supported image are counted and skipped, while a file named on the command line \
        always gets a record. A file that fails to decode gets an error record and the run \
        goes on.

        Only visible-light DICOM objects are scored (photographs, endoscopy, microscopy, \
        dermoscopy, ophthalmic photography, and Secondary Captures from cameras); CT, MR, \
        US and other objects get a "skipped" record saying why (--all-modalities scores \
        them anyway), and objects without pixels (reports, DICOMDIRs) are skipped like \
        other non-image files. A DICOM object gets one record per frame, with its Study, \
        Series and SOP Instance UIDs; its Body Part Examined, Anatomic Region Sequence, descriptions, Recognizable \
        Visual Features and Sensitive Content Code Sequence are evidence for flags, and \
        "evidence" names the attribute behind each. Patient name, ID and dates never \
        appear in records or logs.

        Records go to standard output as JSON lines (docs/command-line.md, "The score record", lists every field). \
        Scores are suggestions for human review, never labels.

        With --dicomweb, the inputs are an archive's instances instead: searched with \
        QIDO-RS (study by study; --query narrows the search), retrieved with WADO-RS as \
        stored, or transcoded by the archive when Veil cannot decode the stored transfer \
        syntax. Each record's path is the instance's WADO-RS URL; --shard hashes and \
        --resume skips by SOP Instance UID. An instance the archive cannot deliver (404, \
        another 4xx) gets an error record; an archive that stops answering ends the run \
        with 75, after retries, and --resume goes on from there.

        Exit codes: 0 done (per-file errors are in the records); 64 bad options or policy; \
        65 some files failed and --fail-on-error was given; 66 a named input does not \
        exist; 69 a model cannot be loaded, or the archive cannot be used (an untrusted \
        certificate, a URL that is not a DICOMweb root); \
        73 the output or ledger cannot be written; 75 the archive stopped answering; 77 \
        the archive refused the credentials.

        Examples:
          veil score Samples/images
          veil score /archive/photos --batch-size 16 --out scores.jsonl
          veil score --policy site.yaml --ledger review.sqlite /archive/photos \\
            > scores.jsonl
          find /archive -name '*.dcm' | veil score --manifest - --out scores.jsonl
          veil score --dicomweb https://pacs.example.org/dicom-web \\
            --query ModalitiesInStudy=XC --query StudyDate=20200101-20201231 \\
            --credentials-file ~/.veil-pacs --out scores.jsonl
        """
    )

    @Argument(help: "Image files (JPEG, PNG, DICOM) or folders to score.")
    var paths: [String] = []

    @Option(help: "Also score the paths listed in this file, one per line ('-' for standard input); blank lines and lines starting with # are skipped.")
    var manifest: String?

    @Option(help: ArgumentHelp("Score the instances of this DICOMweb service (its root URL) instead of files.", valueName: "url"))
    var dicomweb: String?

    @Option(name: .customLong("query"), help: ArgumentHelp("With --dicomweb, search only for instances matching this QIDO-RS key; repeatable. KEY is an 8-digit tag or one of: \(QueryTerm.keywords.sorted().joined(separator: ", ")).", valueName: "KEY=VALUE"))
    var queries: [QueryTerm] = []

    @Option(help: "With --dicomweb, search results per QIDO-RS request; paging goes on until a page comes back empty.")
    var pageSize = 100

    @OptionGroup(title: "Archive (with --dicomweb)") var archive: ArchiveOptions

    @Option(help: "Write records to this file instead of standard output.")
    var out: String?

    @Option(help: "Record format: jsonl or csv.")
    var format: RecordFormat = .jsonl

    @ArgumentParser.Flag(help: "Continue an interrupted run: check that --out holds records of this format, cut a torn last line, skip inputs already recorded.")
    var resume = false

    @Option(help: ArgumentHelp("Score only shard K of N (0-based), chosen by a stable hash of each path.", valueName: "K/N"))
    var shard: Shard?

    @Option(help: "Images per forward pass; larger batches make faster matrix products.")
    var batchSize = 8

    @Option(help: "Cores to use in all (decoding workers plus inference threads). Default: all.")
    var threads: Int?

    @Option(help: "Overlap decoding with inference, using this many of --threads for decoding workers and the rest for inference. Default: no overlap; decoding and inference take turns, each with all --threads.")
    var jobs: Int?

    @Option(help: "A model manifest to use instead of the embedded default model.")
    var model: String?

    @Option(help: "A policy file (YAML) with the flags' review thresholds; default: Veil's built-in policy.")
    var policy: String?

    @Option(name: .customLong("head"), help: ArgumentHelp("A site-trained head's folder (`veil heads fit`), adding its flag; repeatable, and added to the policy's heads.", valueName: "dir"))
    var heads: [String] = []

    @Option(name: .customLong("threshold"), help: ArgumentHelp("Override a flag's review threshold for this run.", valueName: "FLAG=VALUE"))
    var thresholds: [ThresholdOverride] = []

    @Option(help: "Also record the suggestions that call for review in this review ledger (SQLite).")
    var ledger: String?

    @ArgumentParser.Flag(help: "Skip face detection (the `face` flag then comes from metadata only).")
    var noFaces = false

    @Option(help: "Face detection passes: 1 the whole image, with BlazeFace full range (default; finds faces down to about a fifth of the photo's shorter side, most down to a tenth), 2 adds tiles of half the shorter side (down to about 5%, at several times the cost), 3 adds quarter tiles.")
    var faceLevels: Int?

    @ArgumentParser.Flag(help: "Also score DICOM objects that are not visible-light captures (CT, MR, US, ...), which are skipped by default: the models were made for photographs.")
    var allModalities = false

    @ArgumentParser.Flag(help: "Exit with code \(ExitStatus.fileErrors.rawValue) if any file failed.")
    var failOnError = false

    mutating func validate() throws {
        if paths.isEmpty && manifest == nil && dicomweb == nil {
            throw ValidationError("Give at least one file or folder, --manifest, or --dicomweb.")
        }
        if dicomweb != nil && (!paths.isEmpty || manifest != nil) {
            throw ValidationError("Score files or an archive (--dicomweb) in one run, not both.")
        }
        // Archive options without an archive are a mistake, not something to ignore.
        if !(1...1000).contains(pageSize) { throw ValidationError("--page-size must be between 1 and 1000.") }
        if dicomweb == nil, let stray = archive.givenOptions.first ?? (queries.isEmpty ? nil : "--query") ?? (pageSize == 100 ? nil : "--page-size") {
            throw ValidationError("\(stray) is for --dicomweb, which is not given.")
        }
        if let faceLevels, !(1...3).contains(faceLevels) { throw ValidationError("--face-levels must be 1, 2 or 3.") }
        if noFaces && faceLevels != nil { throw ValidationError("--no-faces and --face-levels contradict each other: give one.") }
        if batchSize < 1 || batchSize > 256 { throw ValidationError("--batch-size must be between 1 and 256.") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1.") }
        if let jobs, jobs > cores {
            throw ValidationError("--jobs \(jobs) is more than the \(cores) cores of --threads (or of this machine): decoding workers share those cores.")
        }
        if resume && out == nil { throw ValidationError("--resume needs --out: there is no file to resume on standard output.") }
        _ = try thresholdOverrides()
    }

    /// All cores unless `--threads` says otherwise.
    var cores: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    func thresholdOverrides() throws -> [Flag: Double] {
        var out: [Flag: Double] = [:]
        for item in thresholds {
            guard out[item.flag] == nil else { throw ValidationError("--threshold names \(item.flag) twice.") }
            out[item.flag] = item.value
        }
        // The flag's existence and restrict >= review are checked against the policy in `run`.
        return out
    }

    func run() throws {
        // Overlapping, decoding workers and BLAS threads run at once and share the cores;
        // alternating, each phase has all of them in turn.
        let overlap = jobs != nil
        let workers = overlap ? min(jobs!, max(1, cores - 1)) : cores
        let runtime = Runtime(threads: overlap ? max(1, cores - workers) : cores)
        if BLASDiagnostics.isUsingGenericKernelsOnModernCPU {
            warn("""
                note: OpenBLAS runs its generic '\(BLASDiagnostics.coreName)' kernels on this AVX2 processor \
                (OPENBLAS_CORETYPE pins them, or this OpenBLAS cannot switch), so scoring runs several times \
                slower than it could. See docs/performance.md.
                """)
        }
        // An existing --out must be an earlier run's records: a photo in the folder being
        // scored, or any other file, would be destroyed before it could be read.
        var outInfo = stat()
        if let out, !resume, stat(out, &outInfo) == 0, (outInfo.st_mode & S_IFMT) == S_IFREG,
           let handle = FileHandle(forReadingAtPath: out), let head = try? handle.read(upToCount: 12), !head.isEmpty,
           head.first != UInt8(ascii: "{"), !head.starts(with: Data("path,sha256".utf8)) {
            throw CommandFailure(.usage, "--out \(out) exists and is not a veil score file; remove it or choose another --out")
        }
        // Nothing this run reads may be what it writes.
        try refuseOverwriting(out, option: "--out", inputs: paths + [manifest, policy, ledger])
        try refuseOverwriting(ledger, option: "--ledger", inputs: paths + [manifest, policy, out], mayBeALedger: true)
        // The policy first: a broken policy must stop the run before anything is loaded or written.
        // --threshold for a head's flag waits until the heads are loaded; any other applies
        // (and fails) now.
        let overrides = try thresholdOverrides()
        let loadedPolicy = try EffectivePolicy.loadOrExit(policy).policy
        let mayBeHeads = !heads.isEmpty || !loadedPolicy.heads.isEmpty
        let later = overrides.filter { mayBeHeads && loadedPolicy.flags[$0.key] == nil }
        let effective = try EffectivePolicy.loadOrExit(policy, thresholds: overrides.filter { later[$0.key] == nil })
        var activePolicy = effective.policy
        var classifier: Classifier
        do {
            classifier = try model.map { try Classifier(manifestAt: $0, runtime: runtime, batchSize: batchSize) }
                ?? Classifier.loadDefault(runtime: runtime, batchSize: batchSize)
        } catch {
            throw CommandFailure(.unavailable, "cannot load the model\(model.map { " \($0)" } ?? ""): \(error)")
        }
        // Heads: the policy's and --head's. Each must have been fitted on this model.
        activePolicy.heads += heads
        if !activePolicy.heads.isEmpty {
            for folder in activePolicy.heads where !FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("manifest.json")) {
                throw CommandFailure(.noInput, "\(folder): no head here (no manifest.json)")
            }
            let loaded: [Head]
            do {
                loaded = try activePolicy.loadHeads(runtime: runtime)
                classifier = try classifier.adding(heads: loaded)
            } catch {
                throw CommandFailure(.unavailable, "cannot use the head: \(error)")
            }
            for head in loaded where activePolicy.flags[head.flag] == nil {
                warn("note: the policy has no rule for '\(head.flag)'; it is reviewed from the head's fitted threshold, \(String(format: "%.3f", head.suggestedThreshold)) (add the flag to the policy to set your own)")
            }
            activePolicy = activePolicy.covering(loaded)
        }
        do { activePolicy = try activePolicy.overridingReviewThresholds(later) } catch { throw CommandFailure(.usage, "\(error)") }
        // Face detection runs when the policy asks for the `face` flag.
        let faceDetector: FaceDetector?
        do {
            faceDetector = activePolicy.flags[.face]?.enabled == true && !noFaces ? try FaceDetector.loadDefault(runtime: runtime) : nil
        } catch {
            throw CommandFailure(.unavailable, "cannot load the face detector: \(error)")
        }
        // The model and the policy must agree on the flags: a score no rule thresholds, or a
        // built-in flag the policy enables but the model does not produce, would pass images
        // through unreviewed while the run looks normal.
        let scorer: Scorer
        do {
            scorer = try Scorer(classifier: classifier, faceDetector: faceDetector, policy: activePolicy,
                                faceLevels: faceLevels ?? 1)
        } catch let error as ScorerConfigurationError {
            throw CommandFailure(error.kind == .nothingToScore ? .usage : .unavailable,
                                 error.reason + (model.map { " (\($0))" } ?? ""))
        }
        for flag in scorer.unscoredFlags {
            warn("note: the policy's flag '\(flag)' is enabled, but nothing in this run scores it; it will never be suggested")
        }
        let reviewLedger: Ledger?
        do { reviewLedger = try ledger.map { try Ledger(path: $0) } } catch {
            throw CommandFailure(.outputFailed, "\(error)")
        }
        // CSV columns: the model's flags and those metadata can raise.
        let flags = scorer.producedFlags.sorted()
        let sink: RecordSink
        do {
            sink = try RecordSink(path: out, format: format, flags: flags, resume: resume,
                                  policy: (activePolicy.name, activePolicy.version))
        } catch let error as RecordSinkError {
            throw CommandFailure(error.isResumeMismatch ? .usage : .outputFailed, "\(error)")
        } catch let failure as CommandFailure {
            throw failure  // a failed write of the CSV header
        } catch {
            throw CommandFailure(.outputFailed, "cannot open the output: \(error)")
        }
        let shardFilter = shard
        // The total is only worth a counting pass when someone watches the progress line
        // (a manifest on standard input cannot be read twice, so it is not counted).
        var total: Int?
        if isatty(STDERR_FILENO) == 1 && dicomweb == nil {
            var count = 0
            for input in try InputWalker(paths: paths, manifest: manifest == "-" ? nil : manifest, quiet: true)
            where (shardFilter?.contains(input.path) ?? true) && !sink.done.contains(input.path) { count += 1 }
            total = count
        }
        let pipeline = ScorePipeline(scorer: scorer, ledger: reviewLedger, sink: sink,
                                     settings: .init(batchSize: batchSize, jobs: workers, overlap: overlap, shard: shardFilter,
                                                     allModalities: allModalities,
                                                     outputs: Set([out, ledger].compactMap { $0 }.compactMap(FileIdentity.init))))
        let summary: ScoreSummary
        var archiveFailure: DICOMwebError?
        if let dicomweb {
            let client = try archive.client(url: dicomweb, option: "--dicomweb")
            defer { _ = try? blockingAwait { try await client.shutdown() } }
            let done = sink.doneInstances
            let inputs = ArchiveInputs(client: client, query: InstanceQuery(queries.map { ($0.key, $0.value) }), pageSize: pageSize,
                                       window: 2 * archive.maxRequests, capacity: batchSize * max(4, workers)) { instance in
                (shardFilter?.contains(instance.sopInstanceUID) ?? true) && !done.contains(instance.sopInstanceUID)
            }
            summary = try pipeline.run(inputs: inputs, total: nil)
            archiveFailure = inputs.failure
        } else {
            summary = try pipeline.run(inputs: try InputWalker(paths: paths, manifest: manifest), total: total)
        }
        warn(summary.text)
        if let archiveFailure {
            let transient = ExitStatus(archiveFailure) == .archiveUnavailable
            throw CommandFailure(ExitStatus(archiveFailure),
                                 "\(archiveFailure); the run stopped here, and its records are whole"
                                 + (transient ? ": run it again with --resume once the archive answers" : ""))
        }
        if summary.missing > 0 {
            throw CommandFailure(.noInput, "\(summary.missing) input(s) do not exist (records with error kind no-such-file)")
        }
        if summary.unqueued > 0 {
            throw CommandFailure(.fileErrors, "\(summary.unqueued) record(s) call for review but are not in the ledger: see the messages above")
        }
        if failOnError && !summary.errors.isEmpty { throw CommandFailure(.fileErrors, "some files failed (--fail-on-error)") }
    }
}
