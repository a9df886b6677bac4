import Foundation

/// Veil's coded anatomic vocabulary: every name an archive holds for a body part, mapped to
/// one SNOMED CT concept with laterality and a sensitivity class.
///
/// The tables are data files in `Resources/` (Body Part Examined terms from DICOM PS3.16
/// Annex L, further concepts from PS3.16 context groups, Veil's synonyms, sensitivity classes
/// and detector labels), each stating its source. Loading builds hash indices once; after
/// that a `Vocabulary` is immutable, `Sendable`, and normalizes from any number of threads.
///
/// Wrong is worse than unknown: a misspelling that is not clearly closest to one known word
/// matches nothing.
public final class Vocabulary: Sendable {
    /// Every concept, in table order.
    public let concepts: [AnatomicConcept]
    let bySNOMED: [String: Int]
    let bySNOMEDRT: [String: Int]
    /// Upper-cased Body Part Examined term → concept; Annex L terms only.
    let byBodyPartExamined: [String: Int]
    /// Normalized phrase (lower-case words joined by one space) → concept and match kind.
    let phrases: [String: Int]
    let longestPhrase: Int
    /// First words of phrases longer than one word.
    let multiWordStarts: Set<String>
    /// Lower-cased Body Part Examined term → concept, for exact matches found while tokenizing.
    let bodyPartTermsLowercased: [String: Int]
    /// Single words that fuzzy matching may land on, grouped by length.
    let fuzzyWords: [Int: [(bytes: [UInt8], letters: UInt32, concept: Int)]]
    let detectorParts: [String: Int]
    /// Annex L's compound regions ("Chest, Abdomen and Pelvis"): the concepts of their parts
    /// → the one concept that codes them together; largest first.
    let compounds: [(parts: Set<Int>, concept: Int)]
    /// English and clinical words near anatomic terms (`dictionary-words.txt`), and words of
    /// other languages near them (`other-language-words.txt`): a word in it is never read as
    /// a misspelling.
    let dictionaryWords: Set<String>
    /// Identifies the tables' content: `tables-` and a 64-bit FNV-1a hash of every table
    /// file's bytes. Suggestions raised by the vocabulary record it, so a ledger shows which
    /// tables matched, and a change of tables counts as a new producer.
    public let tableVersion: String

    /// The vocabulary shipped with Veil.
    public static func standard() throws -> Vocabulary {
        try cache.withLock { cached in
            if let cached { return cached }
            guard let folder = resourcesURL else {
                throw VocabularyError(file: "Resources", line: nil, reason: "the vocabulary tables are not installed with Veil")
            }
            let loaded = try Vocabulary(resources: folder)
            cached = loaded
            return loaded
        }
    }
    private static let cache = CacheBox()

    /// The folder holding the tables shipped with Veil.
    public static var resourcesURL: URL? { Bundle.module.url(forResource: "Resources", withExtension: nil) }

    /// Loads the tables from a folder holding the files of `Resources/`.
    public convenience init(resources: URL, sensitivityOverrides: [String: SensitivityClass] = [:]) throws {
        let tables = try Tables(folder: resources)
        try self.init(tables: tables, sensitivityOverrides: sensitivityOverrides)
    }

    /// A copy whose sensitivity classes are replaced for the given SNOMED CT codes, as a site
    /// policy file decides.
    public func overriding(sensitivity overrides: [String: SensitivityClass]) throws -> Vocabulary {
        try Vocabulary(base: self, overrides: overrides)
    }

    /// Looks up a concept by SNOMED CT code.
    public func concept(snomed code: String) -> AnatomicConcept? {
        bySNOMED[code].map { concepts[$0] }
    }

