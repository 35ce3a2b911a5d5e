@testable import Metadata
import Testing

@Suite struct ListpackTests {
    /// One entry of each encoding, each followed by its back-length.
    @Test func everyEncodingDecodes() {
        var blob: [UInt8] = [0, 0, 0, 0, 7, 0]
        blob += [0x05, 1]  // 7-bit unsigned 5
        blob += [0x82, 0x61, 0x62, 3]  // 6-bit string "ab"
        blob += [0xDF, 0x9C, 2]  // 13-bit signed -100
        blob += [0xE0, 0x02, 0x78, 0x79, 4]  // 12-bit string "xy"
        blob += [0xF1, 0xE8, 0x03, 3]  // 16-bit 1000
        blob += [0xF3, 0x00, 0x00, 0x00, 0x80, 5]  // 32-bit Int32.min
        blob += [0xF4, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 9]  // 64-bit 2^32
        blob += [0xFF]
        #expect(Listpack.entries(blob)?.map { String(decoding: $0, as: UTF8.self) } == ["5", "ab", "-100", "xy", "1000", "-2147483648", "4294967296"])
    }

    @Test func aTruncatedOrUnterminatedListpackIsRefused() {
        let blob: [UInt8] = [0, 0, 0, 0, 1, 0, 0x82, 0x61, 0x62, 3, 0xFF]
        #expect(Listpack.entries(blob) != nil)
        #expect(Listpack.entries(Array(blob.dropLast())) == nil)
        #expect(Listpack.entries([0, 0, 0, 0, 1, 0, 0xBF, 0x61, 0xFF]) == nil, "a 63-byte string in three bytes")
    }
}
