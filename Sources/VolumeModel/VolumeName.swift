import Foundation

/// Volume names: they become object-key prefixes and directory names, so they are held to
/// `[a-z0-9][a-z0-9-]{1,61}[a-z0-9]` before anything else sees them.
public enum VolumeName {
    public static func validate(_ name: String) throws(VolumeError) {
        let bytes = Array(name.utf8)
        let isAlphanumeric = { (byte: UInt8) in (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) }
        guard bytes.count >= 3, bytes.count <= 63, isAlphanumeric(bytes.first!), isAlphanumeric(bytes.last!),
            bytes.allSatisfy({ isAlphanumeric($0) || $0 == 0x2D })
        else {
            throw VolumeError(
                .invalidParams, "invalid volume name \"\(name)\": use 3-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit",
                data: ["field": "name"])
        }
    }

    /// A fresh name for a volume created without one: `vol-` and 12 random hex digits.
    public static func generate() -> String {
        "vol-" + (0..<12).map { _ in String(UInt8.random(in: 0..<16), radix: 16) }.joined()
    }
}