    private init(base: Vocabulary, overrides: [String: SensitivityClass]) throws {
        for code in overrides.keys where base.bySNOMED[code] == nil {
            throw VocabularyError(file: "sensitivity overrides", line: nil, reason: "unknown SNOMED CT code \(code)")
        }
        concepts = base.concepts.map { c in
            AnatomicConcept(snomed: c.snomed, meaning: c.meaning, bodyPartExamined: c.bodyPartExamined,
                            snomedRT: c.snomedRT, isPaired: c.isPaired, sensitivity: overrides[c.snomed] ?? c.sensitivity)
        }
        bySNOMED = base.bySNOMED
        bySNOMEDRT = base.bySNOMEDRT
        byBodyPartExamined = base.byBodyPartExamined
        phrases = base.phrases
        longestPhrase = base.longestPhrase
        multiWordStarts = base.multiWordStarts
        bodyPartTermsLowercased = base.bodyPartTermsLowercased
        fuzzyWords = base.fuzzyWords
        detectorParts = base.detectorParts
        compounds = base.compounds
        dictionaryWords = base.dictionaryWords
        tableVersion = base.tableVersion
    }

    private init(tables: Tables, sensitivityOverrides: [String: SensitivityClass]) throws {
        var concepts: [AnatomicConcept] = []
        var bySNOMED: [String: Int] = [:], bySRT: [String: Int] = [:], byBPE: [String: Int] = [:]
        func add(snomed: String, meaning: String, bpe: String?, srt: String?, paired: Bool) -> Int {
            if let existing = bySNOMED[snomed] { return existing }
            let sensitivity = sensitivityOverrides[snomed] ?? tables.sensitivity[snomed] ?? .none
            concepts.append(AnatomicConcept(snomed: snomed, meaning: meaning, bodyPartExamined: bpe, snomedRT: srt,
                                            isPaired: paired, sensitivity: sensitivity))
            bySNOMED[snomed] = concepts.count - 1
            if let srt { bySRT[srt] = concepts.count - 1 }
            return concepts.count - 1
        }
        var phrases: [String: Int] = [:]
        for row in tables.bodyParts {
            let index = add(snomed: row.snomed, meaning: row.meaning, bpe: row.term, srt: row.srt, paired: row.paired)
            byBPE[row.term] = index
            phrases[Self.phraseKey(row.meaning), default: index] = index
            // The defined term itself, as it appears inside descriptions ("CT HEADNECK").
            phrases[Self.phraseKey(row.term), default: index] = index
        }
        for row in tables.extraConcepts {
            let index = add(snomed: row.snomed, meaning: row.meaning, bpe: nil, srt: nil, paired: row.paired)
            phrases[Self.phraseKey(row.meaning), default: index] = index
        }
        func resolve(_ target: String, file: String, line: Int) throws -> Int {
            if let i = bySNOMED[target] ?? byBPE[target] { return i }
            throw VocabularyError(file: file, line: line, reason: "'\(target)' is neither a known SNOMED CT code nor a Body Part Examined term")
        }
        // Synonyms win over meanings for the same words: they were chosen by hand.
        for row in tables.synonyms {
            let key = Self.phraseKey(row.phrase)
            guard !key.isEmpty else { continue }
            phrases[key] = try resolve(row.target, file: "synonyms.tsv", line: row.line)
        }
        // Other languages' words add to the English ones and never replace them: a word that
        // is already English for another concept is a table error, not a silent override.
        var foreignOnly: Set<String> = []
        for row in tables.translations {
            let key = Self.phraseKey(row.phrase)
            guard !key.isEmpty else { continue }
            // "-": words that name no body part although their words do ("face et profil", a
            // radiograph's two views; "cara anterior", a surface), so that they match nothing.
            let index = row.target == "-" ? Self.namesNoRegion : try resolve(row.target, file: "translations.tsv", line: row.line)
            if let existing = phrases[key] {
                guard existing == index else {
                    func name(_ i: Int) -> String { i == Self.namesNoRegion ? "no region" : concepts[i].meaning }
                    throw VocabularyError(file: "translations.tsv", line: row.line,
                                          reason: "'\(row.phrase)' already means \(name(existing)), not \(name(index))")
                }
                continue
            }
            phrases[key] = index
            foreignOnly.insert(key)
        }
        // French radiographs name their view after the region ("genou face", "thorax face"):
        // there "face" is the frontal view, not the face. Only for regions that are neither
        // intimate nor the face, so that nothing sensitive is lost.
        for row in tables.translations where row.language == "fr" && row.target != "-" {
            let key = Self.phraseKey(row.phrase) + " face"
            guard let index = phrases[Self.phraseKey(row.phrase)], index >= 0, concepts[index].sensitivity == .none,
                  phrases[key] == nil else { continue }
            phrases[key] = index
        }
        var detector: [String: Int] = [:]
        for row in tables.detectorLabels {
            detector[row.part] = try resolve(row.target, file: "detector-labels.tsv", line: row.line)
        }
        for code in tables.sensitivity.keys where bySNOMED[code] == nil {
            throw VocabularyError(file: "sensitivity.tsv", line: nil, reason: "code \(code) names no concept in the tables")
        }
        var fuzzy: [Int: [(word: String, concept: Int)]] = [:]
        // Near misses land on English words only: the dictionary that tells a misspelling from
        // another word is English, so a near miss of a German word would be a guess.
        for (phrase, concept) in phrases where !phrase.contains(" ") && phrase.utf8.count >= 4 && !foreignOnly.contains(phrase) && concept >= 0 {
            fuzzy[phrase.utf8.count, default: []].append((phrase, concept))
        }
        self.concepts = concepts
        self.bySNOMED = bySNOMED
        self.bySNOMEDRT = bySRT
        self.byBodyPartExamined = byBPE
        self.phrases = phrases
        self.longestPhrase = phrases.keys.map { $0.split(separator: " ").count }.max() ?? 1
        self.multiWordStarts = Set(phrases.keys.filter { $0.contains(" ") }.map { String($0.split(separator: " ")[0]) })
        self.bodyPartTermsLowercased = Dictionary(byBPE.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        self.fuzzyWords = fuzzy.mapValues {
            $0.sorted { $0.word < $1.word }.map { (Array($0.word.utf8), Self.letterMask(Array($0.word.utf8)), $0.concept) }
        }
        self.detectorParts = detector
        // A compound's meaning lists its parts ("Neck, Chest, Abdomen and Pelvis"); it counts
        // only when every part is itself a concept of the tables.
        var compounds: [(parts: Set<Int>, concept: Int)] = []
        for (index, concept) in concepts.enumerated() where concept.bodyPartExamined != nil {
            let names = concept.meaning.replacingOccurrences(of: " and ", with: ", ").components(separatedBy: ", ")
            guard names.count >= 2 else { continue }
            let parts = names.compactMap { phrases[Self.phraseKey($0)] }.filter { $0 >= 0 && $0 != index }
            if parts.count == names.count && Set(parts).count == parts.count { compounds.append((Set(parts), index)) }
        }
        self.compounds = compounds.sorted { $0.parts.count > $1.parts.count }
        self.dictionaryWords = tables.dictionaryWords
        self.tableVersion = "tables-" + String(tables.contentHash, radix: 16)
    }

    /// The phrase index of words that name no region: they match, and so stop their words
    /// matching on their own, but add nothing.
    static let namesNoRegion = -1

    /// Lower-case words joined by single spaces: the key phrases are stored and looked up by.
    static func phraseKey(_ text: String) -> String {
        Tokenizer.words(in: text).joined(separator: " ")
    }
}

/// The parsed table files.
struct Tables {
    struct BodyPart { var term, snomed: String; var srt: String?; var meaning: String; var paired: Bool }
    struct Extra { var snomed, meaning: String; var paired: Bool }
    struct Synonym { var phrase, target: String; var line: Int }
    struct Translation { var language, phrase, target: String; var line: Int }
    /// Languages of `translations.tsv`: German, French, Spanish, Italian, Dutch.
    static let languages: Set<String> = ["de", "fr", "es", "it", "nl"]
    struct Detector { var part, target: String; var line: Int }

