import Foundation
import Testing
@testable import VeilVocabulary

struct NormalizerTests {
    static let loaded = Result { try Vocabulary.standard() }
    static var vocabulary: Vocabulary { get throws { try loaded.get() } }
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func table(_ name: String) -> [(line: Int, fields: [String])] {
        let text = try! String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { n, line in
            line.isEmpty || line.hasPrefix("#") ? nil : (n + 1, line.split(separator: "\t").map(String.init))
        }
    }

    static func describe(_ regions: [NormalizedRegion]) -> String {
        regions.map { r in
            guard let c = r.concept else { return "none" }
            return r.laterality == .none ? c.snomed : "\(c.snomed):\(r.laterality.rawValue)"
        }.joined(separator: ",")
    }

    /// Over 200 real-world-style inputs: free text, abbreviations, laterality, plurals,
    /// misspellings, phrases among other words, codes and detector labels.
    @Test func variantsNormalizeToTheirConcepts() throws {
        let rows = Self.table("variants.tsv")
        try #require(rows.count >= 200, "only \(rows.count) variants")
        var failures: [String] = []
        for (line, fields) in rows {
            let got = Self.describe(try Self.vocabulary.normalize(fields[0]))
            if got != fields[1] { failures.append("line \(line): '\(fields[0])' gave \(got), expected \(fields[1])") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(rows.count) variants wrong:\n\(failures.joined(separator: "\n"))")
    }

    /// German, French, Spanish, Italian and Dutch names, written apart from the tables: with
    /// and without accents, laterality words of each language, and the phrases in which a
    /// region word means something else (senos paranasales, cara anterior, genou face).
    @Test func otherLanguagesNormalizeToTheirConcepts() throws {
        let rows = Self.table("languages.tsv")
        try #require(rows.count >= 100, "only \(rows.count) rows")
        var failures: [String] = []
        for (line, fields) in rows {
            let got = Self.describe(try Self.vocabulary.normalize(fields[0]))
            if got != fields[1] { failures.append("line \(line): '\(fields[0])' gave \(got), expected \(fields[1])") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(rows.count) wrong:\n\(failures.joined(separator: "\n"))")
    }

    /// Accented Latin letters fold to their base letters, capitals included; ñ stays, so that
    /// Spanish año is not ano; a capital after a folded lower-case letter still splits.
    @Test(arguments: [("GesäßWunde", ["gesass", "wunde"]), ("ÉPAULE épaule", ["epaule", "epaule"]), ("Œil œil", ["oeil", "oeil"]),
                      ("AÑO año", ["año", "año"]), ("Straße", ["strasse"]), ("Ærø", ["aero"]), ("ÇA ça", ["ca", "ca"]),
                      ("naïve Zoë", ["naive", "zoe"]), ("x×y", ["x×y"]), ("Łódź", ["Łodź"]), ("brüsteLinks", ["bruste", "links"])])
    func accentsFold(input: String, expected: [String]) {
        #expect(Tokenizer.words(in: input) == expected)
    }

    /// A near miss lands on English words only, and words of other languages that lie a near
    /// miss from an English intimate word are words, not misspellings.
    @Test(arguments: ["anual", "groen", "testi", "cervicales", "pagina", "fasce", "Brusst", "Gesäss"])
    func otherLanguagesWordsAreNotNearMisses(word: String) throws {
        let result = try Self.vocabulary.normalize(word)
        #expect(result.allSatisfy { $0.match != .fuzzy }, "\(word) gave \(Self.describe(result))")
    }

    @Test func garbageNormalizesToNothing() throws {
        let rows = Self.table("garbage.tsv")
        try #require(rows.count >= 40)
        for (line, fields) in rows {
            let result = try Self.vocabulary.normalize(fields[0])
            #expect(result.count == 1 && result[0].match == .none && result[0].concept == nil,
                    "line \(line): '\(fields[0])' gave \(Self.describe(result))")
        }
        #expect(try Self.vocabulary.normalize("")[0].match == .none)
    }

    /// Every Annex L term in the table, in upper, lower and mixed case, maps to its code; the
    /// code is one pydicom's copy of PS3.16 knows, with the same legacy SNOMED-RT id.
    @Test func everyBodyPartExaminedTermMapsToItsCode() throws {
        var pydicom: [String: (known: Bool, srt: String)] = [:]
        for (_, f) in Self.table("pydicom-codes.tsv") { pydicom[f[0]] = (f[1] == "yes", f.count > 2 ? f[2] : "") }
        let terms = try Self.vocabulary.concepts.compactMap(\.bodyPartExamined)
        try #require(terms.count >= 300, "only \(terms.count) Body Part Examined terms")
        var unknownToPydicom: [String] = []
        for concept in try Self.vocabulary.concepts {
            guard let term = concept.bodyPartExamined else { continue }
            for variant in [term, term.lowercased(), term.prefix(1) + term.dropFirst().lowercased(), " \(term) "] {
                let result = try Self.vocabulary.normalize(bodyPartExamined: String(variant))
                #expect(result.first?.concept?.snomed == concept.snomed && result.first?.match == .exact,
                        "\(variant) gave \(Self.describe(result)), expected \(concept.snomed)")
            }
            let reference = try #require(pydicom[concept.snomed], "\(concept.snomed) missing from the pydicom fixture")
            if !reference.known { unknownToPydicom.append(term) }
            if let srt = concept.snomedRT, !reference.srt.isEmpty {
                #expect(srt == reference.srt, "\(term): SRT \(srt), pydicom maps \(concept.snomed) to \(reference.srt)")
            }
        }
        // Two recent codes (LOWERTRUNK, UPPERTRUNK) are not in pydicom 3.0.2's tables.
        #expect(unknownToPydicom.sorted() == ["LOWERTRUNK", "UPPERTRUNK"])
    }

    @Test func sensitivityClasses() throws {
        func sensitivity(_ text: String) throws -> SensitivityClass? { try Self.vocabulary.normalize(text).first?.concept?.sensitivity }
        for text in ["breast", "nipple", "buttock", "perineum", "anus", "groin", "penis", "scrotum", "testis", "vulva", "vagina",
                     "genitals", "FEMALE_GENITALIA_COVERED", "suprapubic"] {
            #expect(try sensitivity(text) == .intimate, "\(text)")
        }
        for text in ["face", "head", "FACE_MALE", "head and neck"] { #expect(try sensitivity(text) == .face, "\(text)") }
        for text in ["knee", "hand", "chest", "abdomen", "sacrum", "foot"] { #expect(try sensitivity(text) == SensitivityClass.none, "\(text)") }
    }

    @Test func detectorLabelsCarryExposure() throws {
        let exposed = try Self.vocabulary.normalize("FEMALE_BREAST_EXPOSED")[0]
        #expect(exposed.exposure == .exposed && exposed.concept?.snomed == "76752008" && exposed.match == .exact)
        #expect(try Self.vocabulary.normalize("BUTTOCKS_COVERED")[0].exposure == .covered)
        #expect(try Self.vocabulary.normalize("FACE_MALE")[0].exposure == nil)
    }

    @Test func matchKindsAndConfidence() throws {
        let exact = try Self.vocabulary.normalize("KNEE")[0]
        #expect(exact.match == .exact && exact.confidence == 1)
        let synonym = try Self.vocabulary.normalize("knees")[0]
        #expect(synonym.match == .synonym && synonym.confidence < 1)
        let fuzzy = try Self.vocabulary.normalize("shouldr")[0]
        #expect(fuzzy.match == .fuzzy && fuzzy.confidence < synonym.confidence)
        // Laterality only applies where a region has sides.
        #expect(try Self.vocabulary.normalize("left perineum")[0].laterality == .none)
    }

    /// Everyday and clinical words one or two letters from an anatomic term are words, not
    /// misspellings: they must raise nothing. Real misspellings still match, at near-miss
    /// confidence (below a synonym's), or as the term when a side or a space is run in.
    @Test(arguments: ["tested", "breath", "public", "private", "personal", "marginal", "vertical", "button", "senile",
                      "festival", "fascial", "lenticular", "peroneus", "vestibular", "ripple", "glands", "abreast",
                      "patch test is negative"])
    func ordinaryWordsAreNotNearMisses(word: String) throws {
        let found = try Self.vocabulary.normalize(text: "photo \(word) 2024")
        #expect(found.allSatisfy { $0.concept == nil }, "\(word) → \(Self.describe(found))")
    }

    @Test(arguments: [("brest", "76752008", MatchKind.synonym), ("breats", "76752008", .fuzzy), ("scrotel", "20233005", .fuzzy), ("vagnia", "76784001", .fuzzy),
                      ("nippel", "24142002", .synonym), ("penus", "18911002", .fuzzy), ("testicel", "40689003", .fuzzy),
                      ("fore skin", "18911002", .synonym), ("peri anal", "53505006", .synonym),
                      ("leftbreast", "76752008", .synonym), ("RTBREAST", "76752008", .synonym), ("brests", "76752008", .synonym),
                      ("IMG_breast2", "76752008", .synonym), ("PENIS01", "18911002", .synonym), ("BreastWound", "76752008", .synonym)]
                   as [(String, String, MatchKind)])
    func misspellingsStillMatch(text: String, snomed: String, match: MatchKind) throws {
        let found = try Self.vocabulary.normalize(text: "wound \(text) day 3")
        let region = try #require(found.first { $0.concept != nil }, "\(text) → nothing")
        #expect(region.concept?.snomed == snomed && region.match == match, "\(text) → \(Self.describe(found)) \(region.match)")
        #expect(region.concept?.sensitivity == .intimate)
        #expect(region.confidence <= (match == .fuzzy ? 0.7 : 0.9))
        if text.lowercased().hasPrefix("left") { #expect(region.laterality == .left) }
        if text.hasPrefix("RT") { #expect(region.laterality == .right) }
    }

    /// The distance against a plain recursive definition of optimal string alignment (a swap
    /// of neighbours is one edit), on every pair of short strings over a small alphabet.
    @Test func editDistanceMatchesTheDefinition() throws {
        func reference(_ a: [UInt8], _ b: [UInt8]) -> Int {
            var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0...a.count { d[i][0] = i }
            for j in 0...b.count { d[0][j] = j }
            for i in stride(from: 1, through: a.count, by: 1) {
                for j in stride(from: 1, through: b.count, by: 1) {
                    d[i][j] = Swift.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                    if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = Swift.min(d[i][j], d[i - 2][j - 2] + 1) }
                }
            }
            return d[a.count][b.count]
        }
        var words: [[UInt8]] = [[]]
        for _ in 0..<4 { words += words.filter { $0.count == words.last!.count }.flatMap { w in [w + [97], w + [98], w + [99]] } }
        for a in words {
            for b in words {
                let exact = reference(a, b)
                for limit in 0...3 {
                    let got = Vocabulary.editDistance(a, b, limit: limit)
                    #expect(got == (exact <= limit ? exact : nil), "\(a) \(b) limit \(limit): \(String(describing: got)) vs \(exact)")
                }
            }
        }
        #expect(Vocabulary.oneEditAway(from: Array("ab".utf8)).contains("ba"))
    }

    @Test func sitesCanOverrideSensitivity() throws {
        let site = try Self.vocabulary.overriding(sensitivity: ["72696002": .intimate, "76752008": .none])
        #expect(site.normalize("knee")[0].concept?.sensitivity == .intimate)
        #expect(site.normalize("breast")[0].concept?.sensitivity == SensitivityClass.none)
        #expect(try Self.vocabulary.normalize("knee")[0].concept?.sensitivity == SensitivityClass.none)
        #expect(throws: VocabularyError.self) { try Self.vocabulary.overriding(sensitivity: ["123": .face]) }
    }

    @Test func malformedTablesNameTheFileAndLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-vocab-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let resources = try #require(Vocabulary.resourcesURL)
        for name in ["body-part-examined.tsv", "concepts.tsv", "synonyms.tsv", "translations.tsv", "detector-labels.tsv", "sensitivity.tsv"] {
            try FileManager.default.copyItem(at: resources.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        try "breast\tNOTATERM\n".write(to: dir.appendingPathComponent("synonyms.tsv"), atomically: true, encoding: .utf8)
        do {
            _ = try Vocabulary(resources: dir)
            Issue.record("a synonym naming an unknown term loaded")
        } catch let error as VocabularyError {
            #expect(error.file == "synonyms.tsv" && error.line == 1, "\(error)")
        }
        try "only-one-column\n".write(to: dir.appendingPathComponent("synonyms.tsv"), atomically: true, encoding: .utf8)
        #expect(throws: VocabularyError.self) { try Vocabulary(resources: dir) }
        try "breast\tBREAST\n".write(to: dir.appendingPathComponent("synonyms.tsv"), atomically: true, encoding: .utf8)
        // Another language's word never changes what an English word means, and an unknown
        // language is an error, not a row skipped.
        for (table, line) in [("# a comment\nde\tBrust\tBREAST\nfr\tbreast\tKNEE\n", 3), ("xx\tBrust\tBREAST\n", 1)] {
            try table.write(to: dir.appendingPathComponent("translations.tsv"), atomically: true, encoding: .utf8)
            do {
                _ = try Vocabulary(resources: dir)
                Issue.record("translations.tsv loaded: \(table)")
            } catch let error as VocabularyError {
                #expect(error.file == "translations.tsv" && error.line == line, "\(error)")
            }
        }
        // Without the table, German and French intimate words would match nothing: refused.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("translations.tsv"))
        #expect(throws: VocabularyError.self) { try Vocabulary(resources: dir) }
    }
}
