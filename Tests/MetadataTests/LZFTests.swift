@testable import Metadata
import Testing

@Suite struct LZFTests {
    /// "abc", then a back-reference of nine bytes three back: the overlap repeats it.
    @Test func literalsAndOverlappingBackReferences() {
        let compressed: [UInt8] = [0x02, 0x61, 0x62, 0x63, 0xE0, 0x00, 0x02]
        #expect(LZF.decompress(compressed, length: 12) == Array("abcabcabcabc".utf8))
        #expect(LZF.decompress([0x02, 0x61, 0x62, 0x63, 0x20, 0x02], length: 6) == Array("abcabc".utf8))
    }

    @Test func aWrongLengthOrAReferenceBeforeTheStartIsRefused() {
        let compressed: [UInt8] = [0x02, 0x61, 0x62, 0x63, 0xE0, 0x00, 0x02]
        #expect(LZF.decompress(compressed, length: 11) == nil)
        #expect(LZF.decompress(compressed, length: 13) == nil)
        #expect(LZF.decompress([0x00, 0x61, 0x20, 0x05], length: 4) == nil)
        #expect(LZF.decompress([0x05, 0x61], length: 6) == nil)
    }
}
