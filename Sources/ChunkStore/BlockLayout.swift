/// Where a volume's block objects live: under its chunk prefix, in juicefs's tree of
/// `chunks/{id/1e6}/{id/1e3}/` folders or, for a volume formatted with `--hash-prefix`, in
/// 256 first-level folders chosen by slice id, which S3 users turn on to spread requests
/// over key partitions. Both name the block itself `{id}_{index}_{size}`.
public struct BlockLayout: Sendable, Hashable {
    /// The format `Name` of the volume's first ancestor.
    public var chunkPrefix: String
    /// The format's `HashPrefix`.
    public var hashPrefix: Bool

    public init(chunkPrefix: String, hashPrefix: Bool = false) {
        self.chunkPrefix = chunkPrefix
        self.hashPrefix = hashPrefix
    }

    public func objectKey(_ block: BlockKey) -> String {
        let id = block.sliceID.rawValue
        guard hashPrefix else { return "\(chunkPrefix)/chunks/\(id / 1_000_000)/\(id / 1000)/\(block.name)" }
        let digits = Array("0123456789ABCDEF")
        return "\(chunkPrefix)/chunks/\(digits[Int(id % 256) / 16])\(digits[Int(id % 16)])/\(id / 1_000_000)/\(block.name)"
    }
}
