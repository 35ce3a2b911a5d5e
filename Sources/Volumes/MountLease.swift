import Foundation

/// A mount's claim in its bucket, renewed while the mount is served, so that any daemon on
/// the bucket can tell what every machine's mounts hold: the version each is based on, and the
/// slice domains its unpublished blocks are written in. It lapses by itself when its daemon
/// dies; readers judge it by their own clock, so its lifetime is long against clock skew.
struct MountLease: Codable, Sendable, Equatable {
    static let format = "volumed.lease.v1"
    /// How long a lease holds without renewal, and how often a live mount renews it.
    static let lifetime: TimeInterval = 600
    static let renewal: TimeInterval = 60

    var format = MountLease.format
    var mountID: String
    var host: String
    var mountPath: String
    var chunkPrefix: String
    var sliceDomains: [UInt32]
    /// The locator of the version the working copy is based on (`nil` before a first commit).
    var base: String?
    var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case format, mountID = "mount_id", host, mountPath = "mount_path", chunkPrefix = "chunk_prefix", sliceDomains = "slice_domains", base
        case expiresAt = "expires_at"
    }

    static func key(of mountID: String) -> String { "_leases/\(mountID)" }

    func isLive(at now: Date = Date()) -> Bool { expiresAt > now }

    /// Where the mount is, for people: `host:/mount/path`.
    var holder: String { "\(host):\(mountPath)" }

    func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return (try? encoder.encode(self)) ?? Data()
    }

    static func decode(_ data: Data) -> MountLease? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let lease = try? decoder.decode(MountLease.self, from: data), lease.format == format else { return nil }
        return lease
    }
}

extension MountLease {
    /// The lease of a mount's working copy as its record describes it, on this host.
    init(record: MountRecord) {
        self.init(
            mountID: record.id, host: ProcessInfo.processInfo.hostName, mountPath: record.mountPath, chunkPrefix: record.source.chunkPrefix,
            sliceDomains: record.sliceDomains ?? [], base: record.head.producedBy?.locator, expiresAt: Date())
    }
}
