import Foundation
import Testing
import Veil

// The README's "Embedding Veil" example, compiled and run here so that it cannot rot.
// The text between the markers must match the README's code block exactly.
// BEGIN README EXAMPLE
struct PhotoScreening {
    let classifier: Classifier

    init() throws {
        ComputeThreads.configure(2)                 // OpenBLAS and Veil share these cores
        classifier = try Classifier.loadDefault()   // load once; share across threads
    }

    /// The flags whose scores call for human review of one photo.
    func flagsForReview(photoAt path: String, threshold: Float = 0.4) -> [String] {
        do {
            let scores = try classifier.scores(forFileAt: path)
            return scores.filter { $0.value >= threshold }.map(\.key).sorted()
        } catch let error as ImageDecodingError {
            // Typed: names the file and the cause, never holds pixels.
            print("cannot read \(error.file ?? path): \(error.kind): \(error.reason)")
            return []
        } catch {
            print("scoring failed: \(error)")
            return []
        }
    }
}
// END README EXAMPLE

struct EmbeddingExampleTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    @Test func readmeShowsExactlyThisCode() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let begin = "// BEGIN README EXAMPLE\n", end = "// END README EXAMPLE"
        let example = try #require(source.components(separatedBy: begin).dropFirst().first?.components(separatedBy: end).first)
        #expect(readme.contains("```swift\nimport Veil\n\n" + example + "```"), "README's Embedding Veil example differs from the tested code")
    }

    @Test func exampleRuns() throws {
        let screening = try PhotoScreening()
        let samples = Self.repository.appendingPathComponent("Samples/images")
        // A cat photo raises no flag at the default threshold; a threshold of 0 flags everything.
        #expect(screening.flagsForReview(photoAt: samples.appendingPathComponent("chelsea.jpg").path) == [])
        #expect(screening.flagsForReview(photoAt: samples.appendingPathComponent("chelsea.jpg").path, threshold: 0) == ["nudity"])
        #expect(screening.flagsForReview(photoAt: Self.repository.appendingPathComponent("README.md").path) == [])
    }
}
