import Dispatch
import Foundation
import Veil
import VeilEngine
import VeilDICOM
import VeilImage
import VeilPolicy
import VeilReview

/// The batch scoring pipeline.
///
/// Inputs are taken in chunks; each chunk is read, hashed and decoded (DCT-scaled) by `jobs`
/// worker threads, then scored in batches on the main thread with the BLAS threads. Two
/// schedules, neither of which oversubscribes the cores:
/// - alternating (the default): decoding and inference take turns, each with every core;
///   this reaches `1 / (1/decode + 1/forward)`, the ceiling, whatever the ratio of the two;
/// - overlapping (`overlap`): the next chunk decodes while this one is scored, with the cores
///   split between the two (`jobs + BLAS threads = cores`); better when the split can match
///   the work, as on larger machines.
/// Memory holds at most two chunks of small decoded images, whatever the size of the backlog.
struct ScorePipeline {
    struct Settings {
        var batchSize: Int
        var jobs: Int
        var overlap: Bool
        var shard: Shard?
        /// Score DICOM objects that are not visible-light captures too.
        var allModalities = false
        /// The files this run writes (--out, --ledger): an input found in a folder or a
        /// manifest that is one of them gets an error record instead of being read while it
        /// is overwritten.
        var outputs: Set<FileIdentity> = []
    }

    let scorer: Scorer
    var classifier: Classifier { scorer.classifier }
    var policy: Policy { scorer.policy }
    let ledger: Ledger?
    let sink: RecordSink
    let settings: Settings

    /// A decoded input waiting for the model, or its finished error record.
    struct Decoded {
        var record: ScoreRecord
        var picture: LoadedImage?
        /// A frame of a long multi-frame object, decoded only when its batch is scored.
        var deferred: (source: PictureSource, index: Int)? = nil
        /// For an input that is not scored (an error or skip record): what could still be
        /// read of it, so that its metadata can send it to review all the same.
        var salvaged: (dicom: DICOMMetadata?, size: PixelSize?)? = nil
        var image: RGBImage? { picture?.image }
        var isPicture: Bool { picture != nil || deferred != nil }
    }

    /// Objects with more frames than this decode each frame only when its batch is scored,
    /// so memory holds a batch of frames, not the whole object.
    static let eagerFrameLimit = 8

    func run<Inputs: Sequence<InputWalker.Input>>(inputs: Inputs, total: Int?) throws -> ScoreSummary {
        var summary = ScoreSummary(total: total)
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1, total: total)
        // Four batches per chunk: each switch between decoding and scoring leaves a core idle
        // while the chunk's last photo decodes, so switches should be rare; memory still
        // holds only a few dozen small decoded images.
        let chunkSize = settings.batchSize * max(4, settings.jobs)
        var source = inputs.lazy.filter { input in
            (settings.shard?.contains(input.shardKey) ?? true) && !sink.isDone(input)
        }.makeIterator()
        let decodeQueue = DispatchQueue(label: "veil.decode", qos: .userInitiated)

        func nextChunk() -> [InputWalker.Input] {
            var chunk: [InputWalker.Input] = []
            while chunk.count < chunkSize, let input = source.next() { chunk.append(input) }
            return chunk
        }
        // Decode a chunk in the background; `wait()` returns its results in input order.
        let reader = classifier.reader, jobs = settings.jobs, allModalities = settings.allModalities, outputs = settings.outputs
        func startDecoding(_ chunk: [InputWalker.Input]) -> () -> [[Decoded]?] {
            let group = DispatchGroup()
            let results = ResultsBox(count: chunk.count)
            group.enter()
            decodeQueue.async {
                // Each worker claims the next undecoded input, so that photos of uneven
                // cost spread evenly instead of leaving one worker with the slow ones.
                DispatchQueue.concurrentPerform(iterations: jobs) { _ in
                    while let i = results.claim() {
                        results.set(i, Self.decode(chunk[i], with: reader, allModalities: allModalities, outputs: outputs))
                    }
                }
                group.leave()
            }
            return { group.wait(); return results.values }
        }

