import Foundation
import Testing
import Veil
import VeilImage

/// The site-trained flag loop through the real binary: embed → fit → evaluate → score, on a
/// labelled set the test makes itself: photographs with a colour card or a ruler in a corner
/// (as wound photographs carry) against the same kinds of photographs without.
@Suite(.serialized)
struct SiteTrainedFlagsTests {
    static let samples = ScoreCommandTests.repository.appendingPathComponent("Samples/images")

    /// A crop of a sample photograph, resized to 320×240, with a colour card (a grid of
    /// saturated patches on black) or a ruler (a white strip with black ticks) pasted into a
    /// corner when `marked`.
    static func photo(base: RGBImage, marked: Bool, seed: UInt64) throws -> RGBImage {
        var generator = SeededRandom(seed: seed)
        let side = min(base.width, base.height) * Int.random(in: 60...90, using: &generator) / 100
        let x = Int.random(in: 0...(base.width - side), using: &generator), y = Int.random(in: 0...(base.height - side), using: &generator)
        let crop = try base.cropped(x: x, y: y, size: PixelSize(width: side, height: side * 3 / 4))
        let image = try crop.resized(to: PixelSize(width: 320, height: 240))
        guard marked else { return image }
        var pixels = image.pixels
        let corner = Int.random(in: 0..<4, using: &generator)
        let ruler = Bool.random(using: &generator)
        let w = ruler ? Int.random(in: 160...220, using: &generator) : Int.random(in: 100...140, using: &generator)
        let h = ruler ? Int.random(in: 30...40, using: &generator) : w * 2 / 3
        // Inside the model's centre crop (it keeps the middle 7/8 of each side).
        let ox = corner % 2 == 0 ? 30 : 320 - w - 30, oy = corner < 2 ? 28 : 240 - h - 28
        let palette: [(UInt8, UInt8, UInt8)] = [(230, 30, 30), (30, 160, 40), (30, 60, 220), (240, 220, 20), (250, 250, 250), (200, 40, 200)]
        for py in 0..<h {
            for px in 0..<w {
                let color: (UInt8, UInt8, UInt8)
                if ruler {
                    let tick = px % 10 == 0 && py < (px % 50 == 0 ? h * 2 / 3 : h / 3)
                    color = tick || py == 0 || py == h - 1 ? (10, 10, 10) : (245, 245, 235)
                } else {
                    let cw = w / 3, ch = h / 2
                    let border = px % cw < 3 || py % ch < 3
                    color = border ? (15, 15, 15) : palette[(py / ch) * 3 + min(2, px / cw)]
                }
                let at = ((oy + py) * 320 + ox + px) * 3
                (pixels[at], pixels[at + 1], pixels[at + 2]) = color
            }
        }
        return try RGBImage(width: 320, height: 240, pixels: pixels)
    }

