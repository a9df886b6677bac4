import Foundation
import Veil
import VeilDICOMweb
import VeilVocabulary

/// The inputs of `veil score`, produced lazily so that memory does not grow with the size of
/// the backlog: folders are walked depth-first, each folder's entries sorted, and manifests
/// are read line by line.
struct InputWalker: Sequence, IteratorProtocol {
    struct Input: Sendable {
        var path: String
        /// Named on the command line or in a manifest (always gets a record), rather than
        /// found while walking a folder.
        var named: Bool
        /// Why the walk could not use this entry (a folder it cannot list): an error record.
        var problem: String? = nil
        /// The bytes, already retrieved from an archive, instead of a file to read at `path`.
        var data: Data? = nil
        /// The archive instance this input is: its UIDs go into every record of it, even an
        /// error record, and `--shard` and `--resume` go by its SOP Instance UID.
        var instance: InstanceReference? = nil
        /// Why the archive did not deliver it (a kind and a message): an error record.
        var remoteFailure: (kind: String, message: String)? = nil

        /// What `--shard` hashes.
        var shardKey: String { instance?.sopInstanceUID ?? path }
    }

    private var roots: [String]
    private var manifest: ManifestReader?
    /// Pending folder entries, deepest folder last.
    private var stack: [[String]] = []
    /// The folder named on the command line being walked, and how many files it held so far.
    private var currentRoot: (path: String, files: Int)?
    /// Whether to keep quiet about empty folders (for a counting pass).
    private let quiet: Bool
    /// Folders already walked, by device and inode: a link back to one (`dot -> .`) would
    /// otherwise be walked again and again.
    private var visited = Set<FileIdentity>()

    /// A folder in a manifest is named like a file, and gets an error record: a manifest
    /// lists files, and walking a folder there would hide a mistake in how it was made.
    init(paths: [String], manifest: String?, quiet: Bool = false) throws {
        roots = paths.reversed()
        self.manifest = try manifest.map(ManifestReader.init)
        self.quiet = quiet
    }

    mutating func next() -> Input? {
        while true {
            // Inside a folder: its remaining entries, files yielded, subfolders descended.
            while var level = stack.last {
                guard let path = level.popLast() else { stack.removeLast(); continue }
                stack[stack.count - 1] = level
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                    // A link to nothing is named like a file someone meant to keep: say so.
                    if (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil {
                        currentRoot?.files += 1
                        return Input(path: path, named: false, problem: "a link to a file that does not exist, or a loop of links")
                    }
                    continue
                }
                if isDirectory.boolValue {
                    if let problem = push(folder: path) { return Input(path: path, named: false, problem: problem) }
                } else {
                    currentRoot?.files += 1
                    return Input(path: path, named: false)
                }
            }
            if let root = currentRoot, root.files == 0, !quiet {
                warn("warning: the folder \(root.path) holds no files")
            }
            currentRoot = nil
            if let path = roots.popLast() {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                    currentRoot = (path, 0)
                    if let problem = push(folder: path) {
                        currentRoot = nil
                        return Input(path: path, named: true, problem: problem)
                    }
                    continue
                }
                return Input(path: path, named: true)
            }
            if let line = manifest?.nextPath() { return Input(path: line, named: true) }
            return nil
        }
    }

    /// Queues a folder's entries; returns why it cannot be listed, if it cannot.
    private mutating func push(folder: String) -> String? {
        guard let identity = FileIdentity(folder), visited.insert(identity).inserted else {
            if !quiet { warn("warning: \(folder) leads back to a folder already walked; not walked again") }
            return nil
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            return "cannot list the folder: " + plainReason(error)
        }
        // Reversed, so that popLast yields them in sorted order.
        stack.append(names.sorted(by: >).map { (folder as NSString).appendingPathComponent($0) })
        return nil
    }
}

/// Reads a manifest (one path per line; `-` for standard input) a chunk at a time; the
/// library's ``InputManifest`` says what a line means.
final class ManifestReader {
    private let handle: FileHandle
    private var parser = InputManifest()
    private var finished = false

    init(_ path: String) throws {
        if path == "-" {
            handle = .standardInput
        } else {
            guard let h = FileHandle(forReadingAtPath: path) else {
                throw CommandFailure(FileManager.default.fileExists(atPath: path) ? .usage : .noInput, "cannot read the manifest \(path)")
            }
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                throw CommandFailure(.usage, "the manifest \(path) is a folder; a manifest lists one path per line")
            }
            handle = h
        }
    }

    /// The next path; a manifest that cannot be read, or holds a NUL byte (a `find -print0`
    /// list, which is not one path per line), ends the run with 64 rather than being read wrong.
    func nextPath() -> String? {
        while true {
            if let path = parser.nextPath(atEnd: finished) {
                if path.utf8.contains(0) {
                    warn("the manifest holds a NUL byte: give one path per line (find -print, not -print0)")
                    Foundation.exit(ExitStatus.usage.rawValue)
                }
                return path
            }
            if finished { return nil }
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 16) ?? Data() } catch {
                warn("cannot read the manifest: \(error.localizedDescription)")
                Foundation.exit(ExitStatus.usage.rawValue)
            }
            if chunk.isEmpty { finished = true } else { parser.append(chunk) }
        }
    }
}

/// `--shard K/N`: a deterministic part of the inputs by a stable hash of the path as given,
/// so N machines running shards 0…N-1 over the same inputs cover each exactly once.
struct Shard {
    var index: Int
    var count: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/").map { Int($0) }
        guard parts.count == 2, let k = parts[0], let n = parts[1], n >= 1, (0..<n).contains(k) else { return nil }
        index = k
        count = n
    }

    func contains(_ path: String) -> Bool {
        // FNV-1a, 64-bit: stable across machines and runs, unlike Swift's seeded Hasher.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash % UInt64(count) == UInt64(index)
    }
}
