import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP proxy between Veil and Orthanc that injects the faults archives and networks
/// produce: each retrieval of an instance takes the next fault scripted for its SOP
/// Instance UID; every other request, and every retrieval once its script is spent, is
/// passed on (after `delay` seconds, for retrievals). One connection per request: the proxy
/// answers with `Connection: close`.
final class FaultProxy: @unchecked Sendable {
    enum Fault: Sendable, Equatable {
        /// 503 with `Retry-After: 1`.
        case unavailable
        /// The connection is reset before any answer.
        case reset
        /// The answer comes after this many seconds.
        case slow(Double)
        /// Orthanc's answer with its body cut in half (and Content-Length to match).
        case truncated
        /// 404, as for an instance deleted since the search.
        case notFound
    }

    let port: Int
    private let listener: Int32
    private let upstream: Int
    private var scripts: [String: [Fault]]
    private let delay: Double
    private let lock = NSLock()
    /// Faults injected so far, in order.
    private(set) var injected: [Fault] = []
    /// Instance requests passed on unharmed.
    private(set) var passed = 0

    init(upstream: Int, faults: [String: [Fault]] = [:], delay: Double = 0) throws {
        (listener, port) = try LoopbackSocket.listen()
        self.upstream = upstream
        scripts = faults
        self.delay = delay
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while let client = LoopbackSocket.accept(listener) {
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    /// The fault for this request: nil for one that is not a retrieval, `.slow(delay)` or
    /// `.slow(0)` for a retrieval passed on.
    private func nextFault(for request: Data) -> Fault? {
        let line = String(decoding: request.prefix(while: { $0 != 0x0D }), as: UTF8.self)
        // A retrieve: GET …/instances/UID HTTP/1.1, not a search (`?`) and not metadata.
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[0] == "GET", parts[1].contains("/instances/"), !parts[1].contains("?"),
              !parts[1].hasSuffix("/metadata"), let sop = parts[1].split(separator: "/").last.map(String.init) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        guard var script = scripts[sop], !script.isEmpty else {
            passed += 1
            return .slow(delay)
        }
        let fault = script.removeFirst()
        scripts[sop] = script
        injected.append(fault)
        return fault
    }

    private func serve(_ client: Int32) {
        guard let request = LoopbackSocket.readRequest(client) else { close(client); return }
        let fault = nextFault(for: request)
        switch fault {
        case .unavailable?:
            _ = LoopbackSocket.send(client, Data("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            close(client)
            return
        case .reset?:
            LoopbackSocket.reset(client)
            return
        case .notFound?:
            _ = LoopbackSocket.send(client, Data("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            close(client)
            return
        case let .slow(seconds)?:
            Thread.sleep(forTimeInterval: seconds)
        default:
            break
        }
        guard let server = try? LoopbackSocket.connect(port: upstream) else { LoopbackSocket.reset(client); return }
        // Ask for one response and a close, so that the answer ends where the connection does.
        let forwarded = Self.withConnectionClose(request)
        guard LoopbackSocket.send(server, forwarded) else { close(server); LoopbackSocket.reset(client); return }
        var response = LoopbackSocket.readToEnd(server)
        close(server)
        if fault == .truncated { response = Self.truncated(response) }
        // Orthanc may leave out `Connection: close`; without it the client would keep the
        // connection for its next request, and race this close.
        _ = LoopbackSocket.send(client, Self.withConnectionClose(response))
        close(client)
    }

    /// An HTTP message (request or response) whose head says `Connection: close`.
    static func withConnectionClose(_ message: Data) -> Data {
        guard let end = message.range(of: Data("\r\n\r\n".utf8)) else { return message }
        let head = String(decoding: message[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n")
            .filter { !$0.lowercased().hasPrefix("connection:") }.joined(separator: "\r\n")
        return Data((head + "\r\nConnection: close\r\n\r\n").utf8) + message[end.upperBound...]
    }

    /// The response with half its body, and a Content-Length that says so: a complete HTTP
    /// message whose multipart body is cut short.
    static func truncated(_ response: Data) -> Data {
        guard let end = response.range(of: Data("\r\n\r\n".utf8)) else { return response }
        let body = response[end.upperBound...]
        let half = body.prefix(body.count / 2)
        let head = String(decoding: response[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n")
            .filter { !$0.lowercased().hasPrefix("content-length:") && !$0.lowercased().hasPrefix("transfer-encoding:") }
            .joined(separator: "\r\n")
        return Data((head + "\r\nContent-Length: \(half.count)\r\n\r\n").utf8) + half
    }
}
