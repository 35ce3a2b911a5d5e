/// Which bucket and chunk prefix a cached or staged block belongs to: a 64-bit FNV-1a hash of
/// the location, named in hex on disk. A number rather than the name, because every block the
/// cache knows carries one.
public struct CacheSpace: Hashable, Sendable, CustomStringConvertible {
    public let id: UInt64

    public init(location: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in location.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        id = hash
    }

    /// The space a directory of the cache is named after, if it is one.
    init?(directoryName: String) {
        guard let id = UInt64(directoryName, radix: 16), String(id, radix: 16) == directoryName else { return nil }
        self.id = id
    }

    /// The name of its directory below the cache directory.
    public var name: String { String(id, radix: 16) }

    public var description: String { name }
}
