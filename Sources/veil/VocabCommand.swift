import ArgumentParser
import Foundation
import Veil
import VeilImage
import VeilPolicy
import VeilVocabulary

struct VocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocab",
        abstract: "Normalize body-part names to Veil's coded vocabulary, or list it.",
        subcommands: [Normalize.self, List.self]
    )

    /// The JSON shape of one normalized region (also one JSONL line of `--file`).
    struct RegionRecord: Encodable {
        var input: String
        var snomed: String?
        var meaning: String?
        var bodyPartExamined: String?
        var laterality: String?
        var sensitivity: String
        var match: String
        var confidence: Double
        var exposure: String?
        var matchedText: String
        /// The CID 901 detail that labels images of the region (DICOM sensitive content).
        var contentDetail: Code?
        /// The CID 900 category its sensitivity class implies.
        var contentCategory: Code?

        /// A sensitive content code in the record: scheme, value and meaning, and for a
        /// detail whether it is the nearest broader member rather than the region's own.
        struct Code: Encodable {
            var scheme: String
            var value: String
            var meaning: String
            var broader: Bool?

            init(_ code: SensitiveContentCode, broader: Bool? = nil) {
                scheme = code.scheme
                value = code.value
                meaning = code.meaning
                self.broader = broader
            }
        }

        init(input: String, region r: NormalizedRegion) {
            self.input = input
            snomed = r.concept?.snomed
            meaning = r.concept?.meaning
            bodyPartExamined = r.concept?.bodyPartExamined
            laterality = r.laterality == .none ? nil : r.laterality.rawValue
            sensitivity = (r.concept?.sensitivity ?? .none).rawValue
            match = r.match.rawValue
            confidence = (r.confidence * 1000).rounded() / 1000
            exposure = r.exposure?.rawValue
            matchedText = r.matchedText
            contentDetail = r.concept?.contentDetail.map { Code($0.code, broader: $0.broader) }
            contentCategory = r.concept?.contentCategory.map { Code($0) }
        }
    }

    struct Normalize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Normalize body-part names: free text, Body Part Examined terms, SNOMED codes, detector labels.",
            usage: "veil vocab normalize [<inputs> ...] [--file <file>] [--json]\n     [--tables <tables>]",
            discussion: """
            Each input may name several regions; each gets its own result. An input that names \
            no known region gets one result with match "none": Veil prefers unknown to wrong.

            Examples:
              veil vocab normalize "PHOTO L BREAST WOUND DAY 3" KNEE SRT:T-04000 \\
                FEMALE_BREAST_EXPOSED
              veil vocab normalize --json "bilat groin rash"
              veil vocab normalize --file descriptions.txt > regions.jsonl
            """
        )

        @Argument(help: "Names to normalize.")
        var inputs: [String] = []

        @Option(help: "Read one name per line from this file ('-': standard input) and write one JSON line per input line: the input and the list of regions it names (empty for a blank line). Lines that are not UTF-8 are read as Latin-1, with a warning naming them.")
        var file: String?

        @Option(help: "Load the vocabulary tables from this folder instead of those shipped with Veil: to try edited tables without rebuilding.")
        var tables: String?

        @ArgumentParser.Flag(help: "Print JSON instead of a table.")
        var json = false

        mutating func validate() throws {
            if inputs.isEmpty && file == nil { throw ValidationError("Give names to normalize, or --file.") }
            if !inputs.isEmpty && file != nil { throw ValidationError("Give names or --file, not both.") }
        }

        func run() throws {
            let vocabulary: Vocabulary
            do {
                vocabulary = try tables.map { try Vocabulary(resources: URL(fileURLWithPath: $0)) } ?? Vocabulary.standard()
            } catch let error as VocabularyError {
                throw CommandFailure(.usage, "\(tables.map { "--tables \($0)" } ?? "the vocabulary"): \(error)")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let file {
                let data: Data
                if file == "-" {
                    data = FileHandle.standardInput.readDataToEndOfFile()
                } else {
                    var isFolder: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: file, isDirectory: &isFolder) else {
                        throw CommandFailure(.noInput, "cannot read \(file): no such file")
                    }
                    guard !isFolder.boolValue, let contents = FileManager.default.contents(atPath: file) else {
                        throw CommandFailure(.noInput, "cannot read \(file): " + (isFolder.boolValue ? "it is a folder" : "permission denied or unreadable"))
                    }
                    data = contents
                }
                // One output line per input line, so that results line up with their inputs
                // (`paste` works); a compound region without a single code carries a list.
                struct LineRecord: Encodable { var input: String; var regions: [RegionRecord] }
                var output = Data()
                var inputLines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
                if inputLines.last?.isEmpty == true { inputLines.removeLast() }  // the final line end
                var latin1: [Int] = []
                for (n, raw) in inputLines.enumerated() {
                    let bytes = Array(raw.last == 0x0D ? raw.dropLast() : raw)  // CRLF, as Excel writes
                    // An archive's export in Latin-1 ("Gesäß" as one byte per letter) is read
                    // line by line rather than refused whole: every byte is a Latin-1 letter.
                    var input: String
                    if let utf8 = String(validating: bytes, as: UTF8.self) {
                        input = utf8
                    } else {
                        input = String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
                        latin1.append(n + 1)
                    }
                    let regions = input.trimmingCharacters(in: .whitespaces).isEmpty ? [] : vocabulary.normalize(input)
                    output.append(try encoder.encode(LineRecord(input: input, regions: regions.map { RegionRecord(input: input, region: $0) })))
                    output.append(0x0A)
                }
                if !latin1.isEmpty {
                    warn("\(file == "-" ? "standard input" : file): \(latin1.count) line(s) not UTF-8, read as Latin-1 (line \(latin1.prefix(5).map(String.init).joined(separator: ", "))\(latin1.count > 5 ? ", …" : ""))")
                }
                try StandardOutput.write(output)
                return
            }
            var records: [RegionRecord] = []
            for input in inputs {
                records += vocabulary.normalize(input).map { RegionRecord(input: input, region: $0) }
            }
            if json {
                encoder.outputFormatting.insert(.prettyPrinted)
                try StandardOutput.line(String(decoding: try encoder.encode(records), as: UTF8.self))
                return
            }
            for r in records {
                let concept = r.snomed.map { "\($0) \(r.meaning ?? "")" } ?? "-"
                let side = r.laterality.map { " [\($0)]" } ?? ""
                let exposure = r.exposure.map { " (\($0))" } ?? ""
                // The DICOM labels: category, then detail (marked when it is a broader member).
                let labels = [r.contentCategory.map { "\($0.scheme):\($0.value) \($0.meaning)" },
                              r.contentDetail.map { "\($0.scheme):\($0.value) \($0.meaning)" + ($0.broader == true ? " (broader)" : "") }]
                    .compactMap { $0 }.joined(separator: "; ")
                try StandardOutput.line("\(r.input)\t→ \(concept)\(side)\(exposure)\t\(r.sensitivity)\t\(r.match) \(r.confidence)"
                                        + (labels.isEmpty ? "" : "\t\(labels)"))
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every concept: SNOMED CT code, meaning, Body Part Examined term, sensitivity.")

        @ArgumentParser.Flag(help: "Print JSON lines.")
        var json = false

        func run() throws {
            let vocabulary = try Vocabulary.standard()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for c in vocabulary.concepts {
                if json {
                    struct Row: Encodable { var snomed, meaning: String; var bodyPartExamined, snomedRT: String?; var paired: Bool; var sensitivity: String }
                    let row = Row(snomed: c.snomed, meaning: c.meaning, bodyPartExamined: c.bodyPartExamined, snomedRT: c.snomedRT,
                                  paired: c.isPaired, sensitivity: c.sensitivity.rawValue)
                    try StandardOutput.line(String(decoding: try encoder.encode(row), as: UTF8.self))
                } else {
                    try StandardOutput.line("\(c.snomed)\t\(c.meaning)\t\(c.bodyPartExamined ?? "")\t\(c.sensitivity.rawValue)")
                }
            }
        }
    }
}
