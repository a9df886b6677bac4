import Foundation
import Testing

/// Every public declaration of the library modules has a doc comment (`///` directly above
/// it, attributes aside). Protocol witnesses such as `description` or `init(from:)` take
/// their protocol's documentation and are exempt.
struct DocumentationTests {
    static let sources = ScoreCommandTests.repository.appendingPathComponent("Sources")
    static let witnesses = ["var description", "func encode(to", "init(from decoder", "static func ==", "static func <",
                            "func hash(into", "var codingKey", "init?<T: CodingKey>", "init(stringLiteral", "init(rawValue",
                            "init?(argument"]

    static func undocumented(in text: String) -> [String] {
        let lines = text.components(separatedBy: "\n")
        var found: [String] = []
        for (index, line) in lines.enumerated() {
            var trimmed = line.trimmingCharacters(in: .whitespaces)
            // Attributes in front of the declaration, e.g. `@discardableResult public func`.
            while trimmed.hasPrefix("@"), let space = trimmed.firstIndex(of: " ") { trimmed = String(trimmed[trimmed.index(after: space)...]) }
            guard trimmed.hasPrefix("public "), !trimmed.hasPrefix("public import") else { continue }
            let declaration = trimmed.dropFirst("public ".count)
            if witnesses.contains(where: { declaration.hasPrefix($0) || declaration.hasPrefix("static " + $0) }) { continue }
            var above = index - 1
            while above >= 0, lines[above].trimmingCharacters(in: .whitespaces).hasPrefix("@") { above -= 1 }
            if above < 0 || !lines[above].trimmingCharacters(in: .whitespaces).hasPrefix("///") {
                found.append("line \(index + 1): \(trimmed.prefix(80))")
            }
        }
        return found
    }

    @Test func everyPublicDeclarationIsDocumented() throws {
        let modules = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path).filter { $0 != "veil" }
        try #require(modules.count >= 9, "expected Veil's library modules in \(Self.sources.path)")
        var checked = 0
        for module in modules {
            let folder = Self.sources.appendingPathComponent(module)
            for case let file as String in FileManager.default.enumerator(atPath: folder.path)! where file.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                checked += text.components(separatedBy: "public ").count - 1
                for problem in Self.undocumented(in: text) {
                    Issue.record("\(module)/\(file) \(problem) has no doc comment")
                }
            }
        }
        #expect(checked > 300, "only \(checked) public declarations found: is the scan still reading the sources?")
    }

    /// The check itself: it finds an undocumented declaration and accepts a documented one.
    @Test func theCheckFindsWhatItShould() {
        #expect(Self.undocumented(in: "struct A {\n    public var x: Int\n}").count == 1)
        #expect(Self.undocumented(in: "/// Documented.\n@discardableResult\npublic func f() -> Int { 1 }").isEmpty)
        #expect(Self.undocumented(in: "public var description: String { \"\" }").isEmpty)
    }
}