    /// Writes `count` photographs of each class from `bases` into `folder`, and beside it a
    /// truth CSV with a column `ruler`; `shuffled` labels them at random instead.
    static func makeSet(_ folder: URL, bases: [RGBImage], count: Int, seed: UInt64, shuffled: Bool = false) throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var truth = "path,ruler\n"
        var generator = SeededRandom(seed: seed &+ 99)
        for i in 0..<(2 * count) {
            let marked = i % 2 == 0
            let image = try photo(base: bases[i % bases.count], marked: marked, seed: seed &+ UInt64(i))
            let path = folder.appendingPathComponent(String(format: "photo-%03d.jpg", i))
            try Data(try image.jpegData(quality: 90)).write(to: path)
            truth += "\(path.path),\((shuffled ? Bool.random(using: &generator) : marked) ? 1 : 0)\n"
        }
        let csv = folder.deletingLastPathComponent().appendingPathComponent(folder.lastPathComponent + (shuffled ? "-shuffled.csv" : ".csv"))
        try truth.write(to: csv, atomically: true, encoding: .utf8)
        return csv
    }

    static func bases() throws -> [RGBImage] {
        let reader = ImageReader(options: DecodingOptions())
        return try FileManager.default.contentsOfDirectory(atPath: samples.path).sorted().map {
            try reader.pictures(inFileAt: samples.appendingPathComponent($0).path).picture(at: 0).image
        }
    }

    static func json(_ run: ScoreCommandTests.Run) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]) ?? [:]
    }

    static func auc(_ run: ScoreCommandTests.Run) -> Double {
        ((json(run)["metrics"] as? [String: Any])?["rocAUC"] as? Double) ?? .nan
    }

    @Test func embedFitEvaluateAndScore() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-heads-\(UUID())")
        let bases = try Self.bases()
        try #require(bases.count >= 10)
        // Train and held-out sets come from different photographs, so that the head must
        // learn the card or ruler, not the scenes.
        let train = try Self.makeSet(dir.appendingPathComponent("train"), bases: Array(bases[0..<7]), count: 30, seed: 1)
        let test = try Self.makeSet(dir.appendingPathComponent("test"), bases: Array(bases[7...]), count: 20, seed: 2)
        let shuffled = try Self.makeSet(dir.appendingPathComponent("train"), bases: Array(bases[0..<7]), count: 30, seed: 1, shuffled: true)

        // Into a folder that does not exist yet; a note in the images' folder is passed over.
        try "not an image".write(to: dir.appendingPathComponent("train/notes.txt"), atomically: true, encoding: .utf8)
        let embeddings = dir.appendingPathComponent("out/train.safetensors").path
        let embed = try ScoreCommandTests.veil(["embed", dir.appendingPathComponent("train").path, "--out", embeddings])
        #expect(embed.status == 0, "\(embed.stderr)")
        #expect(embed.stderr.contains("embedded 60 image(s), 60 row(s)"), "\(embed.stderr)")
        // Resuming a finished run embeds nothing again.
        let again = try ScoreCommandTests.veil(["embed", dir.appendingPathComponent("train").path, "--out", embeddings, "--resume"])
        #expect(again.status == 0 && again.stderr.contains("embedded 0 image(s), 60 row(s)") && again.stderr.contains("60 already there"),
                "\(again.stderr)")
        #expect(try ScoreCommandTests.veil(["embed", dir.appendingPathComponent("train").path, "--out", embeddings]).status == 64,
                "an existing --out without --resume")

        let head = dir.appendingPathComponent("head").path
        let fit = try ScoreCommandTests.veil(["heads", "fit", "--flag", "ruler", "--truth", train.path, "--embeddings", embeddings,
                                              "--out", head, "--json"])
        #expect(fit.status == 0, "\(fit.stderr)")
        let report = Self.json(fit)
        #expect(report["positives"] as? Int == 30 && report["negatives"] as? Int == 30, "\(fit.stdout)")
        // Computing the embeddings itself gives the same fit.
        let direct = try ScoreCommandTests.veil(["heads", "fit", "--flag", "ruler", "--truth", train.path,
                                                 "--out", dir.appendingPathComponent("head2").path, "--json"])
        #expect(direct.status == 0 && abs(Self.auc(direct) - Self.auc(fit)) < 1e-6, "\(direct.stderr)")

        let evaluate = try ScoreCommandTests.veil(["heads", "evaluate", head, "--truth", test.path, "--json"])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        let heldOut = Self.json(evaluate)["rocAUC"] as? Double ?? .nan
        #expect(Self.json(evaluate)["drift"] as? String == "none" && Self.json(evaluate)["recall"] is Double, "\(evaluate.stdout)")
        print("site-trained head, held-out ROC AUC \(heldOut); cross-validated \(Self.auc(fit))")
        #expect(heldOut >= 0.95, "held-out AUC \(heldOut)")

        // Labels shuffled at random: nothing to learn, so the cross-validated AUC is about one
        // half. A fold that saw its own validation images (or their standardisation) would
        // score well above it: the check that nothing leaks.
        let noise = try ScoreCommandTests.veil(["heads", "fit", "--flag", "ruler", "--truth", shuffled.path, "--embeddings", embeddings,
                                                "--out", dir.appendingPathComponent("noise").path, "--json"])
        #expect(noise.status == 0, "\(noise.stderr)")
        let chance = Self.auc(noise)
        print("head fitted to shuffled labels, cross-validated ROC AUC \(chance)")
        #expect(abs(chance - 0.5) <= 0.15, "shuffled-label AUC \(chance)")

        // Scoring with the head: its flag comes out of the same pass, with the head as source,
        // its category in the labels, and a suggestion where its threshold says.
        let marked = dir.appendingPathComponent("test/photo-000.jpg").path, plain = dir.appendingPathComponent("test/photo-001.jpg").path
        let score = try ScoreCommandTests.veil(["score", "--no-faces", "--head", head, marked, plain])
        #expect(score.status == 0, "\(score.stderr)")
        let records = score.records
        let scores = records.map { ($0["scores"] as? [String: Any])?["ruler"] as? Double ?? -1 }
        #expect(scores[0] > scores[1], "\(scores)")
        let suggestion = (records[0]["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "ruler" }
        #expect((suggestion?["source"] as? [String: Any])?["name"] as? String == "head-ruler", "\(records[0])")
        #expect(score.stderr.contains("no rule for 'ruler'"), "\(score.stderr)")
        // --threshold reaches a head's flag too.
        let strict = try ScoreCommandTests.veil(["score", "--no-faces", "--head", head, "--threshold", "ruler=0.999", marked])
        #expect(strict.status == 0, "\(strict.stderr)")
        let strictRuler = (strict.records.first?["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "ruler" }
        #expect(strictRuler?["threshold"] as? Double == 0.999, "\(strict.stdout)")
        // A site flag without a category of its own is labelled 131395 Sensitive Content.
        #expect((suggestion?["labels"] as? [[String: Any]])?.first?["value"] as? String == "131395", "\(suggestion ?? [:])")

        // The same head named in a policy file, relative to it, with the committee's own
        // threshold and category.
        let policy = dir.appendingPathComponent("site.yaml")
        try """
            policy: {name: site, version: "1"}
            site_flags: [ruler]
            flags:
              ruler: {review_threshold: 0.5, category: 131394}
            heads: [head]
            """.write(to: policy, atomically: true, encoding: .utf8)
        let viaPolicy = try ScoreCommandTests.veil(["score", "--no-faces", "--policy", policy.path, marked])
        #expect(viaPolicy.status == 0 && !viaPolicy.stderr.contains("no rule for"), "\(viaPolicy.stderr)")
        let ruled = (viaPolicy.records.first?["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "ruler" }
        #expect(ruled?["threshold"] as? Double == 0.5, "\(ruled ?? [:])")
        #expect((ruled?["labels"] as? [[String: Any]])?.first?["value"] as? String == "131394", "\(ruled ?? [:])")

        // A head fitted on another model is refused, naming what differs.
        let manifest = URL(fileURLWithPath: head).appendingPathComponent("manifest.json")
        var text = try String(contentsOf: manifest, encoding: .utf8)
        let weights = try #require(Classifier.loadDefault().identity.weightsSHA256 as String?)
        text = text.replacingOccurrences(of: weights, with: String(repeating: "0", count: 64))
        try text.write(to: manifest, atomically: true, encoding: .utf8)
        let foreign = try ScoreCommandTests.veil(["score", "--no-faces", "--head", head, marked])
        #expect(foreign.status == 69 && foreign.stderr.contains("was fitted on"), "\(foreign.stderr)")
    }

    @Test func badInputsAreRefusedClearly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-heads-bad-\(UUID())")
        let bases = try Self.bases()
        let small = try Self.makeSet(dir.appendingPathComponent("small"), bases: bases, count: 6, seed: 5)
        // Too few examples: how many more of each class.
        let few = try ScoreCommandTests.veil(["heads", "fit", "--flag", "ruler", "--truth", small.path, "--out", dir.appendingPathComponent("h").path])
        #expect(few.status == 65 && few.stderr.contains("need at least 20 of each class") && few.stderr.contains("14 more with the flag"),
                "\(few.stderr)")
        // A truth CSV naming files that do not exist.
        let ghost = dir.appendingPathComponent("ghost.csv")
        try "path,ruler\n/nonexistent/a.jpg,1\n".write(to: ghost, atomically: true, encoding: .utf8)
        let missing = try ScoreCommandTests.veil(["heads", "fit", "--flag", "ruler", "--truth", ghost.path, "--out", dir.appendingPathComponent("h").path])
        #expect(missing.status == 66 && missing.stderr.contains("/nonexistent/a.jpg"), "\(missing.stderr)")
        // A ledger without decisions on the flag.
        let ledger = dir.appendingPathComponent("review.sqlite").path
        #expect(try ScoreCommandTests.veil(["score", "--no-faces", "--ledger", ledger, dir.appendingPathComponent("small").path]).status == 0)
        let undecided = try ScoreCommandTests.veil(["heads", "fit", "--flag", "gruesome", "--ledger", ledger, "--out", dir.appendingPathComponent("h").path])
        #expect(undecided.status == 65 && undecided.stderr.contains("no confirmed or rejected decisions on 'gruesome'"), "\(undecided.stderr)")
        // Embeddings of another backbone.
        let embeddings = dir.appendingPathComponent("e.safetensors").path
        #expect(try ScoreCommandTests.veil(["embed", dir.appendingPathComponent("small").path, "--out", embeddings]).status == 0)
        let index = URL(fileURLWithPath: dir.appendingPathComponent("e.jsonl").path)
        let weights = try Classifier.loadDefault().identity.weightsSHA256
        try (try String(contentsOf: index, encoding: .utf8)).replacingOccurrences(of: weights, with: String(repeating: "1", count: 64))
            .write(to: index, atomically: true, encoding: .utf8)
        let other = try ScoreCommandTests.veil(["heads", "fit", "--flag", "ruler", "--truth", small.path, "--embeddings", embeddings,
                                                "--out", dir.appendingPathComponent("h").path])
        #expect(other.status == 64 && other.stderr.contains("holds embeddings of"), "\(other.stderr)")
        // A unknown path in the truth file is missing, with or without --embeddings.
        let withEmbeddings = try ScoreCommandTests.veil(["heads", "fit", "--flag", "ruler", "--truth", ghost.path, "--embeddings", embeddings,
                                                         "--out", dir.appendingPathComponent("h").path])
        #expect(withEmbeddings.status == 66 && withEmbeddings.stderr.contains("do not exist"), "\(withEmbeddings.stderr)")
        // One image labelled both ways under two paths is a contradiction, not two examples.
        let copy = dir.appendingPathComponent("copy.jpg")
        try FileManager.default.copyItem(at: dir.appendingPathComponent("small/photo-000.jpg"), to: copy)
        let both = dir.appendingPathComponent("both.csv")
        try (try String(contentsOf: small, encoding: .utf8) + "\(copy.path),0\n").write(to: both, atomically: true, encoding: .utf8)
        let contradiction = try ScoreCommandTests.veil(["heads", "fit", "--flag", "ruler", "--truth", both.path, "--out", dir.appendingPathComponent("h").path])
        #expect(contradiction.status == 64 && contradiction.stderr.contains("are the same image, labelled 0 and 1"), "\(contradiction.stderr)")
        // A value that is not a finite number in the embeddings is refused, naming the image.
        let fresh = dir.appendingPathComponent("f.safetensors").path
        #expect(try ScoreCommandTests.veil(["embed", dir.appendingPathComponent("small").path, "--out", fresh]).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: fresh))
        let headerLength = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        bytes.replaceSubrange((8 + headerLength)..<(12 + headerLength), with: [0x00, 0x00, 0x80, 0x7F])  // +inf, little-endian
        try bytes.write(to: URL(fileURLWithPath: fresh))
        let infinite = try ScoreCommandTests.veil(["heads", "fit", "--flag", "ruler", "--truth", small.path, "--embeddings", fresh,
                                                   "--out", dir.appendingPathComponent("h").path])
        #expect(infinite.status == 64 && infinite.stderr.contains("not a finite number") && infinite.stderr.contains("photo-000.jpg"),
                "\(infinite.stderr)")
        // A policy naming a head that is not there does not check.
        let policy = dir.appendingPathComponent("p.yaml")
        try "policy: {name: p, version: \"1\"}\nheads: [nowhere]\n".write(to: policy, atomically: true, encoding: .utf8)
        let check = try ScoreCommandTests.veil(["policy", "check", policy.path])
        #expect(check.status == 65 && check.stderr.contains("nowhere"), "\(check.stderr)")
        // A built-in flag cannot be a head's.
        #expect(try ScoreCommandTests.veil(["heads", "fit", "--flag", "nudity", "--truth", small.path, "--out", dir.appendingPathComponent("h").path]).status == 64)
    }
}

/// SplitMix64: the same images on every machine.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
