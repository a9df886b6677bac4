import Foundation
import Testing
import VeilReview
import VeilTestSupport

/// The desk in a real browser: headless Chromium, driven through Debian's chromium-driver
/// and python3-selenium (installed by the test command), signs in and decides three cards
/// and one reveal with the keyboard. The ledger, read here, must hold exactly those rows.
struct DeskBrowserTests {
    static let python = "/usr/bin/python3"
    static let ready = FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
        && ReferenceTool.run(python, ["-c", "import selenium"])?.status == 0

    @Test(.enabled(if: ready, "chromium, chromium-driver or python3-selenium is missing: run bash scripts/ensure-system-packages.sh --test"))
    func aReviewerDecidesWithTheKeyboardInChromium() throws {
        let desk = try DeskHarness()
        try desk.start()
        // VEIL_DESK_SCREENSHOTS=docs/images keeps the screenshots for the README.
        let shots = ProcessInfo.processInfo.environment["VEIL_DESK_SCREENSHOTS"] ?? desk.folder.path
        let script = desk.repository.appendingPathComponent("Tests/Browser/desk_in_chromium.py").path
        let run = try #require(ReferenceTool.run(Self.python, [script, "--url", "http://127.0.0.1:\(desk.port)", "--user", "ann",
                                                               "--password", DeskHarness.password, "--screenshots", shots]))
        #expect(run.status == 0, "\(run.output)\n\(desk.logText)")
        let line = try #require(run.output.split(separator: "\n").last, "\(run.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(run.output)")
        let decided = try #require(report["decided"] as? [[Any]]).map { ($0[0] as! Int, $0[1] as! String) }
        let revealed = try #require(report["revealed"] as? [Int])
        // Only the favicon may be missing; a policy violation or a broken script is an error.
        let errors = (report["console_errors"] as? [String] ?? []).filter { !$0.contains("favicon.ico") }
        #expect(errors.isEmpty, "\(errors)")
        #expect(report["left_before"] as? Int == 4)

        // The keys walked the queue in the desk's order: restricted first, then uncertainty.
        let expected = ["restricted.nudity", "pending.nudity", "astronaut.face"].map { Int(desk.ids[$0]!) }
        #expect(decided.map(\.0) == expected)
        #expect(decided.map(\.1) == ["confirmed", "rejected", "confirmed"])
        #expect(revealed == [expected[2], 1])

        let ledger = try Ledger(path: desk.ledgerPath, create: false)
        let trail = try ledger.auditTrail()
        let decisions = trail.filter { $0.event == "decided" }
        #expect(decisions.map { Int($0.suggestionID ?? 0) } == expected)
        #expect(decisions.map { $0.state ?? "" } == ["confirmed", "rejected", "confirmed"])
        #expect(decisions.allSatisfy { $0.reviewer == "ann" })
        let reveals = trail.filter { $0.event == "revealed" }
        let face = try #require(try ledger.entry(Int64(expected[2])))
        #expect(reveals.count == 1 && reveals.first?.reviewer == "ann" && reveals.first?.level == 1
                && reveals.first?.sha256 == face.sha256 && reveals.first?.reason == "check that the face is blocked")
        for name in ["desk-queue.png", "desk-card.png"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(shots)/\(name)")[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(name) is \(size) bytes")
        }
    }
}
