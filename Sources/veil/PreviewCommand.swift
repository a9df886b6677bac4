import ArgumentParser
import Foundation
import Veil
import VeilEngine
import VeilDICOM
import VeilImage
import VeilPolicy
import VeilReview

struct PreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Write a reviewer-safe thumbnail: pixelated so that nothing sensitive can be made out.",
        usage: """
        veil preview <input> --out <out> [--level <level>] [--frame <frame>]
             [--max-side <max-side>] [--policy <policy>] [--ledger <ledger>]
             [--reviewer <reviewer>] [--reason <reason>]
        """,
        discussion: """
        The input is scored as `veil score` would (model, face detector, metadata, policy). \
        If nudity, body-region or sensitive-content is pending, the whole thumbnail is \
        pixelated; if only face is, only the faces are; otherwise it is a plain thumbnail.

        Levels: 0 (default) is the most obscured, 1 and 2 progressively less, 3 clear. \
        Any level above 0 is a reveal: it needs --ledger and --reviewer, and the ledger \
        records who saw which level of which image, and when, before the file is written.

        The output is PNG when --out ends in .png, JPEG otherwise.

        Examples:
          veil preview photo.jpg --out queue/photo-preview.jpg
          veil preview photo.jpg --out /tmp/p.jpg --level 1 \\
            --ledger review.sqlite --reviewer dr.lee
        """
    )

    @Argument(help: "The image (JPEG, PNG or DICOM).")
    var input: String

    @Option(help: "Where to write the thumbnail (.png for PNG, anything else JPEG).")
    var out: String

    @Option(help: "0 (most obscured, the default) to \(Preview.clearLevel) (clear).")
    var level = 0

    @Option(help: "For multi-frame DICOM: which frame (1-based).")
    var frame = 1

    @Option(help: "The longest side of the thumbnail, in pixels.")
    var maxSide = 256

    @Option(help: "A policy file; default: Veil's built-in policy.")
    var policy: String?

    @Option(help: "The review ledger that records reveals (needed for --level above 0).")
    var ledger: String?

    @Option(help: "Who asks for the reveal (needed for --level above 0).")
    var reviewer: String?

    @Option(help: "Why the reveal is needed.")
    var reason: String?

    mutating func validate() throws {
        guard (0...Preview.clearLevel).contains(level) else { throw ValidationError("--level must be 0 to \(Preview.clearLevel).") }
        if level > 0 && (ledger == nil || reviewer?.trimmingCharacters(in: .whitespaces).isEmpty != false) {
            throw ValidationError("--level \(level) reveals more of the image: give --ledger and --reviewer so the reveal is recorded.")
        }
        if frame < 1 { throw ValidationError("--frame counts from 1.") }
        if maxSide < 16 || maxSide > 2048 { throw ValidationError("--max-side must be between 16 and 2048.") }
    }

    func run() throws {
        try refuseOverwriting(out, option: "--out", inputs: [input, ledger, policy])
        let effective = try EffectivePolicy.loadOrExit(policy)
        let activePolicy = effective.policy
        let scorer: Scorer
        do {
            scorer = try Scorer(classifier: try Classifier.loadDefault(), faceDetector: try FaceDetector.loadDefault(),
                                policy: activePolicy)
        } catch {
            throw CommandFailure(.unavailable, "cannot load the models: \(error)")
        }
        let data: Data
        let picture: LoadedImage
        do {
            data = try ImageDecoder.readFile(atPath: input)
            // Previews need more pixels than the model does.
            var options = scorer.classifier.reader.options
            options.minimumSize = PixelSize(width: maxSide, height: maxSide)
            let source = try ImageReader(options: options).pictures(in: data)
            guard frame <= source.count else {
                throw CommandFailure(.usage, "\(input) has \(source.count) frame(s), not \(frame)")
            }
            picture = try source.picture(at: frame - 1)
        } catch let error as ImageDecodingError {
            throw CommandFailure(error.kind == .noSuchFile ? .noInput : .fileErrors, "\(error.attributed(to: input))")
        }
        let assessment = try scorer.assess([Scorer.Input(picture: picture, path: input)])[0]
        let suggestions = assessment.suggestions
        let mode = Preview.mode(for: suggestions, faces: assessment.faces)

        if level > 0, let ledger, let reviewer {
            do {
                let image = LedgerImage(sha256: SHA256Hasher.hex(data), path: input, size: picture.fullSize, dicom: picture.dicom)
                // The ledger must exist already: a mistyped path would record the reveal
                // where no auditor looks.
                try Ledger(path: ledger, create: false).recordReveal(image: image, reviewer: reviewer, level: level, reason: reason)
            } catch {
                throw CommandFailure((error as? LedgerError)?.isMissing == true ? .noInput : .outputFailed, "the reveal could not be recorded, so no preview was written: \(error)")
            }
        }
        let preview = Preview.render(picture.image, fullSize: picture.fullSize, mode: mode, level: level, maxSide: maxSide)
        let bytes: [UInt8]
        do { bytes = out.lowercased().hasSuffix(".png") ? try preview.pngData() : try preview.jpegData(quality: 85) } catch {
            throw CommandFailure(.outputFailed, "cannot encode the preview: \(error)")
        }
        try writeWholeFile(Data(bytes), to: out)
        let what: String
        switch mode {
        case .clear: what = "nothing pending, not obscured"
        // The clear level shows every pixel: say so, whatever lower levels would hide.
        case .whole where level == Preview.clearLevel: what = "shown clear; lower levels obscure the whole image"
        case .faces(let faces) where level == Preview.clearLevel: what = "shown clear; lower levels obscure \(faces.count) face(s)"
        case .whole: what = "whole image obscured"
        case .faces(let faces): what = "\(faces.count) face(s) obscured"
        }
        warn("wrote \(out) (\(preview.width)x\(preview.height), level \(level), \(what))")
    }
}
