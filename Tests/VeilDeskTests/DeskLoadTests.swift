import Foundation
import Testing
import VeilReview

/// Twenty reviewers at once, each on their own thread and session, loading the queue and
/// previews and deciding cards for a few seconds: no request may fail, and every decision
/// the desk acknowledged must be in the ledger under its reviewer. Latency is printed for
/// information only; its target is measured by Benchmarks/desk/load.py.
struct DeskLoadTests {
    final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var errors: [String] = []
        var decided: [String: [Int64]] = [:]
        var milliseconds: [String: [Double]] = [:]
    }

    @Test func twentyReviewersAtOnceLoseNothing() throws {
        let reviewers = 20, seconds = 5.0
        let desk = try DeskHarness(extraNudity: 76)
        try desk.start()
        let open = try Ledger(path: desk.ledgerPath, create: false).entries().map(\.suggestionID)
        #expect(open.count == 80)
        var clients: [Client] = []
        for n in 0..<reviewers { clients.append(try desk.signIn("r\(n)")) }
        let tally = Tally()
        let end = Date().addingTimeInterval(seconds)
        let group = DispatchGroup()
        for (n, start) in clients.enumerated() {
            group.enter()
            Thread.detachNewThread {
                var client = start
                // Each reviewer decides its own share of the queue, so that every decision is new.
                var mine = open.enumerated().filter { $0.offset % reviewers == n }.map(\.element)
                var step = 0
                while Date() < end {
                    let began = Date()
                    do {
                        let kind: String, reply: Client.Reply, expected: Int
                        switch step % 3 {
                        case 0:
                            (kind, expected) = ("queue", 200)
                            reply = try client.get("/")
                        case 1:
                            (kind, expected) = ("preview", 200)
                            reply = try client.get("/previews/\(open[(step * 7 + n) % open.count])?size=thumb")
                        default:
                            guard let id = mine.first else { step += 1; continue }
                            (kind, expected) = ("decision", 303)
                            reply = try client.post("/cards/\(id)/decision", ["csrf": client.csrf!, "decision": step % 2 == 0 ? "confirm" : "reject"])
                            if reply.status == 303 {
                                mine.removeFirst()
                                tally.lock.withLock { tally.decided["r\(n)", default: []].append(id) }
                            }
                        }
                        let elapsed = Date().timeIntervalSince(began) * 1000
                        tally.lock.withLock {
                            tally.milliseconds[kind, default: []].append(elapsed)
                            if reply.status != expected { tally.errors.append("\(kind) gave \(reply.status)") }
                        }
                    } catch {
                        tally.lock.withLock { tally.errors.append("\(error)") }
                    }
                    step += 1
                }
                group.leave()
            }
        }
        group.wait()
        #expect(tally.errors.isEmpty, "\(tally.errors.prefix(5)) of \(tally.errors.count)\n\(desk.logText.suffix(2000))")
        let ledger = try Ledger(path: desk.ledgerPath, create: false)
        let entries = try ledger.entries()
        let acknowledged = tally.decided.values.reduce(0) { $0 + $1.count }
        let recorded = try ledger.decisionCount(since: .distantPast)
        #expect(acknowledged > 0 && recorded == acknowledged)
        for (reviewer, ids) in tally.decided {
            for id in ids {
                #expect(entries.first { $0.suggestionID == id }?.reviewer == reviewer, "suggestion \(id) of \(reviewer)")
            }
        }
        for (kind, times) in tally.milliseconds.sorted(by: { $0.key < $1.key }) {
            let sorted = times.sorted()
            print("desk load (information only): \(kind) \(sorted.count) requests, p50 \(String(format: "%.1f", sorted[sorted.count / 2])) ms, p99 \(String(format: "%.1f", sorted[min(sorted.count - 1, sorted.count * 99 / 100)])) ms")
        }
    }
}
