import Foundation

extension Vocabulary {
    /// Normalizes any input: a SNOMED CT or SNOMED-RT code (with or without a scheme
    /// prefix), a detector label, a Body Part Examined term, or free text. Returns every
    /// region found, in order, or one `.none` result.
    public func normalize(_ input: String) -> [NormalizedRegion] {
        // Cheap byte tests route the input, so that the common case (a short name) pays for
        // one tokenization and a few hash lookups.
        var shape = InputShape()
        for byte in input.utf8 { shape.add(byte) }
        if shape.mayBeCode, let coded = normalize(code: input.trimmingSpaces) { return [coded] }
        if shape.mayBeDetectorLabel, let detector = normalize(detectorLabel: input.trimmingSpaces) { return [detector] }
        return normalize(text: input)
    }

    /// A Body Part Examined (0018,0015) value: an Annex L defined term in any case, else read
    /// as free text (legacy and vendor values are synonyms).
    public func normalize(bodyPartExamined value: String) -> [NormalizedRegion] {
        let trimmed = value.trimmingSpaces
        if let index = byBodyPartExamined[trimmed.uppercased()] {
            return [NormalizedRegion(concept: concepts[index], laterality: concepts[index].inherentLaterality, match: .exact,
                                     confidence: 1, exposure: nil, matchedText: trimmed)]
        }
        return normalize(text: trimmed)
    }

