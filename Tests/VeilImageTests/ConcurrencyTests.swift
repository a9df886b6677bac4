import Foundation
import Testing
@testable import VeilImage

struct ConcurrencyTests {
    /// One decoder shared by many threads gives every thread the same pixels.
    @Test func decodersAreSafeAcrossThreads() async throws {
        let decoder = ImageDecoder(options: DecodingOptions(minimumSize: PixelSize(width: 100, height: 100)))
        let names = ["large-512x384.jpg", "progressive-420.jpg", "rgb16-interlaced.png", "rgba8.png", "cmyk-adobe.jpg"]
        let expected = try names.map { try decoder.decode(contentsOf: Fixtures.path($0)) }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for round in 0..<40 {
                let index = round % names.count
                group.addTask {
                    try decoder.decode(contentsOf: Fixtures.path(names[index])) == expected[index]
                }
            }
            var matches = 0
            for try await same in group where same { matches += 1 }
            #expect(matches == 40)
        }
    }
}
