import Foundation
import VeilTestSupport
import Veil
@testable import VeilDesk
import VeilImage
import VeilPolicy
import VeilReview

/// A ledger of known suggestions over real image files, a users file, and `veil review
/// serve` started on a loopback port for it, as a user would start it.
final class DeskHarness: @unchecked Sendable {
    static let password = "correct horse battery"
    /// One bcrypt hash of ``password`` (cost 12), shared by every user: hashing is slow.
    static let passwordHash: String = {
        var file = UsersFile()
        try! file.set(name: "x", roles: [.reviewer], password: password, file: "t")
        return file.users["x"]!.passwordHash
    }()

    let folder: URL
    let ledgerPath: String
    let usersPath: String
    /// Suggestion ids by what they are about.
    var ids: [String: Int64] = [:]
    private var process: Process?
    /// The desk's standard error.
    var log: URL { folder.appendingPathComponent("desk.log") }
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
    private(set) var port = 0

    var repository: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// `extraNudity` more generated images with a pending nudity suggestion each, for load.
    init(extraNudity: Int = 0) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-desk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        ledgerPath = folder.appendingPathComponent("review.sqlite").path
        usersPath = folder.appendingPathComponent("users.yaml").path
        let ledger = try Ledger(path: ledgerPath)
        func record(_ name: String, _ path: String, _ data: Data, size: PixelSize, _ suggestions: [Suggestion]) throws {
            let image = LedgerImage(sha256: ContentDigest.sha256(data), path: path, width: size.width, height: size.height)
            let added = try ledger.record(image: image, suggestions: suggestions, policy: .standard, model: "open_nsfw", modelVersion: "1.0.0")
            for (suggestion, id) in zip(suggestions, added) { ids["\(name).\(suggestion.flag.rawValue)"] = id }
        }
        for (i, name) in ["restricted", "pending", "bodyregion"].enumerated() {
            let url = folder.appendingPathComponent("\(name).png")
            let data = Data(try Self.stripes(seed: i).pngData())
            try data.write(to: url)
            let suggestion: Suggestion
            switch name {
            case "restricted": suggestion = Suggestion(flag: .nudity, score: 0.97, threshold: 0.9, state: .provisionallyRestricted)
            case "pending": suggestion = Suggestion(flag: .nudity, score: 0.71, threshold: 0.7, state: .pendingReview)
            default: suggestion = Suggestion(flag: .bodyRegion, score: 0.95, threshold: 0.6, state: .pendingReview)
            }
            try record(name, url.path, data, size: PixelSize(width: 320, height: 240), [suggestion])
        }
        // A real photograph with one face, suggested for `face` only: the desk blocks the face.
        let astronaut = folder.appendingPathComponent("astronaut.jpg")
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Samples/images/astronaut.jpg"), to: astronaut)
        try record("astronaut", astronaut.path, try Data(contentsOf: astronaut), size: PixelSize(width: 512, height: 512),
                   [Suggestion(flag: .face, score: 0.94, threshold: 0.7, state: .pendingReview)])
        for n in 0..<extraNudity {
            let url = folder.appendingPathComponent("load-\(n).png")
            let data = Data(try Self.stripes(seed: 10 + n).pngData())
            try data.write(to: url)
            try record("load\(n)", url.path, data, size: PixelSize(width: 320, height: 240),
                       [Suggestion(flag: .nudity, score: 0.75 + Double(n % 20) / 100, threshold: 0.7, state: .pendingReview)])
        }
        var users = UsersFile()
        users.users["ann"] = DeskUser(name: "ann", roles: [.reviewer, .revealer], passwordHash: Self.passwordHash)
        users.users["bob"] = DeskUser(name: "bob", roles: [.reviewer], passwordHash: Self.passwordHash)
        users.users["aud"] = DeskUser(name: "aud", roles: [.auditor], passwordHash: Self.passwordHash)
        for n in 0..<20 { users.users["r\(n)"] = DeskUser(name: "r\(n)", roles: [.reviewer], passwordHash: Self.passwordHash) }
        try users.yaml.write(toFile: usersPath, atomically: true, encoding: .utf8)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    /// 320×240 colour stripes that differ with `seed`.
    static func stripes(seed: Int) throws -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: 320 * 240 * 3)
        for y in 0..<240 {
            for x in 0..<320 {
                let i = (y * 320 + x) * 3
                pixels[i] = UInt8((x * 255 / 319 + seed * 37) % 256)
                pixels[i + 1] = UInt8(((x / 20 + y / 20) % 2) * 200 + 20)
                pixels[i + 2] = UInt8((y * 255 / 239 + seed * 11) % 256)
            }
        }
        return try RGBImage(width: 320, height: 240, pixels: pixels)
    }

    static var veilExecutable: URL { VeilExecutable.url }

    /// Runs `veil` to the end; its status and standard error.
    static func veil(_ arguments: [String], seconds: Double = 60) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = veilExecutable
        p.arguments = arguments
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.interrupt(); p.waitUntilExit() }
        return (p.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// Starts `veil review serve` on a free loopback port; waits until it listens.
    func start(_ extra: [String] = []) throws {
        let p = Process()
        p.executableURL = Self.veilExecutable
        p.arguments = ["review", "serve", "--ledger", ledgerPath, "--users", usersPath, "--listen", "127.0.0.1:0"] + extra
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        process = p
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            if let range = seen.range(of: #"at https?://127\.0\.0\.1:([0-9]+)/"#, options: .regularExpression) {
                port = Int(seen[range].split(separator: ":").last!.dropLast())!
                // Keep draining standard error, so that the desk never blocks on a full pipe,
                // into a log a failing test can show.
                let handle = err.fileHandleForReading, log = self.log
                _ = FileManager.default.createFile(atPath: log.path, contents: Data(seen.utf8))
                Thread.detachNewThread {
                    let out = try? FileHandle(forWritingTo: log)
                    _ = try? out?.seekToEnd()
                    while case let data = handle.availableData, !data.isEmpty { try? out?.write(contentsOf: data) }
                }
                return
            }
        }
        throw HarnessError("the desk did not start: \(seen)")
    }

    /// Stops the desk as Ctrl-C would.
    func stop() {
        guard let p = process, p.isRunning else { return }
        p.interrupt()
        p.waitUntilExit()
        process = nil
    }

    /// Signs `name` in through the sign-in form; the session cookie and its CSRF token.
    func signIn(_ name: String, password: String = DeskHarness.password) throws -> Client {
        var client = Client(port: port)
        let form = try client.get("/signin")
        let token = try form.field("token")
        let reply = try client.post("/signin", ["token": token, "name": name, "password": password])
        guard reply.status == 303, client.session != nil else { throw HarnessError("sign-in of \(name) gave \(reply.status)") }
        client.csrf = try client.get("/").field("csrf", orNil: true) ?? client.get("/audit").field("csrf")
        return client
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

/// A plain HTTP/1.1 client on a socket: it sends exactly the request line it is given (no
/// normalising of `..`), follows no redirects, and keeps cookies only as told.
struct Client {
    let port: Int
    var cookies: [String: String] = [:]
    var csrf: String?
    var session: String? { cookies["veil_session"] }

    init(port: Int) { self.port = port }

    struct Reply {
        var status: Int
        var headers: [(String, String)]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        func all(_ name: String) -> [String] { headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1) }

        /// The value of the form field `name` in the page.
        func field(_ name: String, orNil: Bool = false) throws -> String? {
            guard let range = text.range(of: "name=\"\(name)\" value=\"([^\"]*)\"", options: .regularExpression) else {
                if orNil { return nil }
                throw HarnessError("no field \(name) in a \(status) page")
            }
            return String(text[range].split(separator: "\"")[3])
        }
        func field(_ name: String) throws -> String { try field(name, orNil: false)! }
    }

    mutating func get(_ target: String) throws -> Reply { try send("GET", target, body: nil) }

    mutating func post(_ target: String, _ form: KeyValuePairs<String, String>) throws -> Reply {
        try post(target, pairs: form.map { ($0.key, $0.value) })
    }

    mutating func post(_ target: String, pairs: [(String, String)]) throws -> Reply {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        return try send("POST", target, body: Data(body.utf8))
    }

    /// One request on a new connection; cookies the server sets are kept (and dropped when
    /// it expires them).
    mutating func send(_ method: String, _ target: String, body: Data?, headers extra: [String] = []) throws -> Reply {
        var request = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if !cookies.isEmpty { request += "Cookie: \(cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; "))\r\n" }
        if let body { request += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.count)\r\n" }
        for line in extra { request += line + "\r\n" }
        var bytes = Data((request + "\r\n").utf8)
        if let body { bytes += body }
        let raw = try Self.exchange(port: port, bytes)
        guard let split = raw.range(of: Data("\r\n\r\n".utf8)) else { throw HarnessError("no header end in \(raw.count) bytes") }
        let head = String(decoding: raw[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1])!
        let fields = head.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let reply = Reply(status: status, headers: fields, body: Data(raw[split.upperBound...]))
        for cookie in reply.all("Set-Cookie") {
            let pair = cookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || cookie.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        return reply
    }

    static func exchange(port: Int, _ request: Data) throws -> Data {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw HarnessError("connect: \(errno)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        try request.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw HarnessError("send: \(errno)") }
                offset += n
            }
        }
        var reply = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 { throw HarnessError("recv: \(errno)") }
            if n == 0 { break }
            reply.append(contentsOf: chunk[0..<n])
        }
        return reply
    }
}
