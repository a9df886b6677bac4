import Foundation
import VeilDICOMweb

/// A real Orthanc (Debian's `orthanc` and `orthanc-dicomweb`, installed by the README's test
/// command) on a loopback port, with a storage folder of its own, its DICOMweb plugin on and
/// HTTP authentication on. Stopped by `stop()`; its folder is removed then.
final class OrthancServer: @unchecked Sendable {
    static let executable = "/usr/sbin/Orthanc"
    static let plugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"

    let port: Int
    let folder: URL
    let user = "veil-test"
    let password = "pw-" + UUID().uuidString.prefix(12)
    private var process: Process?

    /// The PEM certificate presented on `tlsPort`, when there is one.
    let certificate: URL?
    /// Where HTTPS is served, when it is.
    let tlsPort: Int?
    private var terminator: Process?

    /// The DICOMweb root: `http://127.0.0.1:PORT/dicom-web`, or `https://…` on `tlsPort`.
    var dicomweb: String {
        tlsPort.map { "https://127.0.0.1:\($0)/dicom-web" } ?? "http://127.0.0.1:\(port)/dicom-web"
    }
    /// A credentials file for `--credentials-file`.
    let credentialsFile: URL

    /// Starts Orthanc. `overwrite` is Orthanc's OverwriteInstances: whether a stored
    /// instance replaces one with the same SOP Instance UID.
    /// With `tls`, HTTPS is served too, on `tlsPort`, with a new self-signed certificate for
    /// 127.0.0.1 (made by openssl). socat terminates the TLS in front of Orthanc, as a reverse
    /// proxy would in a hospital: Debian's Orthanc 1.10 crashes (SIGSEGV in a civetweb
    /// worker) on the first HTTPS connection it serves itself.
    init(overwrite: Bool = true, tls: Bool = false) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable), FileManager.default.fileExists(atPath: Self.plugin) else {
            throw LoopbackSocket.Failure(description: "Orthanc and its DICOMweb plugin are not installed: run the README's test command (bash scripts/test.sh), which installs orthanc and orthanc-dicomweb")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-orthanc-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("storage"), withIntermediateDirectories: true)
        credentialsFile = folder.appendingPathComponent("credentials")
        try Data("\(user):\(password)\n".utf8).write(to: credentialsFile)
        port = try LoopbackSocket.unusedPort()
        certificate = tls ? folder.appendingPathComponent("certificate.pem") : nil
        tlsPort = tls ? try LoopbackSocket.unusedPort() : nil
        let configuration: [String: Any] = [
            "Name": "veil-test", "StorageDirectory": folder.appendingPathComponent("storage").path,
            "IndexDirectory": folder.appendingPathComponent("storage").path,
            "Plugins": [Self.plugin], "HttpPort": port, "RemoteAccessAllowed": false,
            "AuthenticationEnabled": true, "RegisteredUsers": [user: password],
            "DicomServerEnabled": false, "OverwriteInstances": overwrite, "HttpDescribeErrors": true,
            "DicomWeb": ["Enable": true, "Root": "/dicom-web/", "EnableWado": false],
        ]
        if let certificate {
            let key = folder.appendingPathComponent("key.pem")
            try Self.runTool("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                                                  "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key.path, "-out", certificate.path])
        }
        try JSONSerialization.data(withJSONObject: configuration).write(to: folder.appendingPathComponent("orthanc.json"))
        try start()
    }

    /// Starts (or restarts) the server on the same port and storage, and waits until it answers.
    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = [folder.appendingPathComponent("orthanc.json").path]
        let log = folder.appendingPathComponent("orthanc.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
        if let tlsPort, let certificate, terminator?.isRunning != true {
            let terminator = Process()
            terminator.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
            terminator.arguments = ["OPENSSL-LISTEN:\(tlsPort),bind=127.0.0.1,reuseaddr,fork,verify=0,cert=\(certificate.path),key=\(folder.appendingPathComponent("key.pem").path)",
                                    "TCP:127.0.0.1:\(port)"]
            terminator.standardOutput = handle
            terminator.standardError = handle
            try terminator.run()
            self.terminator = terminator
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning {
                throw LoopbackSocket.Failure(description: "Orthanc exited at start: \(String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self).suffix(4000))")
            }
            if answers() { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw LoopbackSocket.Failure(description: "Orthanc did not answer on port \(port) within 30 s")
    }

    /// Stops the server, keeping its storage, so that `start()` can bring it back. With
    /// SIGKILL, as a crash would: the test runner's threads block SIGTERM, and the server
    /// inherits that mask, so it would never see a polite request to stop.
    func pause() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func stop() {
        pause()
        if let terminator, terminator.isRunning {
            kill(terminator.processIdentifier, SIGKILL)
            terminator.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    deinit { stop() }

    private func answers() -> Bool {
        if let tlsPort {
            guard let fd = try? LoopbackSocket.connect(port: tlsPort) else { return false }
            close(fd)
        }
        guard let fd = try? LoopbackSocket.connect(port: port) else { return false }
        defer { close(fd) }
        let basic = Data("\(user):\(password)".utf8).base64EncodedString()
        guard LoopbackSocket.send(fd, Data("GET /system HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic \(basic)\r\nConnection: close\r\n\r\n".utf8)) else { return false }
        return String(decoding: LoopbackSocket.readToEnd(fd).prefix(12), as: UTF8.self) == "HTTP/1.1 200"
    }

    /// Runs a tool to the end; throws unless it exits 0.
    @discardableResult
    static func runTool(_ path: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LoopbackSocket.Failure(description: "\(path) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return 0
    }

    /// A client of this server (or of `port`, a proxy in front of it).
    func client(port: Int? = nil, retry: RetryPolicy = RetryPolicy(), responseTimeout: Duration = .seconds(60)) throws -> DICOMwebClient {
        var configuration = DICOMwebConfiguration(baseURL: URL(string: "http://127.0.0.1:\(port ?? self.port)/dicom-web")!,
                                                  credentials: .basic(user: user, password: password))
        configuration.retry = retry
        configuration.responseTimeout = responseTimeout
        return try DICOMwebClient(configuration: configuration)
    }

    /// Stores `files` through STOW-RS, failing the test's setup on any refusal.
    func upload(_ files: [URL]) async throws {
        let client = try client()
        let objects = try files.map { try Data(contentsOf: $0) }
        let response = try await client.store(objects)
        try await client.shutdown()
        guard response.status == 200, response.failed.isEmpty, response.stored.count == files.count else {
            throw LoopbackSocket.Failure(description: "Orthanc stored \(response.stored.count) of \(files.count) (HTTP \(response.status), failed: \(response.failed))")
        }
    }
}