    var bodyParts: [BodyPart] = []
    var extraConcepts: [Extra] = []
    var synonyms: [Synonym] = []
    var translations: [Translation] = []
    var detectorLabels: [Detector] = []
    var sensitivity: [String: SensitivityClass] = [:]
    var dictionaryWords: Set<String> = []
    /// FNV-1a over every table file read, in a fixed order.
    var contentHash: UInt64 = 0xcbf2_9ce4_8422_2325

    init(folder: URL) throws {
        func rows(_ name: String, columns: Int) throws -> [(line: Int, fields: [String])] {
            let url = folder.appendingPathComponent(name)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw VocabularyError(file: name, line: nil, reason: "cannot read the table")
            }
            for byte in text.utf8 { contentHash = (contentHash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            var out: [(Int, [String])] = []
            for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
                if line.isEmpty || line.hasPrefix("#") { continue }
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                guard fields.count == columns else {
                    throw VocabularyError(file: name, line: n + 1, reason: "expected \(columns) tab-separated columns, found \(fields.count)")
                }
                out.append((n + 1, fields))
            }
            return out
        }
        func laterality(_ s: String, _ file: String, _ line: Int) throws -> Bool {
            switch s {
            case "paired": return true
            case "unpaired": return false
            default: throw VocabularyError(file: file, line: line, reason: "laterality must be paired or unpaired, not '\(s)'")
            }
        }
        for (n, f) in try rows("body-part-examined.tsv", columns: 5) {
            bodyParts.append(.init(term: f[0], snomed: f[1], srt: f[2].isEmpty ? nil : f[2], meaning: f[3],
                                   paired: try laterality(f[4], "body-part-examined.tsv", n)))
        }
        for (n, f) in try rows("concepts.tsv", columns: 3) {
            extraConcepts.append(.init(snomed: f[0], meaning: f[1], paired: try laterality(f[2], "concepts.tsv", n)))
        }
        // One word per line, 126,000 of them: read as bytes, not through `rows`, which would
        // cost a tenth of a second at every start. Both optional, so that a folder of older
        // tables still loads (without them, more near misses go to review, not fewer).
        for name in ["dictionary-words.txt", "other-language-words.txt"] {
            guard let words = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else { continue }
            for byte in words { contentHash = (contentHash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            dictionaryWords.reserveCapacity(dictionaryWords.count + words.count / 8)
            words.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                for line in raw.split(separator: 0x0A) where line.first != UInt8(ascii: "#") {
                    dictionaryWords.insert(String(decoding: line, as: UTF8.self))
                }
            }
        }
        for (n, f) in try rows("synonyms.tsv", columns: 2) { synonyms.append(.init(phrase: f[0], target: f[1], line: n)) }
        // Required, unlike the dictionary: without it intimate regions named in German or
        // French would match nothing, and fewer images would go to review.
        for (n, f) in try rows("translations.tsv", columns: 3) {
            guard Self.languages.contains(f[0]) else {
                throw VocabularyError(file: "translations.tsv", line: n, reason: "unknown language '\(f[0])'; known: \(Self.languages.sorted().joined(separator: ", "))")
            }
            translations.append(.init(language: f[0], phrase: f[1], target: f[2], line: n))
        }
        for (n, f) in try rows("detector-labels.tsv", columns: 2) { detectorLabels.append(.init(part: f[0], target: f[1], line: n)) }
        for (n, f) in try rows("sensitivity.tsv", columns: 3) {
            guard let c = SensitivityClass(rawValue: f[1]) else {
                throw VocabularyError(file: "sensitivity.tsv", line: n, reason: "unknown class '\(f[1])'")
            }
            sensitivity[f[0]] = c
        }
    }
}

final class CacheBox: @unchecked Sendable {
    private var value: Vocabulary?
    private let lock = NSLock()
    func withLock<R>(_ body: (inout Vocabulary?) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