        var unwritten: [ScoreRecord] = []
        var pendingChunk = nextChunk()
        var waiting = pendingChunk.isEmpty ? nil : startDecoding(pendingChunk)
        while let wait = waiting {
            let decoded = wait()
            summary.skipped += decoded.filter { $0 == nil }.count
            pendingChunk = nextChunk()
            if settings.overlap {
                waiting = pendingChunk.isEmpty ? nil : startDecoding(pendingChunk)
            } else {
                // Alternating: the next chunk starts decoding only after this one is scored.
                let chunk = pendingChunk
                waiting = chunk.isEmpty ? nil : { startDecoding(chunk)() }
            }
            // Score this chunk while the next one decodes. The last picture of each input
            // is marked, so that an input's records are written together.
            let items = decoded.compactMap { $0 }.flatMap { pictures in
                pictures.enumerated().map { i, item in (item, last: i == pictures.count - 1) }
            }
            var start = 0
            while start < items.count {
                // Batches of `batchSize` images; error records ride along in order.
                var end = start, images = 0
                while end < items.count && (images < settings.batchSize || !items[end].0.isPicture) {
                    if items[end].0.isPicture { images += 1 }
                    end += 1
                }
                try scoreAndWrite(items[start..<end], unwritten: &unwritten, summary: &summary)
                start = end
                progress.update(done: summary.inputs, rate: summary.elapsed > 0 ? Double(summary.inputs) / summary.elapsed : 0)
            }
        }
        progress.finish()
        return summary
    }

    /// Reads, hashes and decodes one input: one item per picture (a DICOM object has one
    /// per frame), or one error or skip record. Files found in folders that are not images
    /// Veil reads are dropped (`nil`); anything named always gets a record.
    static func decode(_ input: InputWalker.Input, with reader: ImageReader, allModalities: Bool,
                       outputs: Set<FileIdentity> = []) -> [Decoded]? {
        guard let instance = input.instance else {
            return decodeInput(input, with: reader, allModalities: allModalities, outputs: outputs)
        }
        // An archive's instance: its UIDs are in every record, whatever became of it.
        return decodeInput(input, with: reader, allModalities: allModalities)?.map { item in
            var item = item
            var info = item.record.dicom ?? ScoreRecord.DICOMInfo(DICOMMetadata(), syntax: nil)
            info.studyInstanceUID = info.studyInstanceUID ?? instance.studyInstanceUID
            info.seriesInstanceUID = info.seriesInstanceUID ?? instance.seriesInstanceUID
            info.sopInstanceUID = info.sopInstanceUID ?? instance.sopInstanceUID
            info.sopClassUID = info.sopClassUID ?? instance.sopClassUID
            item.record.dicom = info
            return item
        }
    }

    private static func decodeInput(_ input: InputWalker.Input, with reader: ImageReader, allModalities: Bool,
                                    outputs: Set<FileIdentity> = []) -> [Decoded]? {
        var record = ScoreRecord(path: input.path, status: "ok")
        if !outputs.isEmpty, let identity = FileIdentity(input.path), outputs.contains(identity) {
            // Found while walking (the output inside the folder scored): not an input at all.
            guard input.named else { return nil }
            record.status = "error"
            record.error = .init(kind: "is-an-output", message: "is a file this run writes (--out or --ledger); not read")
            return [Decoded(record: record, picture: nil)]
        }
        if let problem = input.problem {
            record.status = "error"
            record.error = .init(kind: "unreadable-file", message: problem)
            return [Decoded(record: record, picture: nil, salvaged: (nil, nil))]
        }
        if let failure = input.remoteFailure {
            record.status = "error"
            record.error = .init(kind: failure.kind, message: failure.message)
            return [Decoded(record: record, picture: nil, salvaged: (nil, nil))]
        }
        let data: Data
        do { data = try input.data ?? ImageDecoder.readFile(atPath: input.path) } catch {
            // Unreadable, but its name may still call for review.
            let missing = (error as? ImageDecodingError)?.kind == .noSuchFile
            return [failed(record, error, salvaged: missing && input.named ? nil : (nil, nil))]
        }
        // In a folder, only files that are neither an image format Veil recognises (even
        // one it cannot decode, such as HEIC) nor named like an image are passed over:
        // a phone's HEIC photos or a damaged JPEG must show up as errors, not vanish.
        let isDICOM = ImageFormat.sniff(data) == .dicom || DICOMObject.sniff(data)
        if !input.named && !ImageReader.canRead(data) && ImageFormat.sniff(data) == nil && !isNamedLikeAnImage(input.path) {
            return nil
        }
        record.sha256 = SHA256Hasher.hex(data)
        do {
            let source = try reader.pictures(in: data)
            if let dicom = source.dicom, !allModalities, let reason = VisibleLight.exclusionReason(for: dicom) {
                record.status = "skipped"
                record.skipReason = reason
                record.format = "dicom"
                record.dicom = ScoreRecord.DICOMInfo(dicom, syntax: nil)
                return [Decoded(record: record, picture: nil, salvaged: (dicom, dicom.size))]
            }
            if source.count > eagerFrameLimit {
                return (0..<source.count).map { index in
                    Decoded(record: record, picture: nil, deferred: (source, index))
                }
            }
            return (0..<source.count).map { index in
                do {
                    let loaded = try source.picture(at: index)
                    return Decoded(record: Self.describe(record, loaded), picture: loaded)
                } catch {
                    // A frame that cannot be decoded still carries the object's attributes.
                    return Decoded(record: Self.frameError(record, error, index: index, of: source.count), picture: nil,
                                   salvaged: (source.dicom, source.dicom?.size))
                }
            }
        } catch let error as ImageDecodingError where error.kind == .notAnImage {
            // A report or DICOMDIR among the images: like any other non-image file in a
            // folder, unless its attributes call for review.
            let dicom = DICOMObject.salvageMetadata(from: data)
            guard input.named || dicom?.holdsSensitivityAttributes == true else { return nil }
            record.status = "skipped"
            record.format = "dicom"
            record.skipReason = error.reason
            record.dicom = dicom.map { ScoreRecord.DICOMInfo($0, syntax: nil) }
            return [Decoded(record: record, picture: nil, salvaged: (dicom, dicom?.size))]
        } catch {
            // Damaged pixels: the attributes or the header may still be whole.
            let dicom = isDICOM ? DICOMObject.salvageMetadata(from: data) : nil
            let size = isDICOM ? dicom?.size : (try? ImageDecoder().probe(data))?.size
            if isDICOM { record.format = "dicom" }
            record.dicom = dicom.map { ScoreRecord.DICOMInfo($0, syntax: nil) }
            return [failed(record, error, salvaged: (dicom, size))]
        }
    }

    /// The error record of an input that could not be read or decoded.
    static func failed(_ record: ScoreRecord, _ error: Error, salvaged: (dicom: DICOMMetadata?, size: PixelSize?)?) -> Decoded {
        var record = record
        record.status = "error"
        let decoding = error as? ImageDecodingError
        record.error = .init(kind: decoding?.kind.name ?? "unreadable-file", message: decoding?.reason ?? "\(error)")
        return Decoded(record: record, picture: nil, salvaged: salvaged)
    }

    /// File name extensions of images and DICOM objects.
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "jpe", "jfif", "png", "dcm", "dicom", "heic", "heif", "webp",
                                               "tif", "tiff", "bmp", "gif", "jp2", "j2k"]

    static func isNamedLikeAnImage(_ path: String) -> Bool {
        imageExtensions.contains((path as NSString).pathExtension.lowercased())
    }

    /// `record` filled in with what the picture says about itself.
    static func describe(_ record: ScoreRecord, _ loaded: LoadedImage) -> ScoreRecord {
        var described = record
        described.format = loaded.format.rawValue
        described.width = loaded.fullSize.width
        described.height = loaded.fullSize.height
        described.frame = loaded.frame?.number
        described.frames = loaded.frame?.of
        described.dicom = loaded.dicom.map { ScoreRecord.DICOMInfo($0, syntax: loaded.transferSyntax) }
        return described
    }

    /// The error record of one frame that could not be decoded; the object's other frames go on.
    static func frameError(_ record: ScoreRecord, _ error: Error, index: Int, of count: Int) -> ScoreRecord {
        var failed = record
        failed.status = "error"
        failed.format = "dicom"
        failed.frame = index + 1
        failed.frames = count
        let decoding = error as? ImageDecodingError
        failed.error = .init(kind: decoding?.kind.name ?? "corrupt", message: decoding?.reason ?? "\(error)")
        return failed
    }

    /// Six decimals: enough for any threshold, and no float noise in records.
    static func rounded(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }

    /// The policy's verdict on `assessment` (applied by the scorer, to the scores as
    /// computed), written into `record` and recorded in the ledger; the record shows the
    /// scores rounded. Returns false when the record calls for review but cannot be queued
    /// in the ledger.
    @discardableResult
    private func fill(_ assessment: Assessment, into record: inout ScoreRecord, dicom: DICOMMetadata?, size: PixelSize?,
                      summary: inout ScoreSummary) throws -> Bool {
        record.evidence = assessment.evidence.isEmpty ? nil : assessment.evidence
        let suggestions = assessment.suggestions
        record.suggestions = suggestions.map { s in
            var shown = s
            shown.score = Self.rounded(s.score)
            shown.rawScore = s.rawScore.map(Self.rounded)
            return shown
        }
        record.review = assessment.review
        record.policy = .init(name: policy.name, version: policy.version)
        guard let ledger, record.review != ReviewSummary.none else { return true }
        guard let sha = record.sha256, let size, size.width > 0, size.height > 0 else {
            // The ledger identifies an image by its bytes and size; without them the image
            // cannot be queued. Its record is withheld, so that --resume tries it again
            // rather than counting it done, and the run ends with 65.
            warn("\(record.path): calls for review but cannot be queued in the ledger (its size is unknown); its record is withheld")
            summary.unqueued += 1
            return false
        }
        let model = classifier.identity
        do {
            let image = LedgerImage(sha256: sha, path: record.path, size: size, dicom: dicom)
            try ledger.record(image: image, frame: record.frame, suggestions: suggestions, policy: policy,
                              model: model.name, modelVersion: model.version)
        } catch {
            throw CommandFailure(.outputFailed, "\(error)")
        }
        return true
    }

    /// Scores a batch and writes the records of every input whose last picture it holds.
    /// All records of one input go out in one write, so a killed run never leaves an input
    /// half recorded: `--resume` skips whole inputs.
    private func scoreAndWrite(_ items: ArraySlice<(Decoded, last: Bool)>, unwritten: inout [ScoreRecord],
                               summary: inout ScoreSummary) throws {
        // Frames of long multi-frame objects are decoded now; one that fails gets an error
        // record of its own, and the object's other frames go on.
        var items = Array(items)
        for i in items.indices {
            guard let (source, index) = items[i].0.deferred else { continue }
            items[i].0.deferred = nil
            do {
                let loaded = try source.picture(at: index)
                items[i].0.record = Self.describe(items[i].0.record, loaded)
                items[i].0.picture = loaded
            } catch {
                items[i].0.record = Self.frameError(items[i].0.record, error, index: index, of: source.count)
                items[i].0.salvaged = (source.dicom, source.dicom?.size)
            }
        }
        let inputs = items.compactMap { item in item.0.picture.map { Scorer.Input(picture: $0, path: item.0.record.path) } }
        var next = try scorer.assess(inputs).makeIterator()
        for (item, last) in items {
            var record = item.record
            if item.image != nil, let assessment = next.next() {
                record.scores = assessment.scores.mapValues(Self.rounded)
                record.faces = scorer.faceDetector == nil ? nil : assessment.faces.map(ScoreRecord.Face.init)
                record.model = classifier.identity
                try fill(assessment, into: &record, dicom: item.picture?.dicom,
                          size: PixelSize(width: record.width ?? 0, height: record.height ?? 0), summary: &summary)
            } else if let salvaged = item.salvaged {
                // Not scored, but its path or attributes may still call for review: fail closed.
                let assessment = scorer.assessMetadata(path: record.path, dicom: salvaged.dicom)
                if !assessment.evidence.isEmpty,
                   !(try fill(assessment, into: &record, dicom: salvaged.dicom, size: salvaged.size, summary: &summary)) {
                    if last && !unwritten.isEmpty { try sink.write(unwritten); unwritten.removeAll(keepingCapacity: true) }
                    if last { summary.inputs += 1 }
                    continue
                }
            }
            unwritten.append(record)
            summary.add(record)
            guard last else { continue }
            summary.inputs += 1
            try sink.write(unwritten)  // a failed write has said so and ends the run with 73
            unwritten.removeAll(keepingCapacity: true)
        }
    }
}

