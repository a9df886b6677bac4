import Testing
@testable import VeilEngine

/// Known-answer tests from FIPS 180-2, appendix B, and NIST's published examples.
struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownAnswers(message: String, digest: String) {
        #expect(SHA256Hasher.hex(Array(message.utf8)) == digest)
    }

    @Test func millionAsInUnevenChunks() {
        var hash = SHA256Hasher()
        var remaining = 1_000_000
        var chunk = 1
        while remaining > 0 {
            let n = min(chunk, remaining)
            hash.update([UInt8](repeating: 0x61, count: n))
            remaining -= n
            chunk = chunk * 3 % 997 + 1
        }
        #expect(hash.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// A copy taken mid-message hashes on independently (value semantics), and a finalized
    /// hash starts again from the empty message.
    @Test func copiesAreIndependentAndFinalizeRestarts() {
        var first = SHA256Hasher()
        first.update(Array("ab".utf8))
        var second = first
        first.update(Array("c".utf8))
        second.update(Array("d".utf8))
        #expect(first.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")  // "abc"
        #expect(second.finalizeHex() == "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9")  // "abd", Python's hashlib
        #expect(second.finalizeHex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")  // ""
    }
}
