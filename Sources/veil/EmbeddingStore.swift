import Foundation
import Veil
import VeilEngine

/// The files of `veil embed`: a safetensors file holding one matrix, `embeddings`
/// (images × features, float32), and beside it a JSON-lines index whose first line names the
/// backbone and whose every other line names one row: `{"row", "sha256", "path", "frame"}`.
/// A data scientist loads them with `safetensors` and `pandas`.
///
/// While a run goes on, rows go to `OUT.partial` and index lines to the index, data first:
/// a run stopped at any point resumes from the rows the index lists (extra data is cut).
/// At the end the partial data becomes the safetensors file, written to a temporary file and
/// renamed into place.
struct EmbeddingStore {
    /// The backbone whose embeddings a file holds; a head fitted on them must run on it.
    struct Backbone: Codable, Equatable {
        var name: String
        var version: String
        var weightsSHA256: String
        var embedding: String
    }

    struct Row: Codable {
        var row: Int
        var sha256: String
        var path: String
        var frame: Int?
    }

    struct Header: Codable {
        var format = "veil-embeddings"
        var backbone: Backbone
        var length: Int
    }

    /// `emb.safetensors` → `emb.jsonl`.
    static func indexPath(for path: String) -> String {
        (path as NSString).deletingPathExtension + ".jsonl"
    }

    let path: String
    let backbone: Backbone
    let length: Int
    private(set) var rows: [Row] = []
    private var data: FileHandle
    private var index: FileHandle
    /// The descriptor holding the advisory lock on `OUT.lock` for the run's life.
    private let lock: Int32

    var partialPath: String { path + ".partial" }
    var lockPath: String { path + ".lock" }

