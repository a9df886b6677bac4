import Foundation
import Testing

/// The edges where a safeguard could switch off silently, tried through the real binary:
/// each must be an error with a message and a non-zero exit, or must keep the safeguard on.
@Suite(.serialized)
struct FailClosedTests {
    static func veil(_ arguments: [String]) throws -> ScoreCommandTests.Run { try ScoreCommandTests.veil(arguments) }
    static let repository = ScoreCommandTests.repository

    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-closed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ text: String, _ name: String, in dir: URL) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Runs `veil` with its standard output on `handle` (e.g. /dev/full, or a pipe whose
    /// reader has gone). Returns the exit status and standard error.
    static func veil(_ arguments: [String], stdout handle: FileHandle) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = ScoreCommandTests.veilExecutable
        process.arguments = arguments
        process.currentDirectoryURL = repository
        let err = Pipe()
        process.standardOutput = handle
        process.standardError = err
        try process.run()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stderr, as: UTF8.self))
    }

    // MARK: Policy and options

    /// The policy's sensitivity overrides reach the vocabulary that reads file names: a knee
    /// (SNOMED CT 72696002) is not sensitive by default, and is under a site's override.
    @Test func sensitivityOverridesApplyToFileNames() throws {
        let dir = try Self.folder()
        let photo = dir.appendingPathComponent("left knee wound.jpg")
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Samples/images/coins.jpg"), to: photo)
        let plain = try Self.veil(["score", "--no-faces", photo.path])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.records.first?["evidence"] == nil)
        let policy = try Self.write("policy: {name: knees, version: \"1\"}\nsensitivity_overrides:\n  \"72696002\": intimate\n", "p.yaml", in: dir)
        let run = try Self.veil(["score", "--no-faces", "--policy", policy, photo.path])
        #expect(run.status == 0, "\(run.stderr)")
        let record = try #require(run.records.first)
        let evidence = try #require(record["evidence"] as? [[String: Any]])
        #expect(evidence.first?["snomed"] as? String == "72696002" && evidence.first?["laterality"] as? String == "L")
        #expect(record["review"] as? String == "restricted", "\(record)")
        // The suggestion names what raised it: the vocabulary and its tables, not the model.
        let bodyRegion = (record["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "body-region" }
        let source = try #require(bodyRegion?["source"] as? [String: Any])
        #expect(source["name"] as? String == "vocabulary" && (source["version"] as? String)?.hasPrefix("tables-") == true, "\(source)")
        // An override naming a code the vocabulary lacks is refused, naming the key.
        let bad = try Self.write("policy: {name: x, version: \"1\"}\nsensitivity_overrides:\n  \"999999999\": intimate\n", "bad.yaml", in: dir)
        let refused = try Self.veil(["score", "--policy", bad, photo.path])
        #expect(refused.status == 64 && refused.stderr.contains("sensitivity_overrides.999999999"), "\(refused.stderr)")
    }

    @Test(arguments: [
        // A misspelt flag: an error that suggests the right name, not a new flag nothing scores.
        ("flags:\n  nudtiy: {review_threshold: 0.3}\n", "did you mean 'nudity'"),
        // Every flag switched off: nothing would ever be reviewed.
        ("flags:\n  nudity: {enabled: false}\n  face: {enabled: false}\n  body-region: {enabled: false}\n  sensitive-content: {enabled: false}\n",
         "no flag is enabled"),
        // A site flag declared without rules would be silently off.
        ("site_flags: [wound]\n", "'wound' is declared but has no rules"),
        // Restriction below review, through an inherited default: named as the default.
        ("flags:\n  nudity: {review_threshold: 0.9}\n", "Veil's default"),
    ] as [(String, String)])
    func policyMistakesAreRefused(body: String, message: String) throws {
        let dir = try Self.folder()
        let policy = try Self.write("policy: {name: x, version: \"1\"}\n" + body, "p.yaml", in: dir)
        let score = try Self.veil(["score", "--policy", policy, "Samples/images/coins.jpg"])
        #expect(score.status == 64 && score.stderr.contains(message), "\(score.stderr)")
        #expect(score.stdout.isEmpty)
        let check = try Self.veil(["policy", "check", policy])
        #expect(check.status == 65 && check.stderr.contains(message), "\(check.stderr)")
    }

    @Test func aDeclaredSiteFlagIsAccepted() throws {
        let dir = try Self.folder()
        let policy = try Self.write("policy: {name: x, version: \"1\"}\nsite_flags: [wound]\nflags:\n  wound: {review_threshold: 0.5}\n", "p.yaml", in: dir)
        let check = try Self.veil(["policy", "check", policy])
        #expect(check.status == 0 && check.stdout.contains("wound"), "\(check.stderr)")
    }

    @Test func thresholdOverridesAreChecked() throws {
        let unknown = try Self.veil(["score", "--threshold", "nudtiy=0.3", "Samples/images/coins.jpg"])
        #expect(unknown.status == 64 && unknown.stderr.contains("unknown flag 'nudtiy'"), "\(unknown.stderr)")
        #expect(unknown.stdout.isEmpty)
        let aboveRestrict = try Self.veil(["score", "--threshold", "nudity=0.9", "Samples/images/coins.jpg"])
        #expect(aboveRestrict.status == 64 && aboveRestrict.stderr.contains("below the review threshold"), "\(aboveRestrict.stderr)")
        let fine = try Self.veil(["score", "--no-faces", "--threshold", "nudity=0.5", "Samples/images/coins.jpg"])
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect((fine.records.first?["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "nudity" }?["threshold"] as? Double == 0.5)
    }

    @Test func aDetectorIsNotAClassifier() throws {
        let run = try Self.veil(["score", "--model", "Models/blazeface_short_range/manifest.json", "Samples/images/coins.jpg"])
        #expect(run.status == 69)
        #expect(run.stderr.contains("blazeface_short_range") && run.stderr.contains("not an image classifier"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func conflictingOptionsAreUsageErrors() throws {
        let faces = try Self.veil(["score", "--no-faces", "--face-levels", "3", "Samples/images/coins.jpg"])
        #expect(faces.status == 64 && faces.stderr.contains("--no-faces and --face-levels"), "\(faces.stderr)")
        let jobs = try Self.veil(["score", "--threads", "2", "--jobs", "3", "Samples/images/coins.jpg"])
        #expect(jobs.status == 64 && jobs.stderr.contains("--jobs 3"), "\(jobs.stderr)")
    }

    /// `policy show` prints a policy file that means what it shows: checked again, and
    /// scored with, it behaves as the original.
    @Test func policyShowRoundTripsAndTheSampleIsValid() throws {
        let dir = try Self.folder()
        let sample = try Self.veil(["policy", "check", "Samples/policy.yaml"])
        #expect(sample.status == 0, "\(sample.stderr)")
        let shown = try Self.veil(["policy", "show", "Samples/policy.yaml"])
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("near_miss_review_threshold: 0.6") && shown.stdout.contains("site_flags: [\"wound\"]"))
        let copy = try Self.write(shown.stdout, "shown.yaml", in: dir)
        let again = try Self.veil(["policy", "show", copy])
        #expect(again.stdout.split(separator: "\n").dropFirst() == shown.stdout.split(separator: "\n").dropFirst())
        let builtIn = try Self.veil(["policy", "show"])
        for flag in ["body-region:", "face:", "nudity:", "sensitive-content:"] { #expect(builtIn.stdout.contains("  \(flag)")) }
        #expect(try Self.veil(["policy", "check", dir.appendingPathComponent("missing.yaml").path]).status == 66)
        #expect(try Self.veil(["policy", "check", dir.path]).status == 65)
    }

    // MARK: Inputs users really have

    /// CRLF files, as Excel and Python's csv module write them, read as LF files do.
    @Test func crlfFilesReadLikeLFFiles() throws {
        let dir = try Self.folder()
        let (scores, truth, _) = try TuneCommandTests.inputs()
        let truthText = try String(contentsOfFile: truth, encoding: .utf8)
        let crlfTruth = try Self.write("\u{FEFF}" + truthText.replacingOccurrences(of: "\n", with: "\r\n"), "truth-crlf.csv", in: dir)
        let lf = try Self.veil(["tune", scores, "--truth", truth])
        let crlf = try Self.veil(["tune", scores, "--truth", crlfTruth])
        #expect(lf.status == 0 && crlf.status == 0, "\(crlf.stderr)")
        #expect(!lf.stdout.isEmpty && crlf.stdout == lf.stdout)

        let names = "L BREAST\nknee\nperi anal\n"
        let lfNames = try Self.write(names, "names.txt", in: dir)
        let crlfNames = try Self.write(names.replacingOccurrences(of: "\n", with: "\r\n"), "names-crlf.txt", in: dir)
        let a = try Self.veil(["vocab", "normalize", "--file", lfNames]), b = try Self.veil(["vocab", "normalize", "--file", crlfNames])
        #expect(a.status == 0 && a.stdout == b.stdout && a.stdout.split(separator: "\n").count >= 3)

        let manifest = try Self.write("# photos to score\r\nSamples/images/coins.jpg\r\n\r\n# done\r\n", "manifest.txt", in: dir)
        let run = try Self.veil(["score", "--no-faces", "--manifest", manifest])
        #expect(run.status == 0 && run.records.map { $0["path"] as? String } == ["Samples/images/coins.jpg"], "\(run.stdout)")

        let policy = try Self.write("policy:\r\n  name: x\r\n  version: \"1\"\r\nflags:\r\n  nudity:\r\n    review_threshold: 0.3\r\n", "p.yaml", in: dir)
        let checked = try Self.veil(["policy", "show", policy])
        #expect(checked.status == 0 && checked.stdout.contains("review_threshold: 0.3"), "\(checked.stderr)")
    }

    @Test func missingFoldersAndEmptyInputsAreSaidPlainly() throws {
        let dir = try Self.folder()
        let manifest = try Self.write(dir.path + "\n", "manifest.txt", in: dir)
        let listed = try Self.veil(["score", "--no-faces", "--manifest", manifest])
        let record = try #require(listed.records.first)
        #expect((record["error"] as? [String: Any])?["kind"] as? String == "is-a-folder", "\(record)")
        #expect(((record["error"] as? [String: Any])?["message"] as? String)?.contains("NSCocoaErrorDomain") == false)

        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let nothing = try Self.veil(["score", empty.path])
        #expect(nothing.status == 0)
        #expect(nothing.stderr.contains("holds no files") && !nothing.stderr.contains("images/s"), "\(nothing.stderr)")

        #expect(try Self.veil(["score", "--policy", dir.appendingPathComponent("nope.yaml").path, "Samples/images/coins.jpg"]).status == 66)
        #expect(try Self.veil(["score", "--manifest", dir.appendingPathComponent("nope.txt").path]).status == 66)
        let missing = try Self.veil(["score", dir.appendingPathComponent("nope.jpg").path])
        #expect(missing.status == 66 && missing.stderr.contains("do not exist"), "\(missing.stderr)")
        #expect((missing.records.first?["error"] as? [String: Any])?["kind"] as? String == "no-such-file")
    }

    /// DICOM: only visible-light captures are scored; the rest are skipped with a reason.
    @Test func onlyVisibleLightDICOMIsScored() throws {
        let fixtures = DICOMScoreTests.fixtures
        let us = fixtures.appendingPathComponent("modality-us.dcm").path
        let sr = fixtures.appendingPathComponent("structured-report.dcm").path
        let mixed = fixtures.appendingPathComponent("implicit-under-explicit.dcm").path
        let run = try Self.veil(["score", "--no-faces", us, sr, mixed])
        #expect(run.status == 0, "\(run.stderr)")
        let records = run.records
        try #require(records.count == 3, "\(run.stdout)")
        #expect(records[0]["status"] as? String == "skipped" && records[0]["skipReason"] as? String == "modality US is not a visible-light capture")
        #expect(records[0]["scores"] == nil)
        #expect(records[1]["status"] as? String == "skipped" && (records[1]["skipReason"] as? String)?.contains("no Pixel Data") == true)
        #expect(records[2]["status"] as? String == "ok" && records[2]["scores"] != nil, "\(records[2])")
        let opted = try Self.veil(["score", "--no-faces", "--all-modalities", us])
        #expect(opted.records.first?["status"] as? String == "ok")
        // In a folder, an object without pixels is a non-image file like any other.
        let dir = try Self.folder()
        try FileManager.default.copyItem(atPath: sr, toPath: dir.appendingPathComponent("report.dcm").path)
        let walked = try Self.veil(["score", dir.path])
        #expect(walked.records.isEmpty && walked.stderr.contains("skipped 1 non-image files"), "\(walked.stderr)")
    }

    // MARK: Output and state

    /// Every subcommand that writes to standard output exits 73, saying so, when the write fails.
    @Test(arguments: [
        ["score", "--no-faces", "Samples/images/coins.jpg"],
        ["vocab", "list"],
        ["vocab", "normalize", "L BREAST"],
        ["policy", "show"],
        ["review", "export", "--ledger", "LEDGER"],
        ["review", "audit", "--ledger", "LEDGER"],
    ])
    func failedWritesExit73(arguments: [String]) throws {
        let ledger = try Self.folder().appendingPathComponent("l.sqlite").path
        _ = try Self.veil(["score", "--no-faces", "--threshold", "nudity=0.000001", "--ledger", ledger, "Samples/images/coins.jpg"])
        let confirmed = try Self.veil(["review", "confirm", "1", "--ledger", ledger, "--reviewer", "dr.a"])
        #expect(confirmed.status == 0, "\(confirmed.stderr)")
        let args = arguments.map { $0 == "LEDGER" ? ledger : $0 }
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let onFull = try Self.veil(args, stdout: full)
        #expect(onFull.status == 73 && onFull.stderr.contains("No space left on device"), "\(args): \(onFull.status) \(onFull.stderr)")
        // A pipe whose reader is gone: EPIPE, not a silent death by SIGPIPE.
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let onClosed = try Self.veil(args, stdout: pipe.fileHandleForWriting)
        #expect(onClosed.status == 73 && onClosed.stderr.contains("Broken pipe"), "\(args): \(onClosed.status) \(onClosed.stderr)")
        if args.first == "score" {
            // --out onto a full device, through a link: were the device ever replaced by a
            // file (as an atomic write would), only the link in the temporary folder goes.
            let link = try Self.folder().appendingPathComponent("scores.jsonl").path
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/dev/full")
            let toFile = try Self.veil(args + ["--out", link], stdout: .nullDevice)
            #expect(toFile.status == 73 && toFile.stderr.contains("No space left on device"), "\(toFile.stderr)")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "/dev/full")
        }
    }

    @Test func resumeRefusesWhatItDoesNotUnderstand() throws {
        let dir = try Self.folder()
        let out = dir.appendingPathComponent("scores.jsonl").path
        let first = try Self.veil(["score", "--no-faces", "--out", out, "Samples/images/coins.jpg"])
        #expect(first.status == 0)
        // CSV onto JSON lines, and JSON lines onto CSV.
        let asCSV = try Self.veil(["score", "--no-faces", "--resume", "--format", "csv", "--out", out, "Samples/images/chelsea.jpg"])
        #expect(asCSV.status == 64 && asCSV.stderr.contains("JSON lines, not CSV"), "\(asCSV.stderr)")
        let csv = dir.appendingPathComponent("scores.csv").path
        _ = try Self.veil(["score", "--no-faces", "--format", "csv", "--out", csv, "Samples/images/coins.jpg"])
        let asJSON = try Self.veil(["score", "--no-faces", "--resume", "--out", csv, "Samples/images/chelsea.jpg"])
        #expect(asJSON.status == 64 && asJSON.stderr.contains("CSV, not JSON lines"), "\(asJSON.stderr)")
        // A foreign line in the middle is named; the file is left as it was.
        let before = try String(contentsOfFile: out, encoding: .utf8)
        try (before + "hello world\n" + before).write(toFile: out, atomically: true, encoding: .utf8)
        let foreign = try Self.veil(["score", "--no-faces", "--resume", "--out", out, "Samples/images/chelsea.jpg"])
        #expect(foreign.status == 64 && foreign.stderr.contains("line 2"), "\(foreign.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == before + "hello world\n" + before)
        // A torn last line alone is cut, and the run goes on.
        try (before + "{\"schema\":3,\"pa").write(toFile: out, atomically: true, encoding: .utf8)
        let torn = try Self.veil(["score", "--no-faces", "--resume", "--out", out, "Samples/images/coins.jpg", "Samples/images/chelsea.jpg"])
        #expect(torn.status == 0, "\(torn.stderr)")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2 && lines[1].contains("chelsea.jpg"))
    }

    /// Re-scoring does not queue a question twice; a decided image is asked again only under
    /// a new policy version, and then the suggestion names the decision it may supersede.
    @Test func theLedgerAsksEachQuestionOnce() throws {
        let dir = try Self.folder()
        let ledger = dir.appendingPathComponent("l.sqlite").path
        func score(_ policyVersion: String) throws {
            let policy = try Self.write("policy: {name: site, version: \"\(policyVersion)\"}\nflags:\n  nudity: {review_threshold: 0.000001}\n", "p.yaml", in: dir)
            let run = try Self.veil(["score", "--policy", policy, "--ledger", ledger, "Samples/images/coins.jpg", "Samples/images/astronaut.jpg"])
            #expect(run.status == 0, "\(run.stderr)")
        }
        func list() throws -> [[String: Any]] {
            try Self.veil(["review", "list", "--json", "--ledger", ledger]).stdout.split(separator: "\n").compactMap {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        try score("1")
        let first = try list()
        try score("1")
        #expect(try list().count == first.count)
        // The face suggestion comes from the face detector, not the nudity model.
        let face = try #require(first.first { $0["flag"] as? String == "face" })
        #expect(face["model"] as? String == "blazeface_full_range", "\(face)")
        #expect(first.first { $0["flag"] as? String == "nudity" }?["model"] as? String == "open_nsfw")
        let nudity = try #require(first.first { $0["flag"] as? String == "nudity" && ($0["path"] as? String)?.contains("coins") == true })
        let id = try #require(nudity["suggestionID"] as? Int)
        let decided = try Self.veil(["review", "reject", "\(id)", "--ledger", ledger, "--reviewer", "dr.a"])
        #expect(decided.status == 0 && !decided.stdout.contains("supersedes"))
        try score("1")
        #expect(try list().count == first.count)
        try score("2")
        let after = try list()
        let again = after.filter { $0["flag"] as? String == "nudity" && ($0["path"] as? String)?.contains("coins") == true }
        #expect(again.count == 2)
        let newID = try #require(again.last?["suggestionID"] as? Int)
        #expect(again.last?["supersedesDecision"] as? Int == 1)
        let confirm = try Self.veil(["review", "confirm", "\(newID)", "--ledger", ledger, "--reviewer", "dr.b"])
        #expect(confirm.stdout.contains("supersedes the decision on suggestion \(id)") && confirm.stdout.contains("rejected by dr.a"), "\(confirm.stdout)")
        let twice = try Self.veil(["review", "reject", "\(newID)", "--ledger", ledger, "--reviewer", "dr.c"])
        #expect(twice.stdout.contains("supersedes the earlier decision on this suggestion"), "\(twice.stdout)")
    }

    @Test func readOnlyCommandsNeverCreateALedger() throws {
        let missing = try Self.folder().appendingPathComponent("typo.sqlite").path
        for args in [["review", "list"], ["review", "export"], ["review", "audit"], ["review", "confirm", "1", "--reviewer", "a"]] {
            let run = try Self.veil(args + ["--ledger", missing])
            #expect(run.status == 66 && run.stderr.contains("no such review ledger"), "\(args): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: missing))
        }
        let (scores, _, _) = try TuneCommandTests.inputs()
        #expect(try Self.veil(["tune", scores, "--ledger", missing]).status == 66)
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    /// A recommended threshold is never rounded up past a positive, and a flag with one
    /// class only is reported and skipped while the others are tuned.
    @Test func tuneNeverRoundsUpAndSkipsOneClassFlags() throws {
        let dir = try Self.folder()
        var scores = "", truth = "path,nudity,face\n"
        let values = [0.146, 0.9, 0.8, 0.05, 0.02, 0.3]
        for (i, v) in values.enumerated() {
            scores += "{\"path\":\"i\(i).jpg\",\"status\":\"ok\",\"scores\":{\"nudity\":\(v),\"face\":0.5}}\n"
            truth += "i\(i).jpg,\(i < 3 ? 1 : 0),1\n"
        }
        let s = try Self.write(scores, "s.jsonl", in: dir), t = try Self.write(truth, "t.csv", in: dir)
        let run = try Self.veil(["tune", s, "--truth", t, "--target-recall", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("flag 'face' skipped"), "\(run.stderr)")
        let printed = try #require(run.stdout.firstRange(of: #/threshold of ([0-9.]+)/#).map { Double(run.stdout[$0].split(separator: " ").last!)! })
        #expect(printed <= 0.146, "\(run.stdout)")
        let calibrated = try Self.veil(["tune", s, "--truth", t, "--target-recall", "1", "--flag", "nudity", "--fit-calibration", "platt"])
        #expect(calibrated.stdout.contains("raw model score") && calibrated.stdout.contains("calibrated probabilities"), "\(calibrated.stdout)")
    }

    @Test func clearPreviewIsNotCalledObscured() throws {
        let dir = try Self.folder()
        let ledger = dir.appendingPathComponent("l.sqlite").path
        _ = try Self.veil(["score", "--no-faces", "--ledger", ledger, "Samples/images/coins.jpg"])
        let run = try Self.veil(["preview", "Samples/images/astronaut.jpg", "--out", dir.appendingPathComponent("p.png").path,
                                 "--level", "3", "--ledger", ledger, "--reviewer", "dr.a"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("shown clear") && !run.stderr.contains(" obscured)"), "\(run.stderr)")
    }

    // MARK: Found from outside (an attacker's pass over the binary)

    /// No output may be one of the inputs: it would be destroyed while the run exits 0.
    @Test func outputsNeverOverwriteInputs() throws {
        let dir = try Self.folder()
        let photo = dir.appendingPathComponent("x.jpg").path
        try FileManager.default.copyItem(atPath: "Samples/images/coins.jpg", toPath: photo)
        let before = try Data(contentsOf: URL(fileURLWithPath: photo))
        let manifest = try Self.write(photo + "\n", "m.txt", in: dir)
        let policy = try Self.write("policy: {name: x, version: \"1\"}\n", "p.yaml", in: dir)
        for args in [["score", photo, "--out", photo], ["score", "--manifest", manifest, "--out", manifest],
                     ["score", photo, "--policy", policy, "--out", policy], ["preview", photo, "--out", photo]] {
            let run = try Self.veil(args)
            #expect(run.status == 64 && (run.stderr.contains("would be overwritten") || run.stderr.contains("not a veil score file")),
                    "\(args): \(run.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: photo)) == before)
        let (scores, truth, _) = try TuneCommandTests.inputs()
        let tune = try Self.veil(["tune", scores, "--truth", truth, "--report", truth])
        let truthText = try String(contentsOfFile: truth, encoding: .utf8)
        #expect(tune.status == 64 && truthText.hasPrefix("path,"), "\(tune.stderr)")
    }

    /// Whole-file outputs (previews, reports) follow a link to its file and refuse what is
    /// not a regular file, rather than replacing a device or a pipe.
    @Test func wholeFileOutputsRefuseDevicesAndFollowLinks() throws {
        let dir = try Self.folder()
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let onFifo = try Self.veil(["preview", "Samples/images/coins.jpg", "--out", fifo])
        #expect(onFifo.status == 73 && onFifo.stderr.contains("not a regular file"), "\(onFifo.stderr)")
        let target = dir.appendingPathComponent("target.png").path, link = dir.appendingPathComponent("link.png").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let viaLink = try Self.veil(["preview", "Samples/images/coins.jpg", "--out", link])
        #expect(viaLink.status == 0, "\(viaLink.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: target))).starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    /// An object whose pixels cannot be scored (damaged, no pixels, not visible light) still
    /// goes to review when its attributes or its name say it is sensitive.
    @Test func metadataSendsUnscorableObjectsToReview() throws {
        let dir = try Self.folder()
        let ledger = dir.appendingPathComponent("l.sqlite").path
        let fixtures = DICOMScoreTests.fixtures
        let objects = ["evidence-truncated", "evidence-no-pixels", "evidence-ct"].map { fixtures.appendingPathComponent($0 + ".dcm").path }
        let breast = dir.appendingPathComponent("L breast wound.jpg").path
        try Data(try Data(contentsOf: URL(fileURLWithPath: "Samples/images/coins.jpg")).prefix(4000)).write(to: URL(fileURLWithPath: breast))
        let run = try Self.veil(["score", "--no-faces", "--ledger", ledger] + objects + [breast])
        #expect(run.status == 0, "\(run.stderr)")
        let records = run.records
        #expect(records.map { $0["status"] as? String } == ["error", "skipped", "skipped", "error"])
        for record in records {
            #expect(record["review"] as? String == "restricted", "\(record)")
        }
        let evidence = (records[0]["evidence"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
        #expect(evidence.contains("SensitiveContentCodeSequence (0008,001D)"))
        let queued = try Self.veil(["review", "list", "--json", "--ledger", ledger]).stdout.split(separator: "\n")
        #expect(Set(queued.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["path"] as? String })
                == Set(objects + [breast]))
        // In a folder, a pixel-less object with such attributes is not passed over either.
        let walk = dir.appendingPathComponent("walk")
        try FileManager.default.createDirectory(at: walk, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: objects[1], toPath: walk.appendingPathComponent("a.dcm").path)
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("structured-report.dcm").path,
                                         toPath: walk.appendingPathComponent("b.dcm").path)
        let walked = try Self.veil(["score", walk.path])
        #expect(walked.records.count == 1 && walked.records.first?["review"] as? String == "restricted", "\(walked.stdout)")
    }

    /// A model whose outputs the policy does not know, or that lacks a flag the policy
    /// enables, is refused: its scores would pass unthresholded.
    @Test func modelAndPolicyMustAgreeOnFlags() throws {
        let dir = try Self.folder()
        let original = Self.repository.appendingPathComponent("Models/open_nsfw")
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: original.appendingPathComponent("manifest.json"))) as? [String: Any])
        var outputs = try #require(manifest["outputs"] as? [[String: Any]])
        outputs[0]["name"] = "nudtiy"
        manifest["outputs"] = outputs
        try JSONSerialization.data(withJSONObject: manifest).write(to: dir.appendingPathComponent("manifest.json"))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("weights.safetensors").path,
                                                   withDestinationPath: original.appendingPathComponent("weights.safetensors").path)
        let run = try Self.veil(["score", "--no-faces", "--model", dir.appendingPathComponent("manifest.json").path, "Samples/images/coins.jpg"])
        #expect(run.status == 69 && run.stderr.contains("'nudtiy'"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        // Only a site flag enabled, which nothing in the run produces: refused.
        let policy = try Self.write("""
            policy: {name: x, version: "1"}
            site_flags: [wound]
            flags:
              wound: {review_threshold: 0.5}
              nudity: {enabled: false}
              face: {enabled: false}
              body-region: {enabled: false}
              sensitive-content: {enabled: false}
            """, "p.yaml", in: dir)
        let nothing = try Self.veil(["score", "--policy", policy, "Samples/images/coins.jpg"])
        #expect(nothing.status == 64 && nothing.stderr.contains("no flag the policy enables"), "\(nothing.stderr)")
    }

    @Test(arguments: [
        ("flags:\n  nudity: {calibration: {platt: {a: 10, b: -5}}}\n", "a must be negative"),
        ("flags:\n  nudity: {calibration: {isotonic: [[0, 0], [1, 0]]}}\n", "must rise"),
        ("flags:\n  nudity: {calibration: {platt: {a: -1, b: 0}, isotonic: [[0, 0], [1, 1]]}}\n", "not both"),
        ("site_flags: [Nudity]\nflags:\n  Nudity: {review_threshold: 0.5}\n", "built-in flag"),
        ("site_flags: [nud\u{456}ty]\nflags:\n  nud\u{456}ty: {review_threshold: 0.5}\n", "lower-case letters a-z"),
    ] as [(String, String)])
    func calibrationsAndSiteFlagsThatHideAFlagAreRefused(body: String, message: String) throws {
        let policy = try Self.write("policy: {name: x, version: \"1\"}\n" + body, "p.yaml", in: try Self.folder())
        let check = try Self.veil(["policy", "check", policy])
        #expect(check.status == 65 && check.stderr.contains(message), "\(check.stderr)")
    }

    @Test func foldersAreWalkedOnceAndUnreadableImagesAreNamed() throws {
        let dir = try Self.folder()
        try FileManager.default.copyItem(atPath: "Samples/images/coins.jpg", toPath: dir.appendingPathComponent("coins.jpg").path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("again").path, withDestinationPath: dir.path)
        // A phone's HEIC photo (an ftyp box naming heic) and an empty .jpg: errors, not silence.
        try Data([0, 0, 0, 24] + Array("ftypheic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8)).write(to: dir.appendingPathComponent("phone.heic"))
        try Data().write(to: dir.appendingPathComponent("empty.jpg"))
        try Data("notes".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        let run = try Self.veil(["score", "--no-faces", dir.path])
        #expect(run.stderr.contains("already walked"), "\(run.stderr)")
        let byName = Dictionary(run.records.map { (URL(fileURLWithPath: $0["path"] as! String).lastPathComponent, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(run.records.count == 3 && Set(byName.keys) == ["coins.jpg", "empty.jpg", "phone.heic"], "\(run.stdout)")
        #expect((byName["phone.heic"]?["error"] as? [String: Any])?["kind"] as? String == "unsupported-format")
        #expect((byName["empty.jpg"]?["error"] as? [String: Any])?["kind"] as? String == "empty-file")
        // A manifest that is a folder, or NUL-separated: refused, not misread.
        #expect(try Self.veil(["score", "--manifest", dir.path]).status == 64)
        let nul = try Self.write("Samples/images/coins.jpg\u{0}Samples/images/chelsea.jpg\n", "nul.txt", in: dir)
        let nulRun = try Self.veil(["score", "--no-faces", "--manifest", nul])
        #expect(nulRun.status == 64 && nulRun.stderr.contains("NUL"), "\(nulRun.stderr)")
    }

    @Test func thresholdsAndResumesKeepThePolicyHonest() throws {
        #expect(try Self.veil(["score", "--threshold", "nudity=0.1", "--threshold", "nudity=0.2", "Samples/images/coins.jpg"]).status == 64)
        let dir = try Self.folder()
        let off = try Self.write("policy: {name: x, version: \"1\"}\nflags:\n  nudity: {enabled: false}\n", "off.yaml", in: dir)
        let disabled = try Self.veil(["score", "--policy", off, "--threshold", "nudity=0.1", "Samples/images/coins.jpg"])
        #expect(disabled.status == 64 && disabled.stderr.contains("switches this flag off"), "\(disabled.stderr)")
        // One-run thresholds show in the policy version, and a resume under another policy is refused.
        let out = dir.appendingPathComponent("s.jsonl").path
        let first = try Self.veil(["score", "--no-faces", "--threshold", "nudity=0.3", "--out", out, "Samples/images/coins.jpg"])
        #expect(first.status == 0)
        let version = (first.records.first?["policy"] as? [String: Any])?["version"] as? String
        let written = try String(contentsOfFile: out, encoding: .utf8)
        #expect(written.contains("\"version\":\"1 with --threshold nudity=0.3\""), "\(String(describing: version)) \(written)")
        let resumed = try Self.veil(["score", "--no-faces", "--resume", "--out", out, "Samples/images/chelsea.jpg"])
        #expect(resumed.status == 64 && resumed.stderr.contains("recorded under the policy"), "\(resumed.stderr)")
    }

    @Test func reviewCommandsRefuseWhatWouldLookLikeAnEmptyQueue() throws {
        let dir = try Self.folder()
        let ledger = dir.appendingPathComponent("l.sqlite").path
        let photo = dir.appendingPathComponent("a\nb.jpg").path
        try FileManager.default.copyItem(atPath: "Samples/images/coins.jpg", toPath: photo)
        _ = try Self.veil(["score", "--no-faces", "--threshold", "nudity=0.000001", "--ledger", ledger, photo])
        let typo = try Self.veil(["review", "list", "--ledger", ledger, "--flag", "nudtiy"])
        #expect(typo.status == 64 && typo.stderr.contains("'nudtiy'"), "\(typo.stderr)")
        // A path holding a line break cannot forge a row of the table.
        let list = try Self.veil(["review", "list", "--ledger", ledger])
        #expect(list.stdout.split(separator: "\n").count == 2 && list.stdout.contains("a\\nb.jpg"), "\(list.stdout)")
        let forged = try Self.veil(["review", "confirm", "1", "--ledger", ledger, "--reviewer", "dr\nfake"])
        #expect(forged.status == 64 && forged.stderr.contains("control characters"), "\(forged.stderr)")
        // An empty file is not turned into a ledger by a command that only reads.
        let empty = try Self.write("", "empty.sqlite", in: dir)
        #expect(try Self.veil(["review", "list", "--ledger", empty]).status == 64)
        #expect(try FileManager.default.attributesOfItem(atPath: empty)[.size] as? Int == 0)
    }

    @Test func smallerTyposAreNamedToo() throws {
        let dir = try Self.folder()
        let (scores, _, _) = try TuneCommandTests.inputs()
        let truth = try Self.write("path, nudtiy\nimg0.jpg,1\nimg1.jpg,0\n", "t.csv", in: dir)
        let tune = try Self.veil(["tune", scores, "--truth", truth])
        #expect(tune.status == 64 && tune.stderr.contains("'nudtiy' is not a flag of the score records"), "\(tune.stderr)")
        #expect(try Self.veil(["vocab", "normalize", "--file", dir.appendingPathComponent("none.txt").path]).status == 66)
        let blank = try Self.write("policy: {name: x, version: \" \"}\n", "p.yaml", in: dir)
        let check = try Self.veil(["policy", "check", blank])
        #expect(check.status == 65 && check.stderr.contains("policy.version"), "\(check.stderr)")
    }

    // MARK: Found by a second outside pass

    /// An output found among the inputs (in a folder walked or a manifest) is never read
    /// while it is overwritten, and an existing file that is not a score file is refused.
    @Test func outputsAmongWalkedInputsAreProtected() throws {
        let dir = try Self.folder()
        let photo = dir.appendingPathComponent("a.jpg").path
        try FileManager.default.copyItem(atPath: "Samples/images/coins.jpg", toPath: photo)
        let before = try Data(contentsOf: URL(fileURLWithPath: photo))
        let walked = try Self.veil(["score", "--no-faces", dir.path, "--out", photo])
        #expect(walked.status == 64 && walked.stderr.contains("not a veil score file"), "\(walked.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: photo)) == before)
        // --out and --ledger on one new file, and --out onto an existing ledger.
        let both = dir.appendingPathComponent("y.jsonl").path
        let same = try Self.veil(["score", "--no-faces", photo, "--out", both, "--ledger", both])
        #expect(same.status == 64 && !FileManager.default.fileExists(atPath: both), "\(same.stderr)")
        let ledger = dir.appendingPathComponent("l.sqlite").path
        _ = try Self.veil(["score", "--no-faces", "--ledger", ledger, photo])
        let onLedger = try Self.veil(["score", "--no-faces", photo, "--out", ledger])
        #expect(onLedger.status == 64 && onLedger.stderr.contains("not a veil score file"), "\(onLedger.stderr)")
        let preview = try Self.veil(["preview", photo, "--out", ledger])
        #expect(preview.status == 64 && preview.stderr.contains("SQLite"), "\(preview.stderr)")
        // This run's own output, named as an input, gets an error record and is not read;
        // found in the folder being walked, it is no input at all.
        let out = dir.appendingPathComponent("scores.jpg").path
        try Data("{}".utf8).write(to: URL(fileURLWithPath: out))
        let own = try Self.veil(["score", "--no-faces", dir.path, "--out", out])
        let records = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(own.status == 0 && !records.contains { $0.contains("scores.jpg") }, "\(own.stderr) \(records)")
    }

    /// Damage outside Pixel Data, a label stored as UN, and a frame that fails: the archive's
    /// own label still sends the object to review.
    @Test func archiveLabelsSurviveDamage() throws {
        let fixtures = DICOMScoreTests.fixtures
        let objects = ["evidence-cut-in-label", "evidence-rows-wrong", "evidence-un-label"].map { fixtures.appendingPathComponent($0 + ".dcm").path }
        let run = try Self.veil(["score", "--no-faces"] + objects)
        #expect(run.records.count == 3, "\(run.stdout)")
        for record in run.records {
            let fields = (record["evidence"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
            #expect(fields.contains("SensitiveContentCodeSequence (0008,001D)") && record["review"] as? String == "restricted", "\(record)")
        }
    }

    /// A record that calls for review but cannot be queued (no size) is withheld, so that
    /// --resume tries it again instead of counting it done; the run exits 65 each time.
    @Test func unqueueableRecordsAreRetriedOnResume() throws {
        let dir = try Self.folder()
        let heic = dir.appendingPathComponent("groin.heic").path
        try Data([0, 0, 0, 24] + Array("ftypheic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8)).write(to: URL(fileURLWithPath: heic))
        let ledger = dir.appendingPathComponent("l.sqlite").path, out = dir.appendingPathComponent("s.jsonl").path
        for _ in 0..<2 {
            let run = try Self.veil(["score", "--no-faces", "--ledger", ledger, "--out", out, "--resume", heic, "Samples/images/coins.jpg"])
            #expect(run.status == 65 && run.stderr.contains("withheld"), "\(run.stderr)")
            let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 1 && !lines[0].contains("groin"))
        }
        // Without a ledger there is nothing to queue: the record carries its review.
        let plain = try Self.veil(["score", "--no-faces", heic])
        #expect(plain.status == 0 && plain.records.first?["review"] as? String == "restricted", "\(plain.stdout)")
    }

    @Test func brokenLinksAndUnlistableFoldersGetRecords() throws {
        let dir = try Self.folder()
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("breast.jpg").path, withDestinationPath: "/nonexistent/x.jpg")
        let run = try Self.veil(["score", "--no-faces", dir.path])
        let record = try #require(run.records.first, "\(run.stderr)")
        #expect(run.status == 0 && (record["error"] as? [String: Any])?["message"] as? String == "a link to a file that does not exist, or a loop of links")
        #expect(record["review"] as? String == "restricted")
    }

    @Test func calibrationsMustReachTheThresholdsAndNamesStayPlain() throws {
        let dir = try Self.folder()
        for (body, message) in [("platt: {a: -6, b: 100}", "below the review threshold"), ("isotonic: [[0, 0], [0.5, 0.5]]", "below the restrict threshold")] {
            let policy = try Self.write("policy: {name: x, version: \"1\"}\nflags:\n  nudity:\n    calibration: {\(body)}\n", "p.yaml", in: dir)
            let check = try Self.veil(["policy", "check", policy])
            #expect(check.status == 65 && check.stderr.contains(message), "\(check.stderr)")
        }
        let ledger = dir.appendingPathComponent("l.sqlite").path
        _ = try Self.veil(["score", "--no-faces", "--threshold", "nudity=0.000001", "--ledger", ledger, "Samples/images/coins.jpg"])
        let rlo = try Self.veil(["review", "confirm", "1", "--ledger", ledger, "--reviewer", "bob\u{202E}yrellam"])
        #expect(rlo.status == 64 && rlo.stderr.contains("control characters"), "\(rlo.stderr)")
    }
}
