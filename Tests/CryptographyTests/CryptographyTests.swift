import Foundation
import TestSupport
import Testing

@testable import Cryptography

@Suite struct CryptographyTests {
    @Test func sha256MatchesTheFIPSVectors() {
        #expect(Hex.encode(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let hasher = SHA256()
        for piece in ["abcdbcdecdefdefgefghfghighij", "hijkijkljklmklmnlmnomnopnopq"] { hasher.update(Array(piece.utf8)) }
        #expect(Hex.encode(hasher.finalize()) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func hexDecodesWhatItEncodesAndNothingElse() {
        let bytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xAB, 0xFF]
        #expect(Hex.decode(Hex.encode(bytes)) == bytes)
        #expect(Hex.decode("ABff") == [0xAB, 0xFF])
        #expect(Hex.decode("") == [])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }

    @Test func hmacMatchesRFC4231TestCase2() {
        let mac = HMAC.sha256(key: Array("Jefe".utf8), message: "what do ya want for nothing?")
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func rs256SignaturesVerifyWithOpenSSL() throws {
        let keyPath = try Scratch.directory("rsa").appending("key.pem").string
        try Command.check(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyPath])
        try Command.check(["openssl", "pkey", "-in", keyPath, "-pubout", "-out", "\(keyPath).pub"])
        let key = try RSAPrivateKey(pem: String(contentsOfFile: keyPath, encoding: .utf8))
        let message = Array("header.payload".utf8)
        try Data(key.signSHA256(message)).write(to: URL(fileURLWithPath: "\(keyPath).sig"))
        try Data(message).write(to: URL(fileURLWithPath: "\(keyPath).msg"))
        try Command.check(["openssl", "dgst", "-sha256", "-verify", "\(keyPath).pub", "-signature", "\(keyPath).sig", "\(keyPath).msg"])
        try Data("header.payloaX".utf8).write(to: URL(fileURLWithPath: "\(keyPath).msg"))
        #expect(throws: (any Error).self) {
            try Command.check(["openssl", "dgst", "-sha256", "-verify", "\(keyPath).pub", "-signature", "\(keyPath).sig", "\(keyPath).msg"])
        }
    }

    /// Both paths (the CRC32 instruction and the table) against the standard check value
    /// and the bitwise definition, at every length and alignment of the instruction's
    /// eight-byte steps, below and above the length where three lanes take over.
    @Test func crc32cMatchesTheStandardCheckValueAndTheBitwiseDefinition() {
        #expect(CRC32C.hardware, "this machine's processor has SSE 4.2; the fast path must be the one running")
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        let long = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        func bitwise(_ bytes: ArraySlice<UInt8>) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? 0x82F6_3B78 ^ (crc >> 1) : crc >> 1 }
            }
            return crc ^ 0xFFFF_FFFF
        }
        for (start, end) in [(0, long.count), (1, 20), (3, 11), (5, 4096 + 5), (7, 100_000), (0, 8192), (9, 8192 + 9 + 23), (2, 24_002)] {
            let piece = long[start..<end]
            let expected = bitwise(piece)
            #expect(CRC32C.checksum(piece) == expected, "\(start)..<\(end)")
            #expect(piece.withUnsafeBytes { CRC32C.tableChecksum($0) } == expected, "table \(start)..<\(end)")
        }
        #expect(CRC32C.checksum(Data(long)) == bitwise(long[...]), "Data and arrays agree")
        for split in [0, 1, 7, 8191, 50_000, long.count] {
            let head = long[..<split], tail = long[split...]
            let expected = bitwise(long[...])
            #expect(CRC32C.checksum(tail, continuing: CRC32C.checksum(head)) == expected, "continued at \(split)")
            let table = tail.withUnsafeBytes { CRC32C.tableChecksum($0, continuing: head.withUnsafeBytes { CRC32C.tableChecksum($0) }) }
            #expect(table == expected, "table continued at \(split)")
        }
    }

    @Test func nonRSAOrGarbageKeysAreRefused() {
        #expect(throws: OpenSSLError.self) { try RSAPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n") }
    }
}