/// Results written by worker threads at distinct indices.
final class ResultsBox: @unchecked Sendable {
    private var storage: [[ScorePipeline.Decoded]?]
    private var claimed = 0
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    /// The next index no worker has taken, if any.
    func claim() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard claimed < storage.count else { return nil }
        claimed += 1
        return claimed - 1
    }
    func set(_ i: Int, _ value: [ScorePipeline.Decoded]?) { lock.lock(); storage[i] = value; lock.unlock() }
    var values: [[ScorePipeline.Decoded]?] { lock.lock(); defer { lock.unlock() }; return storage }
}

/// Counts for the final summary.
struct ScoreSummary {
    var total: Int?
    /// Inputs finished (a multi-frame DICOM object is one input, several records).
    var inputs = 0
    /// Records written.
    var processed = 0
    var scored = 0
    var pending = 0
    var restricted = 0
    /// Files found in folders whose bytes are not an image Veil reads.
    var skipped = 0
    /// Inputs with a `skipped` record: DICOM objects that are not visible-light captures,
    /// and named objects without pixels.
    var skippedRecords = 0
    /// Named inputs that do not exist.
    var missing = 0
    /// Records that call for review but could not be recorded in the ledger.
    var unqueued = 0
    var errors: [String: Int] = [:]
    let started = DispatchTime.now()

    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9 }
    var rate: Double { elapsed > 0 ? Double(processed) / elapsed : 0 }

    mutating func add(_ record: ScoreRecord) {
        processed += 1
        if record.status == "skipped" { skippedRecords += 1 }
        if let kind = record.error?.kind {
            errors[kind, default: 0] += 1
            if kind == ImageDecodingError.Kind.noSuchFile.name { missing += 1 }
        }
        if record.status == "ok" { scored += 1 }
        // Error and skip records count here too when their metadata calls for review.
        switch record.review {
        case .pending?: pending += 1
        case .restricted?: restricted += 1
        default: break
        }
    }

    var text: String {
        let errorText = errors.isEmpty ? "no errors"
            : errors.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        var text = String(format: "scored %d, pending review %d, restricted %d; errors: %@; ", scored, pending, restricted, errorText)
        if skippedRecords > 0 { text += "skipped \(skippedRecords) (not visible-light or no pixels; see their records); " }
        text += "skipped \(skipped) non-image files; " + String(format: "%.1f s", elapsed)
        // A rate over nothing is noise.
        if processed > 0 { text += String(format: ", %.2f images/s", rate) }
        return text
    }
}

/// `done/total, images/s, ETA` on one self-overwriting line, only when stderr is a terminal.
final class ProgressLine {
    let enabled: Bool
    let total: Int?
    private var last = DispatchTime.now()

    init(enabled: Bool, total: Int?) {
        self.enabled = enabled
        self.total = total
    }

    func update(done: Int, rate: Double) {
        guard enabled, DispatchTime.now().uptimeNanoseconds - last.uptimeNanoseconds > 500_000_000 else { return }
        last = DispatchTime.now()
        var line = "\r\(done)"
        if let total { line += "/\(total)" }
        line += String(format: " files, %.1f files/s", rate)
        if let total, rate > 0 {
            let eta = Int(Double(total - done) / rate)
            line += String(format: ", ETA %d:%02d:%02d", eta / 3600, eta / 60 % 60, eta % 60)
        }
        writeToStandardError(line + "   ")
    }

    func finish() {
        if enabled { writeToStandardError("\n") }
    }
}
