import ArgumentParser
import Foundation
import VeilPolicy
import VeilReview

/// Standard output with every write checked. `print` buffers and drops errors, so a full
/// disk or a closed pipe would lose records while `veil` exits 0; here any failed write
/// ends the command with exit code 73 and a message on standard error.
///
/// SIGPIPE is ignored at start-up (``VeilCommand/main()``), so a closed pipe is a write
/// error (EPIPE) rather than a silent death by signal.
struct StandardOutput {
    private var buffer = Data()

    /// Queues a line; written once 64 KiB are waiting, and by ``finish()``.
    mutating func line(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Writes what is queued.
    mutating func flush() throws {
        try Self.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is queued; call once at the end, so that the last write is checked too.
    mutating func finish() throws { try flush() }

    /// Writes `data` to standard output now, all of it, or throws exit code 73.
    static func write(_ data: Data) throws {
        try write(data, to: STDOUT_FILENO, name: "standard output")
    }

    /// Writes all of `data` to `fd`, retrying short writes and interrupts.
    static func write(_ data: Data, to fd: Int32, name: String) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    throw CommandFailure(.outputFailed, "cannot write to \(name): \(reason)")
                }
                offset += written
            }
        }
    }

    /// One line at once, for commands that print little.
    static func line(_ text: String) throws {
        try write(Data((text + "\n").utf8))
    }
}

/// A message to the operator on standard error. Its failures are ignored: there is nowhere
/// left to report them. (FileHandle.standardError.write traps on a closed pipe, which made
/// `veil … 2>&1 | head -1` die by SIGILL.)
func warn(_ message: String) {
    writeToStandardError("veil: \(message)\n")
}

/// Writes `text` to standard error as far as it can; errors are ignored.
func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { Foundation.write(STDERR_FILENO, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { return }
        bytes = bytes.dropFirst(written)
    }
}

/// The lines of a text file, whatever its line ends: LF, or CRLF as Excel and Python's csv
/// module write them. (Swift reads "\r\n" as one Character, so splitting on "\n" alone
/// finds no line break at all in a CRLF file.)
func lines(_ text: String) -> [Substring] {
    text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
}

/// A file's device and inode: the same file whatever path or link names it.
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64

    /// The identity of what `path` names (links followed), or nil if nothing is there.
    init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}

/// Refuses an output that is one of the command's inputs: writing it would destroy what is
/// being read (a photo, a manifest, a policy, a truth file) and still exit 0. Unless
/// `mayBeALedger` (for `--ledger` itself), an existing SQLite file is refused too.
func refuseOverwriting(_ output: String?, option: String, inputs: [String?], mayBeALedger: Bool = false) throws {
    guard let output else { return }
    let target = FileIdentity(output), resolved = URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath().path
    for case let input? in inputs {
        // By identity when both exist; by resolved path when one is yet to be created.
        let same = target.map { FileIdentity(input) == $0 }
            ?? (URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath().path == resolved)
        if same {
            throw CommandFailure(.usage, "\(option) \(output) is the same file as \(input): it would be overwritten")
        }
    }
    // A review ledger is append-only evidence: no output replaces one, even one this run
    // does not name.
    var info = stat()
    if !mayBeALedger, stat(output, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
       let handle = FileHandle(forReadingAtPath: output), let head = try? handle.read(upToCount: 16),
       head == Data("SQLite format 3\0".utf8) {
        throw CommandFailure(.usage, "\(option) \(output) is an SQLite database (a review ledger?); it would be overwritten")
    }
}

/// Writes a whole file (a preview, a report) by writing a new file and renaming it into
/// place, so that a reader never sees half of it. A link is followed to the file it names;
/// a path that holds something other than a regular file (a device, a pipe, a folder) is
/// refused rather than replaced.
func writeWholeFile(_ data: Data, to path: String) throws {
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath()
    var info = stat()
    if stat(resolved.path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
        throw CommandFailure(.outputFailed, "cannot write \(path): it is not a regular file")
    }
    do { try data.write(to: resolved, options: .atomic) } catch {
        throw CommandFailure(.outputFailed, "cannot write \(path): \(plainReason(error))")
    }
}

/// The operating system's own words for a Foundation file error ("Permission denied"),
/// rather than "The operation could not be completed (NSCocoaErrorDomain error 256)".
func plainReason(_ error: Error) -> String {
    if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    return error.localizedDescription
}

/// In this module `Flag` is Veil's flag name; swift-argument-parser's property wrapper is
/// written `@ArgumentParser.Flag`.
typealias Flag = VeilPolicy.Flag

/// Flags are named on the command line as in policy files: `--flag nudity`.
extension VeilPolicy.Flag: ExpressibleByArgument {
    public init?(argument: String) {
        guard !argument.isEmpty else { return nil }
        self.init(rawValue: argument)
    }
}

/// `--format` of `veil score` and `veil review export`.
enum RecordFormat: String, CaseIterable, ExpressibleByArgument {
    case jsonl, csv
}

/// `--fit-calibration` of `veil tune`.
enum CalibrationMethod: String, CaseIterable, ExpressibleByArgument {
    case platt, isotonic
}

/// `--state` of `veil review list`.
extension ReviewState: ExpressibleByArgument {}

/// `--threshold FLAG=VALUE` of `veil score`: one run's review threshold for one flag.
struct ThresholdOverride: ExpressibleByArgument {
    var flag: Flag
    var value: Double

    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, let value = Double(parts[1]), (0...1).contains(value) else { return nil }
        flag = Flag(parts[0])
        self.value = value
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// `--shard K/N`: the part of the inputs this run scores.
extension Shard: ExpressibleByArgument {
    init?(argument: String) { self.init(argument) }
}
