import Foundation

/// The `format` setting: what a volume is and where its blocks live, in the JSON shape
/// juicefs reads (field names and meaning in docs/FORMAT.md, "The index").
public struct VolumeFormat: Codable, Sendable, Equatable {
    public var name: String
    public var uuid: String
    public var storage: String
    public var bucket: String
    public var accessKey: String?
    public var secretKey: String?
    /// KiB.
    public var blockSize: Int
    public var compression: String?
    public var shards: Int?
    public var hashPrefix: Bool?
    public var capacity: UInt64?
    public var inodes: UInt64?
    public var encryptKey: String?
    public var trashDays: Int
    public var metaVersion: Int?
    public var minClientVersion: String?
    public var maxClientVersion: String?
    public var dirStats: Bool?
    public var enableACL: Bool

    enum CodingKeys: String, CodingKey {
        case name = "Name", uuid = "UUID", storage = "Storage", bucket = "Bucket", accessKey = "AccessKey", secretKey = "SecretKey"
        case blockSize = "BlockSize", compression = "Compression", shards = "Shards", hashPrefix = "HashPrefix", capacity = "Capacity"
        case inodes = "Inodes", encryptKey = "EncryptKey", trashDays = "TrashDays", metaVersion = "MetaVersion"
        case minClientVersion = "MinClientVersion", maxClientVersion = "MaxClientVersion", dirStats = "DirStats", enableACL = "EnableACL"
    }

    /// A new volume as volumed formats it: 4 MiB blocks, no compression, no trash (the
    /// lifecycle keeps history as versions instead), directory statistics on.
    public init(name: String, uuid: String = UUID().uuidString.lowercased(), storage: String, bucket: String) {
        self.name = name
        self.uuid = uuid
        self.storage = storage
        self.bucket = bucket
        blockSize = 4096
        compression = "none"
        trashDays = 0
        metaVersion = 1
        minClientVersion = "1.1.0-A"
        dirStats = true
        enableACL = false
    }

    public var blockBytes: Int { blockSize * 1024 }

    /// Compact JSON in the field order juicefs writes.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func decode(_ json: String) throws(MetaError) -> VolumeFormat {
        do {
            return try JSONDecoder().decode(VolumeFormat.self, from: Data(json.utf8))
        } catch {
            throw MetaError(.ioError, "the volume's format setting is not valid: \(error)")
        }
    }

    /// Refuses settings this implementation cannot serve faithfully, naming the setting and
    /// its value. (`HashPrefix` is served: see the chunk store's block layout. `TrashDays` is
    /// checked by writable mounts only, since reading never deletes.)
    public func checkSupported() throws(MetaError) {
        func refuse(_ setting: String, _ why: String) -> MetaError {
            MetaError(.notSupported, "the volume's format sets \(setting): \(why); volumed cannot serve such a volume")
        }
        if let version = metaVersion, version > 1 { throw refuse("MetaVersion \(version)", "only metadata version 1 is known") }
        if let key = encryptKey, !key.isEmpty { throw refuse("EncryptKey", "its blocks are encrypted, and volumed reads and writes plain blocks") }
        if let compression, !["", "none"].contains(compression) {
            throw refuse("Compression \"\(compression)\"", "its blocks are compressed, and volumed reads and writes uncompressed blocks")
        }
        if let shards, shards > 1 { throw refuse("Shards \(shards)", "its blocks are spread over \(shards) buckets, and volumed keeps a volume in one") }
        if enableACL { throw refuse("EnableACL", "its files may carry POSIX ACLs, and volumed enforces mode bits only") }
    }
}
