import Foundation
import Testing
@testable import VeilDICOMweb

/// The multipart/related reader and writer, against bodies written out by hand from RFC 2046.
@Suite struct MultipartRelatedTests {
    @Test func readsTheBoundaryFromTheContentType() {
        #expect(MultipartRelated.boundary(ofContentType: #"multipart/related; type="application/dicom"; boundary=abc-1"#) == "abc-1")
        #expect(MultipartRelated.boundary(ofContentType: #"Multipart/Related; boundary="a;b c"; type="application/dicom""#) == "a;b c")
        #expect(MultipartRelated.boundary(ofContentType: "application/dicom") == nil)
        #expect(MultipartRelated.boundary(ofContentType: "multipart/related; type=x") == nil)
        #expect(MultipartRelated.boundary(ofContentType: "multipart/related; boundary=" + String(repeating: "x", count: 71)) == nil)
    }

    @Test func readsPartsWithAPreambleAndNoHeaders() throws {
        let body = Data("preamble\r\n--B\r\nContent-Type: application/dicom\r\n\r\nfirst\r\n--B\r\n\r\nsecond\r\n\r\n--B--\r\nepilogue".utf8)
        let parts = try MultipartRelated.parts(of: body, boundary: "B")
        #expect(parts.count == 2)
        #expect(parts[0].headers["content-type"] == "application/dicom")
        #expect(parts[0].body == Data("first".utf8))
        #expect(parts[1].headers.isEmpty)
        #expect(parts[1].body == Data("second\r\n".utf8))
    }

    @Test(arguments: [
        "--B\r\nContent-Type: application/dicom\r\n\r\nhalf an obj",  // cut inside the part
        "--B\r\nContent-Type: applic",                                // cut inside the headers
        "--B",                                                         // cut after the delimiter
        "no delimiter at all",
    ])
    func refusesABodyCutShort(_ text: String) {
        #expect(throws: DICOMwebError.self) { try MultipartRelated.parts(of: Data(text.utf8), boundary: "B") }
    }

    @Test func writesWhatItReads() throws {
        let objects = [Data([0, 1, 2, 0x0D, 0x0A, 0x2D, 0x2D]), Data(), Data(repeating: 0xFF, count: 1000)]
        let (body, boundary) = MultipartRelated.body(of: objects, contentType: "application/dicom")
        let parts = try MultipartRelated.parts(of: body, boundary: boundary)
        #expect(parts.map(\.body) == objects)
        #expect(parts.allSatisfy { $0.headers["content-type"] == "application/dicom" })
    }
}
