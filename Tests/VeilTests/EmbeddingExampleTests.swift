import Foundation
import Testing
import Veil
import VeilDICOM
import VeilEngine
import VeilImage
import VeilPolicy
import VeilTensor
import VeilVocabulary

// The README's "Embedding Veil" example, compiled and run here so that it cannot rot.
// The text between the markers must match the README's code block exactly.
// BEGIN README EXAMPLE
struct PhotoScreening {
    let scorer: Scorer

    /// Loads the bundled models once, at start-up; the scorer is shared by every request.
    init(policy: Policy = .standard) throws {
        scorer = try Scorer.load(policy: policy, runtime: Runtime(threads: 2))
    }

    /// The flags a person must review before anyone else sees this file (a photo, or every
    /// frame of a DICOM object); nil when its pixels cannot be read, which calls for a
    /// person too.
    func flagsForReview(fileAt path: String) -> [Flag]? {
        do {
            let verdicts = try scorer.assess(fileAt: path)
            if let error = verdicts.compactMap(\.notScored?.error).first {
                // Typed: names the file and the cause, never holds pixels.
                print("cannot decode \(error.file ?? path): \(error.kind): \(error.reason)")
                return nil
            }
            let flags = verdicts.flatMap(\.suggestions).filter { $0.state != .belowThreshold }.map(\.flag)
            return Set(flags).sorted()
        } catch {
            print("cannot read \(path): \(error)")
            return nil
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

    /// What the example reports, checked against facts that do not come from Veil: the
    /// astronaut and camera-man photos show a person's face, the cat photo none, and the
    /// README is not an image. The nudity threshold is checked on both sides of the
    /// reference score that ONNX Runtime gave (ModelParityTests' goldens), 0.05 away: more
    /// than twice the 2e-2 end-to-end tolerance, so either check fails if Veil's score or
    /// the policy's threshold stops applying.
    @Test func exampleRuns() throws {
        let screening = try PhotoScreening()
        let samples = Self.repository.appendingPathComponent("Samples/images")
        func flags(_ file: String, _ screening: PhotoScreening) -> [Flag]? {
            screening.flagsForReview(fileAt: samples.appendingPathComponent(file).path)
        }
        #expect(flags("astronaut.jpg", screening) == [.face])
        #expect(flags("camera.jpg", screening) == [.face])
        #expect(flags("chelsea.jpg", screening) == [])
        #expect(screening.flagsForReview(fileAt: Self.repository.appendingPathComponent("README.md").path) == nil)

        let reference = try #require(ModelParityTests.goldens.images.first { $0.file == "retina.jpg" }).nudity
        let below = try Policy.standard.overridingReviewThresholds([.nudity: Double(reference) - 0.05])
        let above = try Policy.standard.overridingReviewThresholds([.nudity: Double(reference) + 0.05])
        #expect(flags("retina.jpg", try PhotoScreening(policy: below))?.contains(.nudity) == true)
        #expect(flags("retina.jpg", try PhotoScreening(policy: above))?.contains(.nudity) == false)
    }
}
