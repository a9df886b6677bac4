import Foundation
import Testing

/// Backlog features with real processes: resuming after SIGKILL, sharding, manifests, CSV.
@Suite(.serialized)
struct BatchRunTests {
    static func folder(count: Int) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-batch-\(UUID())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let source = try Data(contentsOf: ScoreCommandTests.repository.appendingPathComponent("Samples/images/coins.jpg"))
        for i in 0..<count {
            let name = i % 3 == 0 ? "sub/photo-\(i).jpg" : "photo-\(i).jpg"
            try source.write(to: dir.appendingPathComponent(name))
        }
        return dir
    }

    static func paths(inJSONL file: String) throws -> [String] {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "torn or invalid line: \(line)")
            return try #require(object["path"] as? String)
        }
    }

    @Test func killedRunResumesWithEveryInputExactlyOnce() throws {
        let dir = try Self.folder(count: 40)
        let out = dir.appendingPathComponent("scores.jsonl").path
        let process = Process()
        process.executableURL = ScoreCommandTests.veilExecutable
        process.arguments = ["score", "--out", out, "--batch-size", "1", "--threads", "1", dir.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it hard once some records are on disk.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let written = (try? String(contentsOfFile: out, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if written >= 5 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        // Simulate the worst moment: a record cut in the middle.
        let handle = try #require(FileHandle(forWritingAtPath: out))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"path\":\"".utf8))
        try handle.close()
        let before = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").count - 1
        #expect(before < 40, "the first run should not have finished (\(before) records)")

        let resumed = try ScoreCommandTests.veil(["score", "--out", out, "--resume", dir.path])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let paths = try Self.paths(inJSONL: out)
        #expect(paths.count == 40, "\(paths.count) records")
        #expect(Set(paths).count == 40, "duplicates after resume")
        #expect(try String(contentsOfFile: out, encoding: .utf8).hasSuffix("\n"))
    }

    @Test func shardsCoverEveryInputExactlyOnce() throws {
        let dir = try Self.folder(count: 30)
        let outputs = (0..<3).map { dir.appendingPathComponent("shard-\($0).jsonl").path }
        let processes = try (0..<3).map { k -> Process in
            let p = Process()
            p.executableURL = ScoreCommandTests.veilExecutable
            p.arguments = ["score", "--shard", "\(k)/3", "--out", outputs[k], "--threads", "1", dir.path]
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        for p in processes { p.waitUntilExit(); #expect(p.terminationStatus == 0) }
        let shards = try outputs.map { try Self.paths(inJSONL: $0).filter { $0.hasSuffix(".jpg") } }
        let all = shards.flatMap { $0 }
        #expect(all.count == 30 && Set(all).count == 30, "\(shards.map(\.count))")
        #expect(shards.allSatisfy { !$0.isEmpty }, "every shard should get some of 30 inputs: \(shards.map(\.count))")
        #expect(try ScoreCommandTests.veil(["score", "--shard", "3/3", dir.path]).status == 64)
    }

    @Test func manifestFromStandardInputAndCSV() throws {
        let dir = try Self.folder(count: 4)
        let list = (0..<4).map { i in dir.appendingPathComponent(i % 3 == 0 ? "sub/photo-\(i).jpg" : "photo-\(i).jpg").path }
            + [dir.appendingPathComponent("missing.jpg").path]
        let process = Process()
        process.executableURL = ScoreCommandTests.veilExecutable
        process.arguments = ["score", "--manifest", "-", "--format", "csv"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data((list.joined(separator: "\n") + "\n").utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 66)  // the manifest names a file that does not exist
        let lines = text.split(separator: "\n")
        #expect(lines.first?.hasPrefix("path,sha256,status,error_kind,error_message,format,width,height,frame,frames,study_instance_uid,series_instance_uid,sop_instance_uid,minor,score_body-region,score_face,score_nudity,score_sensitive-content") == true)
        #expect(lines.count == 6)
        #expect(lines.last?.contains(",error,no-such-file,") == true)
    }
}
