import Foundation

/// The `veil` executable the tests run: built into the same products folder as the test binary.
public enum VeilExecutable {
    public static let url: URL = {
        var products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: products.appendingPathComponent("veil").path), products.path != "/" {
            products.deleteLastPathComponent()
        }
        return products.appendingPathComponent("veil")
    }()
}

/// What one run of `veil` printed, and how it ended.
public struct VeilRun: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    /// Standard output's JSON lines, each as an object.
    public var records: [[String: Any]] {
        stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

extension VeilExecutable {
    /// Runs `veil` with `arguments` in `directory` to the end; `environment` adds to (or,
    /// with nil, removes from) the test's own.
    public static func run(_ arguments: [String], environment: [String: String?] = [:], directory: URL? = nil) throws -> VeilRun {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (key, value) in environment { merged[key] = value }
            process.environment = merged
        }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Standard error is drained on its own thread, so that neither pipe can fill and stall the run.
        let errors = ErrorDrain(err.fileHandleForReading)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return VeilRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: errors.wait(), as: UTF8.self))
    }
}

/// Reads a pipe to its end on a thread of its own.
private final class ErrorDrain: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