    /// A coded concept: `76752008`, `SCT:76752008`, `SNOMED CT 76752008`, the FHIR and URI
    /// forms `http://snomed.info/sct|76752008`, `http://snomed.info/id/76752008` and
    /// `urn:oid:2.16.840.1.113883.6.96|76752008` (SNOMED CT's OID), or a legacy SNOMED-RT id
    /// such as `T-04000` or `SRT:T-04000`. Returns `nil` if the input is not shaped like a
    /// code at all, and a `.none` result for a well-formed unknown code.
    public func normalize(code input: String) -> NormalizedRegion? {
        var bytes = Array(input.trimmingSpaces.uppercased().utf8)
        var system = false
        for prefix in ["HTTP://SNOMED.INFO/SCT", "HTTPS://SNOMED.INFO/SCT", "HTTP://SNOMED.INFO/ID/", "HTTPS://SNOMED.INFO/ID/",
                       "URN:OID:2.16.840.1.113883.6.96"] where bytes.starts(with: prefix.utf8) {
            bytes.removeFirst(prefix.utf8.count)
            system = true
            break
        }
        for prefix in ["SNOMED CT", "SNOMED-CT", "SNOMEDCT", "SNOMED", "SCT", "SRT", "SNM3", "99SDM"] where bytes.starts(with: prefix.utf8) {
            bytes.removeFirst(prefix.utf8.count)
            break
        }
        let separators: Set<UInt8> = [0x20, 0x09, 0x3A, 0x7C, 0x3D]  // space, tab, ':', '|', '='
        while let first = bytes.first, separators.contains(first) { bytes.removeFirst() }
        while let last = bytes.last, separators.contains(last) { bytes.removeLast() }
        let text = String(decoding: bytes, as: UTF8.self)
        let isSCT = (6...18).contains(bytes.count) && bytes.allSatisfy { (0x30...0x39).contains($0) }
        // SNOMED-RT ids: one letter, a hyphen, then 4 or 5 letters or digits (T-04000, R-FAB55).
        // Requiring a digit keeps words such as "C-SPINE" out.
        let isSRT = (6...8).contains(bytes.count) && bytes[1] == UInt8(ascii: "-")
            && (0x41...0x5A).contains(bytes[0]) && bytes[2...].allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) }
            && bytes[2...].contains { (0x30...0x39).contains($0) }
        guard isSCT || (isSRT && !system) else { return nil }
        guard let index = isSCT ? bySNOMED[text] : bySNOMEDRT[text] else { return .unmatched(input) }
        return NormalizedRegion(concept: concepts[index], laterality: concepts[index].inherentLaterality, match: .exact,
                                confidence: 1, exposure: nil, matchedText: input)
    }

    /// A detector label such as `FEMALE_BREAST_EXPOSED` or `FACE_MALE`. Returns `nil` if the
    /// input is not shaped like one.
    public func normalize(detectorLabel input: String) -> NormalizedRegion? {
        let label = input.uppercased()
        guard label.contains("_"), label.utf8.allSatisfy({ (0x41...0x5A).contains($0) || $0 == UInt8(ascii: "_") }) else { return nil }
        var part = label
        var exposure: Exposure?
        if label.hasSuffix("_EXPOSED") { part = String(label.dropLast(8)); exposure = .exposed }
        if label.hasSuffix("_COVERED") { part = String(label.dropLast(8)); exposure = .covered }
        guard let index = detectorParts[part] else { return exposure == nil ? nil : .unmatched(input) }
        return NormalizedRegion(concept: concepts[index], laterality: .none, match: .exact, confidence: 1,
                                exposure: exposure, matchedText: input)
    }

    /// Free text, e.g. a Study Description, an order name or a file name:
    /// `"PHOTO L BREAST WOUND DAY 3"` → breast, left.
    public func normalize(text: String) -> [NormalizedRegion] {
        let words = Tokenizer.words(in: text)
        var found: [NormalizedRegion] = []
        var pendingSide: Laterality = .none
        var sideUsed = true
        var i = 0
        while i < words.count {
            if let (index, length) = longestPhrase(in: words, from: i) {
                let matched = length == 1 ? words[i] : words[i..<(i + length)].joined(separator: " ")
                let whole = length == words.count
                if index >= 0 {
                    // Exact: the whole input is a defined term, such as "KNEE" or "lspine".
                    let isBPE = whole && length == 1 && bodyPartTermsLowercased[words[i]] == index
                        && text.utf8.allSatisfy { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "_") && $0 != UInt8(ascii: "-") }
                    found.append(region(index, side: pendingSide, match: isBPE ? .exact : .synonym,
                                        confidence: isBPE ? 1 : (whole ? 0.95 : 0.9), text: matched))
                    sideUsed = true
                }
                pendingSide = .none
                i += length
                continue
            }
            // A prefix split off a term ("fore skin", "peri anal"). Only these prefixes: joining
            // any two words would read "patch test is negative" as testis.
            if i + 1 < words.count, Self.splitPrefixes.contains(words[i]), let index = phrases[words[i] + words[i + 1]], index >= 0 {
                found.append(region(index, side: pendingSide, match: .synonym, confidence: 0.9, text: words[i] + " " + words[i + 1]))
                pendingSide = .none
                sideUsed = true
                i += 2
                continue
            }
            // A side run into the term ("LBREAST", "leftbreast").
            if let (side, index) = sidePrefixed(words[i]) {
                found.append(region(index, side: side, match: .synonym, confidence: 0.9, text: words[i]))
                pendingSide = .none
                sideUsed = true
                i += 1
                continue
            }
            if let side = Self.side(words, at: i) {
                // "left and right breast": two different sides before one region mean both.
                pendingSide = (!sideUsed && pendingSide != .none && pendingSide != side.laterality) ? .both : side.laterality
                sideUsed = false
                i += side.length
                continue
            }
            if let (index, distance) = fuzzyMatch(words[i]) {
                // Below a synonym's 0.9: a near miss is a guess, and the policy may review it at
                // its own threshold (near_miss_review_threshold).
                found.append(region(index, side: pendingSide, match: .fuzzy, confidence: distance == 1 ? 0.7 : 0.6, text: words[i]))
                pendingSide = .none
                sideUsed = true
            }
            i += 1
        }
        // A trailing side ("breast, left") belongs to the region before it.
        if !sideUsed, pendingSide != .none, let last = found.last, last.laterality == .none, last.concept?.isPaired == true {
            found[found.count - 1] = region(bySNOMED[last.concept!.snomed]!, side: pendingSide, match: last.match,
                                            confidence: last.confidence, text: last.matchedText)
        }
        if found.isEmpty { return [.unmatched(text)] }
        return found.count == 1 ? found : Self.merged(combiningCompounds(found))
    }

    /// Regions named one after another that together make one of Annex L's compound regions
    /// ("CHEST ABDOMEN PELVIS", "head & neck") become that one concept, as DICOM codes them.
    /// Only sure matches combine: no side, no near miss.
    func combiningCompounds(_ found: [NormalizedRegion]) -> [NormalizedRegion] {
        guard !compounds.isEmpty else { return found }
        let indices = found.map { r in r.concept.flatMap { bySNOMED[$0.snomed] } }
        var out: [NormalizedRegion] = []
        var i = 0
        next: while i < found.count {
            for compound in compounds where i + compound.parts.count <= found.count {
                let window = i..<(i + compound.parts.count)
                let run = window.compactMap { indices[$0] }
                guard run.count == compound.parts.count, Set(run) == compound.parts,
                      window.allSatisfy({ found[$0].laterality == .none && found[$0].match != .fuzzy }) else { continue }
                out.append(region(compound.concept, side: .none, match: .synonym,
                                  confidence: window.map { found[$0].confidence }.min() ?? 0.9,
                                  text: window.map { found[$0].matchedText }.joined(separator: " ")))
                i += compound.parts.count
                continue next
            }
            out.append(found[i])
            i += 1
        }
        return out
    }

    private func region(_ index: Int, side: Laterality, match: MatchKind, confidence: Double, text: String) -> NormalizedRegion {
        let concept = concepts[index]
        return NormalizedRegion(concept: concept, laterality: concept.isPaired ? side : concept.inherentLaterality, match: match,
                                confidence: confidence, exposure: nil, matchedText: text)
    }

    /// The longest known phrase starting at word `start`.
    private func longestPhrase(in words: [String], from start: Int) -> (Int, Int)? {
        // Only words that begin a multi-word phrase need the longer keys built and tried.
        var length = multiWordStarts.contains(words[start]) ? min(longestPhrase, words.count - start) : 1
        while length >= 1 {
            let key = length == 1 ? words[start] : words[start..<(start + length)].joined(separator: " ")
            if let index = phrases[key] { return (index, length) }
            length -= 1
        }
        return nil
    }

    /// Laterality words: left, lt, l; right, rt, r; bilateral, bilat, bil, both, b/l; and
    /// those of the languages of `translations.tsv` (links, gauche, izquierda, sinistro, …).
    /// Abbreviations that are English words or abbreviations too (German re, li; Spanish
    /// der, sin; Italian dx, sx) are left out: a wrong side is worse than none.
    static func side(_ words: [String], at i: Int) -> (laterality: Laterality, length: Int)? {
        if let side = sideWords[words[i]] { return (side, 1) }
        if words[i] == "b" && i + 1 < words.count && words[i + 1] == "l" { return (.both, 2) }
        return nil
    }

    /// One hash lookup per word, where a `switch` over strings would compare them in turn.
    static let sideWords: [String: Laterality] = {
        var words: [String: Laterality] = [:]
        for (side, list) in [
            (Laterality.left, "left lt l lft links linke linker linken linkes gauche gauches izquierdo izquierda izquierdos izquierdas izq izqdo izqda izdo izda sinistro sinistra sinistri sinistre"),
            (.right, "right rt r rgt rechts rechte rechter rechten rechtes droit droite droits droites derecho derecha derechos derechas dcho dcha destro destra destri destre"),
            (.both, "bilateral bilat bil both bilaterally beidseits beidseitig beiderseits bds bilaterale bilaterales bilateraux bilaterali beiderzijds bdz dubbelzijdig"),
        ] {
            for word in list.split(separator: " ") { words[String(word)] = side }
        }
        return words
    }()

    /// Prefixes that writers separate from the term they belong to.
    static let splitPrefixes: Set<String> = ["peri", "fore", "supra", "infra", "sub", "inter", "intra", "para", "retro", "post", "pre"]

    /// A known single-word term with a side run into its front: `lbreast`, `rtbreast`,
    /// `leftbreast`. The term must be a whole known word of 4 letters or more.
    private func sidePrefixed(_ word: String) -> (Laterality, Int)? {
        // Every prefix starts with l or r: most words leave here.
        guard let first = word.utf8.first, first == UInt8(ascii: "l") || first == UInt8(ascii: "r") else { return nil }
        for (prefix, side) in [("left", Laterality.left), ("right", .right), ("lt", .left), ("rt", .right), ("l", .left), ("r", .right)]
        where word.count >= prefix.count + 4 && word.hasPrefix(prefix) {
            if let index = phrases[String(word.dropFirst(prefix.count))], index >= 0 { return (side, index) }
        }
        return nil
    }

    /// A near miss: a word one edit from a known single word (5 to 7 letters) or two edits
    /// (8 letters or more), counting a swap of neighbouring letters as one edit ("vagnia").
    /// Shorter words are left alone: too many real words lie one letter from a body part.
    ///
    /// A near miss counts only when no ordinary word is a closer reading: the word itself
    /// is not in the dictionary of English and clinical words ("tested", "breath" and
    /// "public" are words, not misspelt testes, breast and pubic), and, for two edits, no
    /// dictionary word is one edit away. A tie between two concepts is no match either.
    private func fuzzyMatch(_ word: String) -> (Int, Int)? {
        let n = word.utf8.count
        guard n >= 5, word.utf8.allSatisfy({ (0x61...0x7A).contains($0) }), !dictionaryWords.contains(word) else { return nil }
        let limit = n >= 8 ? 2 : 1
        let target = Array(word.utf8)
        let letters = Self.letterMask(target)
        var best: (concept: Int, distance: Int)?
        var tied = false
        for length in (n - limit)...(n + limit) {
            for candidate in fuzzyWords[length] ?? [] {
                // Each letter one word has and the other lacks costs at least one edit: a
                // cheap bound that spares most candidates the full distance.
                guard (letters & ~candidate.letters).nonzeroBitCount <= limit,
                      (candidate.letters & ~letters).nonzeroBitCount <= limit,
                      let d = Self.editDistance(target, candidate.bytes, limit: limit) else { continue }
                if best == nil || d < best!.distance {
                    best = (candidate.concept, d)
                    tied = false
                } else if d == best!.distance && candidate.concept != best!.concept {
                    tied = true
                }
            }
        }
        guard let best, !tied else { return nil }
        if best.distance == 2 && Self.oneEditAway(from: target).contains(where: dictionaryWords.contains) { return nil }
        return (best.concept, best.distance)
    }

    /// The set of letters a-z in `word`, one bit each.
    static func letterMask(_ word: [UInt8]) -> UInt32 {
        word.reduce(0) { mask, byte in (0x61...0x7A).contains(byte) ? mask | 1 << UInt32(byte - 0x61) : mask }
    }

    /// Every string one edit from `word` (a deletion, a swap of neighbours, a replacement or
    /// an insertion of a lower-case letter): a few hundred set lookups instead of a scan of
    /// the dictionary.
    static func oneEditAway(from word: [UInt8]) -> [String] {
        var out: [String] = []
        let letters = Array(UInt8(ascii: "a")...UInt8(ascii: "z"))
        for i in word.indices {
            var w = word
            w.remove(at: i)
            out.append(String(decoding: w, as: UTF8.self))
            if i + 1 < word.count {
                w = word
                w.swapAt(i, i + 1)
                out.append(String(decoding: w, as: UTF8.self))
            }
            for c in letters where c != word[i] {
                w = word
                w[i] = c
                out.append(String(decoding: w, as: UTF8.self))
            }
        }
        for i in 0...word.count {
            for c in letters {
                var w = word
                w.insert(c, at: i)
                out.append(String(decoding: w, as: UTF8.self))
            }
        }
        return out
    }

    /// Edit distance with swaps of neighbouring letters counted as one edit (optimal string
    /// alignment), or `nil` once it must exceed `limit`.
    static func editDistance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int? {
        if abs(a.count - b.count) > limit { return nil }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) <= limit ? max(a.count, b.count) : nil }
        let width = b.count + 1
        // Three rows in one scratch buffer on the stack: this runs for every candidate of
        // every unknown word, and heap allocations there cost more than the arithmetic.
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * width) { rows -> Int? in
            var beforePrevious = 0, previous = width, current = 2 * width
            for j in 0..<width { rows[previous + j] = j }
            var previousMin = 0
            for i in 1...a.count {
                rows[current] = i
                var rowMin = i
                for j in 1...b.count {
                    var cell = min(rows[previous + j] + 1, rows[current + j - 1] + 1, rows[previous + j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                    if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                        cell = min(cell, rows[beforePrevious + j - 2] + 1)
                    }
                    rows[current + j] = cell
                    rowMin = min(rowMin, cell)
                }
                // Every cell comes from the row above or, by a swap, the row above that: once
                // two rows in a row exceed the limit, every later row does.
                if rowMin > limit && previousMin > limit { return nil }
                previousMin = rowMin
                (beforePrevious, previous, current) = (previous, current, beforePrevious)
            }
            let distance = rows[previous + b.count]
            return distance <= limit ? distance : nil
        }
    }

    /// One result per concept; a region named on both sides becomes bilateral.
    static func merged(_ regions: [NormalizedRegion]) -> [NormalizedRegion] {
        var out: [NormalizedRegion] = []
        for r in regions {
            if let i = out.firstIndex(where: { $0.concept == r.concept }) {
                let a = out[i].laterality, b = r.laterality
                if a != b && a != .none && b != .none {
                    out[i] = NormalizedRegion(concept: r.concept, laterality: .both, match: out[i].match,
                                              confidence: out[i].confidence, exposure: out[i].exposure,
                                              matchedText: out[i].matchedText + " / " + r.matchedText)
                }
                continue
            }
            out.append(r)
        }
        return out
    }
}

extension String {
    var trimmingSpaces: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// What the bytes of an input could be, gathered in one pass.
struct InputShape {
    var count = 0
    var digits = 0
    var hasUnderscore = false
    var onlyUpperAndUnderscore = true

    mutating func add(_ byte: UInt8) {
        count += 1
        if (0x30...0x39).contains(byte) { digits += 1 }
        if byte == UInt8(ascii: "_") { hasUnderscore = true }
        if !((0x41...0x5A).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: " ")) { onlyUpperAndUnderscore = false }
    }

    /// SNOMED CT ids have at least 6 digits; SNOMED-RT ids at least one.
    var mayBeCode: Bool { digits > 0 && count <= 64 }
    /// Detector labels are upper-case words joined by underscores.
    var mayBeDetectorLabel: Bool { hasUnderscore && onlyUpperAndUnderscore }
}
