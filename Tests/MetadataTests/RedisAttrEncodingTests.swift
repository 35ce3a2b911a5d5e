@testable import Metadata
import Testing

@Suite struct RedisAttrEncodingTests {
    /// The root attribute juicefs 1.4.2 writes at format (docs/FORMAT.md, "The index").
    static let juicefsRoot: [UInt8] = hex(
        "00 21ff 00000000 00000000 000000006b060c58 00000000 000000006b060c58 00000000 000000006b060c58 00000000"
            + " 00000002 0000000000001000 00000000 0000000000000001 00")

    @Test func decodesTheRootJuicefsWrites() throws {
        let attr = try #require(Attr(redisEncoded: Self.juicefsRoot))
        #expect(attr.type == .directory && attr.mode == 0o777 && attr.nlink == 2 && attr.length == 4096 && attr.parent == 1)
        #expect(attr.mtime == Timestamp(seconds: 0x6b06_0c58, nanoseconds: 0) && attr.tier == 0)
        #expect(attr.redisEncoded == Self.juicefsRoot, "72 bytes: 71 of fields and juicefs's trailing pad")
    }

    @Test func aclIdsAndTierExtendTheValue() throws {
        var attr = try #require(Attr(redisEncoded: Self.juicefsRoot))
        attr.accessACL = 7
        attr.tier = 2
        attr.mode = 0o4755
        let encoded = attr.redisEncoded
        #expect(encoded.count == 72 + 8 + 1)
        #expect(Attr(redisEncoded: encoded) == attr)
    }

    @Test func truncatedValuesAreRejectedAndUnpaddedOnesAccepted() {
        #expect(Attr(redisEncoded: Array(Self.juicefsRoot.prefix(62))) == nil)
        #expect(Attr(redisEncoded: Array(Self.juicefsRoot.prefix(71)))?.parent == 1)
        #expect(Attr(redisEncoded: Array(Self.juicefsRoot.prefix(63)))?.parent == 0, "no parent field: a hard-linked inode")
    }

    private static func hex(_ text: String) -> [UInt8] {
        let digits = text.filter { !$0.isWhitespace }
        return stride(from: 0, to: digits.count, by: 2).map { offset in
            let start = digits.index(digits.startIndex, offsetBy: offset)
            return UInt8(digits[start..<digits.index(start, offsetBy: 2)], radix: 16)!
        }
    }
}
