import Foundation
import Testing

/// Every committed golden or fixture names the command that produced it: each `Fixtures`
/// folder has a GOLDENS.md whose table lists every file by name or pattern.
struct GoldensTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    /// `*.dcm`-style patterns and plain names from the first column of GOLDENS.md's table.
    static func patterns(in readme: String) -> [String] {
        readme.split(separator: "\n").filter { $0.hasPrefix("| `") }.flatMap { row in
            row.split(separator: "|").first.map { cell in
                cell.split(separator: "`").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            } ?? []
        }
    }

    static func matches(_ name: String, _ pattern: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }

    @Test func everyFixtureNamesItsCommand() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.tests.path)
            .map { Self.tests.appendingPathComponent($0).appendingPathComponent("Fixtures") }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        try #require(folders.count >= 5, "expected the fixture folders of five test targets, found \(folders.count)")
        for folder in folders {
            let readme = folder.appendingPathComponent("GOLDENS.md")
            let text = try #require(try? String(contentsOf: readme, encoding: .utf8), "\(folder.path) has no GOLDENS.md")
            let patterns = Self.patterns(in: text)
            #expect(text.contains("python3 Tools/") || text.contains("by hand"), "\(readme.path) names no command")
            let files = FileManager.default.enumerator(atPath: folder.path)!.compactMap { $0 as? String }
                .filter { !$0.hasSuffix("GOLDENS.md") }
            for file in files where !((try? URL(fileURLWithPath: folder.appendingPathComponent(file).path)
                .resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false) {
                #expect(patterns.contains { Self.matches(file, $0) || Self.matches((file as NSString).lastPathComponent, $0) },
                        "\(folder.lastPathComponent)/\(file) is not listed in \(readme.path)")
            }
        }
    }
}
