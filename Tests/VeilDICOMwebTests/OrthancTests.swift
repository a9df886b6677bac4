import Foundation
import Testing
import VeilDICOMweb
import VeilTestSupport

/// `veil score --dicomweb` and `veil label apply --stow` against a real Orthanc, started on
/// a loopback port for each test, sometimes behind a proxy that injects faults.
@Suite(.serialized)
struct OrthancTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let dicomFixtures = repository.appendingPathComponent("Tests/VeilDICOMTests/Fixtures")
    /// Every syntax Veil decodes, a multi-frame object, 16-bit grey, a CT to skip, and an
    /// object whose attributes call for review.
    static let fixtures = ["jpeg-baseline", "evidence", "j2k-rgb-lossless", "j2k-large", "jpegls-rgb", "jpegls-mono2-12",
                           "multiframe-rgb", "rle-rgb", "j2k-rgb-lossy", "mono2-16", "explicit-rgb", "modality-ct"]
        .map { dicomFixtures.appendingPathComponent($0 + ".dcm") }

    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-dicomweb-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Runs `veil`. Scores are compared exactly between runs whose batches hold different
    /// images (the order of a search is not the order of a folder): an image's scores do not
    /// depend on its batch.
    static func veil(_ arguments: [String]) throws -> VeilRun {
        try VeilExecutable.run(arguments, directory: repository)
    }

    /// Records by SOP Instance UID and frame.
    static func bySOP(_ records: [[String: Any]]) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for record in records {
            let sop = (record["dicom"] as? [String: Any])?["sopInstanceUID"] as? String ?? "?"
            out["\(sop)#\(record["frame"] as? Int ?? 0)"] = record
        }
        return out
    }

    static func records(_ file: URL) throws -> [[String: Any]] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// The records of an archive run and of a run on the same files agree on everything but
    /// the path: status, bytes, scores, suggestions and UIDs.
    static func expectSameScores(_ archive: [[String: Any]], _ disk: [[String: Any]], except: Set<String> = []) {
        let a = bySOP(archive), d = bySOP(disk)
        #expect(Set(a.keys).subtracting(except) == Set(d.keys).subtracting(except))
        for (key, fromDisk) in d where !except.contains(key) {
            guard let fromArchive = a[key] else { continue }
            for field in ["status", "sha256", "width", "height", "frames", "review"] {
                #expect(String(describing: fromArchive[field]) == String(describing: fromDisk[field]), "\(key) \(field)")
            }
            #expect(NSDictionary(dictionary: fromArchive["scores"] as? [String: Any] ?? [:]) == NSDictionary(dictionary: fromDisk["scores"] as? [String: Any] ?? [:]),
                    "\(key) scores")
            let uids = ["studyInstanceUID", "seriesInstanceUID", "sopInstanceUID"]
            #expect(uids.map { (fromArchive["dicom"] as? [String: Any])?[$0] as? String } == uids.map { (fromDisk["dicom"] as? [String: Any])?[$0] as? String })
        }
    }

    @Test func scoresTheArchiveAsItScoresTheFiles() async throws {
        let orthanc = try OrthancServer()
        defer { orthanc.stop() }
        try await orthanc.upload(Self.fixtures)
        let dir = try Self.folder()
        let fromArchive = dir.appendingPathComponent("archive.jsonl"), fromDisk = dir.appendingPathComponent("disk.jsonl")
        let archive = try Self.veil(["score", "--dicomweb", orthanc.dicomweb, "--credentials-file", orthanc.credentialsFile.path,
                                     "--out", fromArchive.path, "--ledger", dir.appendingPathComponent("review.sqlite").path])
        try #require(archive.status == 0, "\(archive.stderr)")
        let disk = try Self.veil(["score", "--out", fromDisk.path] + Self.fixtures.map(\.path))
        try #require(disk.status == 0, "\(disk.stderr)")
        let records = try Self.records(fromArchive)
        Self.expectSameScores(records, try Self.records(fromDisk))
        // The path is the instance's WADO-RS URL, and the stored syntax was retrieved as it is.
        for record in records {
            let dicom = record["dicom"] as! [String: Any]
            let url = "\(orthanc.dicomweb)/studies/\(dicom["studyInstanceUID"]!)/series/\(dicom["seriesInstanceUID"]!)/instances/\(dicom["sopInstanceUID"]!)"
            #expect(record["path"] as? String == url)
        }
        let syntaxes = Set(records.compactMap { ($0["dicom"] as? [String: Any])?["transferSyntax"] as? String })
        #expect(syntaxes.isSuperset(of: ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.5"]))
        // Neither the password nor the patient reaches the log.
        #expect(!archive.stderr.contains(orthanc.password) && !archive.stdout.contains(orthanc.password))
        #expect(!archive.stdout.contains("DOE^JANE") && !archive.stdout.contains("MRN-0042"))
    }

    @Test func pagesThroughMoreResultsThanOnePage() async throws {
        let orthanc = try OrthancServer()
        defer { orthanc.stop() }
        try await orthanc.upload(Self.fixtures)
        // Through the library: pages of two studies and two instances.
        let client = try orthanc.client()
        var seen: [String] = []
        for try await instance in client.instances(matching: InstanceQuery(), pageSize: 2) { seen.append(instance.sopInstanceUID) }
        try await client.shutdown()
        #expect(seen.count == Self.fixtures.count && Set(seen).count == Self.fixtures.count)
        // Through the command, with a query that Orthanc answers only at the study level.
        let all = try Self.veil(["score", "--dicomweb", orthanc.dicomweb, "--credentials-file", orthanc.credentialsFile.path,
                                 "--page-size", "2", "--no-faces"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(Set(all.records.compactMap { ($0["dicom"] as? [String: Any])?["sopInstanceUID"] as? String }) == Set(seen))
        let ct = try Self.veil(["score", "--dicomweb", orthanc.dicomweb, "--credentials-file", orthanc.credentialsFile.path,
                                "--page-size", "2", "--no-faces", "--query", "ModalitiesInStudy=CT"])
        #expect(ct.status == 0, "\(ct.stderr)")
        #expect(ct.records.map { ($0["dicom"] as? [String: Any])?["modality"] as? String } == ["CT"])
        #expect(ct.records.first?["status"] as? String == "skipped")
        // Orthanc answers a ModalitiesInStudy search with a full first page and nothing at
        // any later offset; the pager must notice, not stop after two studies.
        let xc = try Self.veil(["score", "--dicomweb", orthanc.dicomweb, "--credentials-file", orthanc.credentialsFile.path,
                                "--page-size", "2", "--no-faces", "--query", "ModalitiesInStudy=XC"])
        #expect(xc.status == 0, "\(xc.stderr)")
        let xcSOPs = Set(xc.records.compactMap { ($0["dicom"] as? [String: Any])?["sopInstanceUID"] as? String })
        let ctSOPs = Set(ct.records.compactMap { ($0["dicom"] as? [String: Any])?["sopInstanceUID"] as? String })
        #expect(xcSOPs == Set(seen).subtracting(ctSOPs), "\(xcSOPs.count) of \(seen.count - ctSOPs.count) XC instances")
        // A key the archive would ignore is refused before anything is retrieved.
        let typo = try Self.veil(["score", "--dicomweb", orthanc.dicomweb, "--credentials-file", orthanc.credentialsFile.path,
                                  "--query", "ModalityInStudy=XC"])
        #expect(typo.status == 64, "\(typo.stderr)")
    }

    /// JPEG Lossless is a syntax Veil does not decode: the archive is asked to transcode it,
    /// and the scores are those of the same pixels stored uncompressed.
    @Test func asksTheArchiveToTranscodeWhatVeilCannotDecode() async throws {
        let orthanc = try OrthancServer()
        defer { orthanc.stop() }
        let lossless = Self.repository.appendingPathComponent("Tests/VeilDICOMwebTests/Fixtures/jpeg-lossless-sv1.dcm")
        // And one whose JPEG Lossless frame is not a codestream: Orthanc answers 500 when
        // asked to transcode it, and that must not stop the run.
        let damaged = Self.dicomFixtures.appendingPathComponent("jpeg-lossless.dcm")
        try await orthanc.upload([lossless, damaged])
        let archive = try Self.veil(["score", "--dicomweb", orthanc.dicomweb, "--credentials-file", orthanc.credentialsFile.path])
        try #require(archive.status == 0, "\(archive.stderr)")
        let bySOP = Self.bySOP(archive.records)
        let untranscodable = try #require(bySOP.first { $0.key.hasPrefix("1.2.826.0.1.3680043.8.498.16046629095053988582326257333269315112") == false }?.value)
        #expect((untranscodable["error"] as? [String: Any])?["kind"] as? String == "unsupported-format", "\(untranscodable)")
        let record = try #require(bySOP.first { $0.key.hasPrefix("1.2.826.0.1.3680043.8.498.16046629095053988582326257333269315112") }?.value)
        #expect(record["status"] as? String == "ok")
        #expect((record["dicom"] as? [String: Any])?["transferSyntax"] as? String == "1.2.840.10008.1.2.1")
        // Veil refuses the stored file itself; its uncompressed twin scores the same.
        let stored = try Self.veil(["score", lossless.path])
        #expect((stored.records.first?["error"] as? [String: Any])?["kind"] as? String == "unsupported-format")
        let twin = try Self.veil(["score", Self.dicomFixtures.appendingPathComponent("explicit-rgb.dcm").path])
        #expect(NSDictionary(dictionary: record["scores"] as! [String: Any]) == NSDictionary(dictionary: twin.records.first?["scores"] as! [String: Any]))
    }

    @Test func wrongCredentialsStopTheRunWithExit77() throws {
        let orthanc = try OrthancServer()
        defer { orthanc.stop() }
        let dir = try Self.folder()
        let wrong = dir.appendingPathComponent("wrong")
        try Data("\(orthanc.user):not-\(orthanc.password)".utf8).write(to: wrong)
        let run = try Self.veil(["score", "--dicomweb", orthanc.dicomweb, "--credentials-file", wrong.path,
                                 "--query", "PatientID=MRN-0042-SECRET"])
        #expect(run.status == 77, "\(run.stderr)")
        #expect(run.stderr.contains("401") && run.stderr.contains("refused the credentials"))
        #expect(!run.stderr.contains(orthanc.password))
        #expect(!run.stderr.contains("MRN-0042"), "a search's query may name a patient: \(run.stderr)")
        // A URL that is not a DICOMweb root cannot be used as one; resuming would not help.
        let notRoot = try Self.veil(["score", "--dicomweb", "http://127.0.0.1:\(orthanc.port)/not-dicom-web",
                                     "--credentials-file", orthanc.credentialsFile.path])
        #expect(notRoot.status == 69 && notRoot.stderr.contains("404"), "\(notRoot.stderr)")
        // Credentials on the command line are refused before any request.
        let inURL = try Self.veil(["score", "--dicomweb", "http://\(orthanc.user):\(orthanc.password)@127.0.0.1:\(orthanc.port)/dicom-web"])
        #expect(inURL.status == 64 && inURL.stderr.contains("credentials"))
        #expect(!inURL.stderr.contains(orthanc.password))
    }

    /// Over HTTPS, the archive's certificate is checked: trusted through --ca-bundle, and
    /// refused (exit 69, before any credentials are sent) without it.
    @Test func checksTheArchiveCertificate() async throws {
        let orthanc = try OrthancServer(tls: true)
        defer { orthanc.stop() }
        let credentials = ["--credentials-file", orthanc.credentialsFile.path]
        let trusted = try Self.veil(["score", "--dicomweb", orthanc.dicomweb, "--ca-bundle", orthanc.certificate!.path] + credentials)
        #expect(trusted.status == 0, "\(trusted.stderr)")
        let untrusted = try Self.veil(["score", "--dicomweb", orthanc.dicomweb, "--retries", "1", "--timeouts", "2,30"] + credentials)
        #expect(untrusted.status == 69, "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("TLS"), "\(untrusted.stderr)")
        // A CA bundle for a plain-HTTP URL is a mistake, not something to ignore.
        let plain = try Self.veil(["score", "--dicomweb", "http://127.0.0.1:\(orthanc.port)/dicom-web", "--ca-bundle", orthanc.certificate!.path] + credentials)
        #expect(plain.status == 64, "\(plain.stderr)")
    }

    /// Faults between Veil and the archive are retried; an instance the archive no longer
    /// has gets an error record with its UIDs, and the run goes on.
    @Test func faultsAreRetriedOrRecorded() async throws {
        let orthanc = try OrthancServer()
        defer { orthanc.stop() }
        let files = Array(Self.fixtures.prefix(4))
        try await orthanc.upload(files)
        let client = try orthanc.client()
        var sops: [String] = []
        for try await instance in client.instances(matching: InstanceQuery()) { sops.append(instance.sopInstanceUID) }
        try await client.shutdown()
        try #require(sops.count == 4)
        let proxy = try FaultProxy(upstream: orthanc.port, faults: [
            sops[0]: [.unavailable, .reset, .slow(6), .truncated],
            sops[1]: [.notFound],
        ])
        defer { proxy.stop() }
        let dir = try Self.folder()
        let out = dir.appendingPathComponent("scores.jsonl")
        let run = try Self.veil(["score", "--dicomweb", "http://127.0.0.1:\(proxy.port)/dicom-web",
                                 "--credentials-file", orthanc.credentialsFile.path, "--timeouts", "5,3", "--retries", "8",
                                 "--out", out.path])
        #expect(run.status == 0, "\(run.stderr)")
        // Two retrievals run at once, so the two scripts interleave; each is spent in order.
        #expect(proxy.injected.filter { $0 != .notFound } == [.unavailable, .reset, .slow(6), .truncated])
        #expect(proxy.injected.filter { $0 == .notFound }.count == 1)
        let records = try Self.records(out)
        let retried = records.filter { ($0["dicom"] as? [String: Any])?["sopInstanceUID"] as? String == sops[0] }
        #expect(retried.allSatisfy { $0["status"] as? String == "ok" }, "\(retried.map { $0["error"] ?? "" }) \(run.stderr)")
        let missing = try #require(records.first { ($0["dicom"] as? [String: Any])?["sopInstanceUID"] as? String == sops[1] })
        #expect(missing["status"] as? String == "error")
        #expect((missing["error"] as? [String: Any])?["kind"] as? String == "not-found")
        #expect((missing["dicom"] as? [String: Any])?["studyInstanceUID"] as? String != nil)
        let disk = try Self.veil(["score"] + files.map(\.path))
        let gone = Set(Self.bySOP(disk.records).keys.filter { $0.hasPrefix(sops[1]) }).union(["\(sops[1])#0"])
        Self.expectSameScores(records, disk.records, except: gone)
    }

    /// Orthanc stops in the middle of a run and comes back: the run ends with 75 and whole
    /// records, and `--resume` scores every other instance, none twice.
    @Test func resumesAfterTheArchiveStopsAndComesBack() async throws {
        let orthanc = try OrthancServer()
        defer { orthanc.stop() }
        try await orthanc.upload(Self.fixtures)
        // Slow retrievals, one at a time, so that the archive stops while the run is under way.
        // Timeouts generous enough for a loaded 2-core machine: with 2 s and 10 s, the resumed
        // run once gave up (exit 75) while the whole suite ran beside it.
        let proxy = try FaultProxy(upstream: orthanc.port, delay: 0.3)
        defer { proxy.stop() }
        let dir = try Self.folder()
        let out = dir.appendingPathComponent("scores.jsonl")
        let arguments = ["score", "--dicomweb", "http://127.0.0.1:\(proxy.port)/dicom-web", "--credentials-file",
                         orthanc.credentialsFile.path, "--max-requests", "1", "--timeouts", "5,30",
                         "--retries", "2", "--no-faces", "--out", out.path]
        let first = Process()
        first.executableURL = VeilExecutable.url
        // One image per forward pass, so that records reach the file as the retrievals
        // arrive and some are written before the archive stops.
        first.arguments = arguments + ["--batch-size", "1"]
        first.standardOutput = FileHandle.nullDevice
        let log = dir.appendingPathComponent("first.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        first.standardError = try FileHandle(forWritingTo: log)
        try first.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, first.isRunning, ((try? String(contentsOf: out, encoding: .utf8)) ?? "").split(separator: "\n").count < 2 {
            try await Task.sleep(for: .milliseconds(50))
        }
        orthanc.pause()
        first.waitUntilExit()
        let firstLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(first.terminationStatus == 75, "\(firstLog)")
        let partial = try Self.records(out).count
        #expect(partial >= 2 && partial < 14, "\(partial) records before the archive stopped: \(firstLog)")

        try orthanc.start()
        let resumed = try Self.veil(arguments + ["--resume", "--batch-size", "1"])
        let orthancLog = (try? String(contentsOf: orthanc.folder.appendingPathComponent("orthanc.log"), encoding: .utf8)) ?? ""
        #expect(resumed.status == 0, "\(resumed.stderr)\nOrthanc's log ends:\n\(orthancLog.suffix(2000))")
        let records = try Self.records(out)
        let keys = records.map { "\(($0["dicom"] as? [String: Any])?["sopInstanceUID"] as? String ?? "?")#\($0["frame"] as? Int ?? 0)" }
        #expect(Set(keys).count == keys.count, "no instance scored twice")
        let disk = try Self.veil(["score", "--no-faces"] + Self.fixtures.map(\.path))
        Self.expectSameScores(records, disk.records)
    }

    /// Labels confirmed in review go back to the archive with STOW-RS, and DCMTK reads them
    /// in what WADO-RS returns afterwards; an archive that keeps its first copy is caught.
    @Test func labelsGoBackToTheArchive() async throws {
        for overwrite in [true, false] {
            let orthanc = try OrthancServer(overwrite: overwrite)
            defer { orthanc.stop() }
            // evidence.dcm is explicit VR; sensitive-all-codes.dcm implicit VR, whose
            // (0008,001D) Orthanc's metadata view shows only as UN bulk data.
            let evidence = Self.dicomFixtures.appendingPathComponent("evidence.dcm")
            let implicit = Self.dicomFixtures.appendingPathComponent("sensitive-all-codes.dcm")
            try await orthanc.upload([evidence, implicit])
            let dir = try Self.folder()
            let ledger = dir.appendingPathComponent("review.sqlite").path
            let credentials = ["--credentials-file", orthanc.credentialsFile.path]
            let score = try Self.veil(["score", "--no-faces", "--dicomweb", orthanc.dicomweb, "--ledger", ledger] + credentials)
            try #require(score.status == 0, "\(score.stderr)")
            let list = try Self.veil(["review", "list", "--ledger", ledger, "--json"])
            let entries = list.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let region = try #require(entries.first { $0["flag"] as? String == "body-region" && ($0["path"] as? String)?.hasSuffix(Self.sop(evidence)) == true }, "\(list.stdout)")
            let confirm = try Self.veil(["review", "confirm", String(describing: region["suggestionID"]!), "--ledger", ledger,
                                         "--reviewer", "dr.lee", "--detail", "SCT:125666000"])
            try #require(confirm.status == 0, "\(confirm.stderr)")
            let archived = try #require(entries.first { $0["flag"] as? String == "sensitive-content" && ($0["path"] as? String)?.hasSuffix(Self.sop(implicit)) == true }, "\(list.stdout)")
            let second = try Self.veil(["review", "confirm", String(describing: archived["suggestionID"]!), "--ledger", ledger, "--reviewer", "dr.lee"])
            try #require(second.status == 0, "\(second.stderr)")

            let apply = try Self.veil(["label", "apply", "--ledger", ledger, "--stow", orthanc.dicomweb] + credentials)
            guard overwrite else {
                #expect(apply.status == 65, "\(apply.stderr)")
                #expect(apply.stderr.contains("kept its earlier copy"), "\(apply.stderr)")
                continue
            }
            #expect(apply.status == 0, "\(apply.stderr)")
            // Read back through WADO-RS, and parsed by DCMTK.
            let client = try orthanc.client()
            var references: [InstanceReference] = []
            for try await instance in client.instances(matching: InstanceQuery()) { references.append(instance) }
            let stored = try await client.retrieve(try #require(references.first { $0.sopInstanceUID == Self.sop(evidence) }))
            try await client.shutdown()
            let file = dir.appendingPathComponent("back.dcm")
            try stored.write(to: file)
            let dump = try Self.dcmdump(file)
            #expect(dump.contains("(0008,001d) SQ") || dump.contains("(0008,001D) SQ"), "\(dump)")
            for code in ["131391", "125666000"] { #expect(dump.contains("[\(code)]"), "\(code) in the dump: \(dump)") }
        }
    }

    /// A fixture's SOP Instance UID, as DCMTK reads it.
    static func sop(_ file: URL) -> String {
        let dump = (try? dcmdump(file)) ?? ""
        guard let line = dump.split(separator: "\n").first(where: { $0.hasPrefix("(0008,0018)") }),
              let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return "?" }
        return String(line[line.index(after: open)..<close])
    }

    static func dcmdump(_ file: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dcmdump")
        process.arguments = ["+L", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }
}
