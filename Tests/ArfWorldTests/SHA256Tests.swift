// SHA-256 against the standard's published test vectors, and incremental hashing in uneven
// pieces against one-shot hashing.
import Foundation
import Testing

@testable import ArfWorld

struct SHA256Tests {
    @Test("the empty message, abc and the two-block message hash to the published digests")
    func matchesPublishedVectors() {
        #expect(
            SHA256.hex("")
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hex("abc")
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("hashing a message in uneven pieces gives the one-shot digest")
    func incrementalEqualsOneShot() {
        let message = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var hasher = SHA256()
        var start = 0
        for piece in [1, 63, 64, 65, 0, 200, 3, 500] {
            let end = min(start + piece, message.count)
            hasher.update(Array(message[start..<end]))
            start = end
        }
        hasher.update(Array(message[start...]))
        #expect(SHA256.hexString(hasher.finish()) == SHA256.hex(Data(message)))
    }
}