    /// A path made absolute against the working folder.
    static func canonical(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    /// Opens `path` for writing: fresh, or, with `resume`, continuing the rows already there.
    ///
    /// - Throws: `CommandFailure` for an existing file without `resume` (64), an index of
    ///   another backbone or format (64), or files that cannot be read or written (73).
    init(path: String, backbone: Backbone, length: Int, resume: Bool) throws {
        guard path.hasSuffix(".safetensors") else {
            throw CommandFailure(.usage, "--out \(path) must end in .safetensors; the index is written beside it as .jsonl")
        }
        self.path = path
        self.backbone = backbone
        self.length = length
        let indexPath = Self.indexPath(for: path)
        let fm = FileManager.default
        // The folder of --out is made, as other commands' outputs are.
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do { try fm.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw CommandFailure(.outputFailed, "cannot create \(folder): \(plainReason(error))")
            }
        }
        // One run per --out at a time: two would interleave rows and index lines.
        lock = open(path + ".lock", O_CREAT | O_RDWR, 0o644)
        guard lock >= 0 else { throw CommandFailure(.outputFailed, "cannot write \(path).lock: \(String(cString: strerror(errno)))") }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            throw CommandFailure(.usage, "another veil embed is writing \(path) (its lock \(path).lock is held); wait for it, or give another --out")
        }
        var exists = fm.fileExists(atPath: indexPath) || fm.fileExists(atPath: path) || fm.fileExists(atPath: path + ".partial")
        // A run that embedded nothing left nothing worth keeping: it does not block the next.
        if exists, !fm.fileExists(atPath: path + ".partial"),
           let text = try? String(contentsOfFile: indexPath, encoding: .utf8), text.split(separator: "\n").count <= 1 {
            exists = false
        }
        if exists && !resume {
            throw CommandFailure(.usage, "\(path) or its index \(indexPath) exists; give --resume to continue it, or remove them")
        }
        var rows: [Row] = []
        var existingData: Data?
        if exists {
            let text = (try? String(contentsOfFile: indexPath, encoding: .utf8)) ?? ""
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            // What follows the last line end is empty, or a line a stopped run cut short: its
            // row is written again.
            if !lines.isEmpty { lines.removeLast() }
            guard let first = lines.first, let header = try? JSONDecoder().decode(Header.self, from: Data(first.utf8)),
                  header.format == "veil-embeddings" else {
                throw CommandFailure(.usage, "\(indexPath) is not the index of a veil embed run; cannot resume it")
            }
            guard header.backbone == backbone, header.length == length else {
                throw CommandFailure(.usage, "\(indexPath) holds embeddings of \(header.backbone.name) \(header.backbone.version) (weights \(header.backbone.weightsSHA256.prefix(12))…), not of the loaded \(backbone.name) \(backbone.version); cannot resume it")
            }
            for (n, line) in lines.dropFirst().enumerated() {
                guard let row = try? JSONDecoder().decode(Row.self, from: Data(line.utf8)), row.row == n else {
                    throw CommandFailure(.usage, "\(indexPath) line \(n + 2) is not row \(n) of the index; cannot resume it")
                }
                rows.append(row)
            }
            let need = rows.count * length * 4
            if let partial = fm.contents(atPath: path + ".partial"), partial.count >= need {
                existingData = partial.prefix(need)
            } else if fm.fileExists(atPath: path) {
                let file: SafeTensorsFile
                do { file = try SafeTensorsFile(path: path) } catch { throw CommandFailure(.usage, "\(error)") }
                let values = try Self.matrix(file, length: length).values
                guard values.count >= rows.count * length else {
                    throw CommandFailure(.usage, "\(path) holds data for \(values.count / length) rows, its index lists \(rows.count); cannot resume it")
                }
                existingData = Self.bytes(values[0..<(rows.count * length)])
            } else if !rows.isEmpty {
                let have = (fm.contents(atPath: path + ".partial")?.count ?? 0) / (4 * length)
                throw CommandFailure(.usage, "\(indexPath) lists \(rows.count) rows, but \(path).partial holds data for \(have) and \(path) does not exist; cannot resume it")
            }
        }
        self.rows = rows
        do {
            try (existingData ?? Data()).write(to: URL(fileURLWithPath: path + ".partial"))
            let indexText = try ([Self.line(Header(backbone: backbone, length: length))] + rows.map { try Self.line($0) }).joined()
            try Data(indexText.utf8).write(to: URL(fileURLWithPath: indexPath))
            data = try FileHandle(forWritingTo: URL(fileURLWithPath: path + ".partial"))
            index = try FileHandle(forWritingTo: URL(fileURLWithPath: indexPath))
            try data.seekToEnd()
            try index.seekToEnd()
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(.outputFailed, "cannot write \(path): \(plainReason(error))")
        }
    }

    /// Paths already embedded, for a resumed run to skip.
    var donePaths: Set<String> { Set(rows.map(\.path)) }

    /// Appends one image's rows (one per frame): data first, then the index lines.
    mutating func append(sha256: String, path: String, embeddings: [[Float]], frames: Bool) throws {
        var newRows: [Row] = []
        var bytes = Data()
        for (i, e) in embeddings.enumerated() {
            newRows.append(Row(row: rows.count + i, sha256: sha256, path: path, frame: frames ? i + 1 : nil))
            bytes.append(Self.bytes(e[...]))
        }
        do {
            try data.write(contentsOf: bytes)
            try index.write(contentsOf: Data(newRows.map { try Self.line($0) }.joined().utf8))
        } catch {
            throw CommandFailure(.outputFailed, "cannot write \(self.path): \(plainReason(error))")
        }
        rows += newRows
    }

    /// Turns the partial data into the safetensors file, atomically, and removes it.
    func finish() throws {
        do {
            try data.synchronize()
            try data.close()
            try index.synchronize()
            try index.close()
            let metadata = ["format": "veil-embeddings", "backbone": backbone.name, "backboneVersion": backbone.version,
                            "backboneWeightsSHA256": backbone.weightsSHA256, "tensor": backbone.embedding]
            // The header, then the data copied in chunks: a backlog's embeddings need not fit
            // in memory.
            let headerBytes = try Self.header(rows: rows.count, length: length, metadata: metadata)
            let temporary = path + ".veil-partial-\(UUID().uuidString)"
            try headerBytes.write(to: URL(fileURLWithPath: temporary))
            let out = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            try out.seekToEnd()
            let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: partialPath))
            while let chunk = try source.read(upToCount: 1 << 22), !chunk.isEmpty { try out.write(contentsOf: chunk) }
            try source.close()
            try out.synchronize()
            try out.close()
            guard rename(temporary, path) == 0 else {
                try? FileManager.default.removeItem(atPath: temporary)
                throw CocoaError(.fileWriteUnknown)
            }
            try FileManager.default.removeItem(atPath: partialPath)
            try? FileManager.default.removeItem(atPath: lockPath)
            close(lock)
        } catch {
            throw CommandFailure(.outputFailed, "cannot write \(path): \(plainReason(error))")
        }
    }

    /// A safetensors header for one F32 tensor `embeddings` of `rows × length`, padded so
    /// that the data starts 8-byte aligned.
    static func header(rows: Int, length: Int, metadata: [String: String]) throws -> Data {
        let object: [String: Any] = ["__metadata__": metadata,
                                     "embeddings": ["dtype": "F32", "shape": [rows, length], "data_offsets": [0, rows * length * 4]]]
        var json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var out = Data()
        var size = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &size) { out.append(contentsOf: $0) }
        out.append(json)
        return out
    }

    /// Reads a finished store of `expected`'s embeddings: its rows and matrix.
    static func load(_ path: String, expecting expected: Backbone) throws -> (rows: [Row], values: [Float], length: Int) {
        let indexPath = Self.indexPath(for: path)
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure(.noInput, "\(path): no such file" + (FileManager.default.fileExists(atPath: path + ".partial")
                ? " (a veil embed run did not finish: give it --resume)" : ""))
        }
        guard let text = try? String(contentsOfFile: indexPath, encoding: .utf8) else {
            throw CommandFailure(.noInput, "\(indexPath): cannot read the index of \(path)")
        }
        let lines = text.split(separator: "\n")
        guard let first = lines.first, let header = try? JSONDecoder().decode(Header.self, from: Data(first.utf8)) else {
            throw CommandFailure(.usage, "\(indexPath) is not the index of a veil embed run")
        }
        guard header.backbone == expected else {
            throw CommandFailure(.usage, "\(path) holds embeddings of \(header.backbone.name) \(header.backbone.version) (weights \(header.backbone.weightsSHA256.prefix(12))…), not of the loaded \(expected.name) \(expected.version) (weights \(expected.weightsSHA256.prefix(12))…); embed the images again")
        }
        let rows = try lines.dropFirst().enumerated().map { n, line in
            guard let row = try? JSONDecoder().decode(Row.self, from: Data(line.utf8)) else {
                throw CommandFailure(.usage, "\(indexPath) line \(n + 2) is not a row of the index")
            }
            return row
        }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw CommandFailure(.usage, "\(error)") }
        let matrix = try matrix(file, length: header.length)
        guard matrix.values.count == rows.count * header.length else {
            throw CommandFailure(.usage, "\(path) holds \(matrix.values.count / max(1, header.length)) rows, its index \(rows.count)")
        }
        guard file.metadata["backboneWeightsSHA256"] == header.backbone.weightsSHA256 else {
            throw CommandFailure(.usage, "\(path) and its index \(indexPath) name different backbones")
        }
        return (rows, matrix.values, header.length)
    }

    private static func matrix(_ file: SafeTensorsFile, length: Int) throws -> (shape: [Int], values: [Float]) {
        let matrix: (shape: [Int], values: [Float])
        do { matrix = try file.floats("embeddings") } catch { throw CommandFailure(.usage, "\(error)") }
        guard matrix.shape.count == 2, matrix.shape[1] == length else {
            throw CommandFailure(.usage, "\(file.path): 'embeddings' is \(matrix.shape), not rows × \(length)")
        }
        return matrix
    }

    private static func bytes(_ values: ArraySlice<Float>) -> Data {
        var out = Data(capacity: values.count * 4)
        for v in values {
            var bits = v.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
        }
        return out
    }

    private static func line<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }
}
