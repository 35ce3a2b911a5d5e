import ChunkStore
import Foundation
import SystemBridge
import SystemPackage
import VolumeModel

/// What a mount's directory remembers about it, so that a daemon that died or stopped can
/// find its working copies again and resume or drop them.
struct MountRecord: Codable, Sendable {
    static let fileName = "mount.json"

    var id: String
    var mountPath: String
    var options: MountOptions
    var source: VolumeDescriptor
    /// The last version this mount published, or `source`.
    var head: VolumeDescriptor
    var actor: ActionRef
    /// The uid that made the mount; `nil` in records from before owners were kept, which
    /// only root and the daemon's user may manage.
    var owner: UInt32?
    /// Every slice domain the working copy has written in (one per writable serve), so the
    /// staged blocks of a left-behind mount can be told from other mounts' of the prefix.
    var sliceDomains: [UInt32]?

    enum CodingKeys: String, CodingKey {
        case id, mountPath = "mount_path", options, source, head, actor, owner = "owner_uid", sliceDomains = "slice_domains"
    }

    /// Writes the record next to the working copy, atomically.
    func save(in directory: FilePath) throws(VolumeError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            try FileSystem.write(try encoder.encode(self), atomicallyTo: directory.appending(Self.fileName))
        } catch {
            throw VolumeError(.internalError, "cannot record the mount in \(directory): \(error)")
        }
    }

    static func load(from directory: FilePath) -> MountRecord? {
        guard let data = (try? FileSystem.contents(of: directory.appending(fileName))) ?? nil else { return nil }
        return try? JSONDecoder().decode(MountRecord.self, from: data)
    }

    /// A record not served by any mount: left behind by a daemon that died or stopped.
    /// `staged` are the blocks its chunk prefix has staged in the cache, of any mount.
    func staleStatus(staged: [BlockKey]) -> MountStatus {
        let domains = Set(sliceDomains ?? [])
        let own = staged.filter { domains.contains($0.sliceID.domain) }
        return MountStatus(
            mountPath: mountPath, mountID: id, volume: source.name, ownerUID: owner, mode: options.readOnly || source.access == .ro ? .ro : .rw, state: .stale,
            metadataStoreType: source.metadataStoreType, lastVersion: head.producedBy?.locator, stagedBlocks: own.count,
            stagedBytes: own.reduce(0) { $0 + Int64($1.size) })
    }
}
