import CChecksum
import Foundation

/// CRC-32C (Castagnoli), for the trailer that proves a cached or staged block file whole.
/// Every block written or fetched passes through it, so it uses the processor's CRC32
/// instruction where there is one, else a table.
public enum CRC32C {
    /// `continuing` is the checksum of the bytes before these: a block written piece by
    /// piece is checksummed as it goes, while each piece is still in the processor's cache.
    public static func checksum<Bytes: ContiguousBytes>(_ bytes: Bytes, continuing previous: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { buffer in
            guard hardware, let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return tableChecksum(buffer, continuing: previous) }
            return ~cchecksum_crc32c_update(~previous, base, buffer.count)
        }
    }

    static let hardware = cchecksum_crc32c_hardware() != 0

    /// The portable path, one byte at a time.
    static func tableChecksum(_ buffer: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        ~buffer.reduce(~previous) { crc, byte in table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8) }
    }

    /// The reflected polynomial 0x82F63B78.
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? 0x82F6_3B78 ^ (crc >> 1) : crc >> 1 }
        return crc
    }
}
