import Cryptography
import Foundation
import ObjectStorage
import SystemBridge
import StorageFormat
import SystemPackage
import VolumeModel

/// The objects a volume keeps beside its blocks: the format marker, slice-domain claims,
/// and published versions (index + descriptor).
struct VolumeBucket: Sendable {
    let store: any ObjectStore
    /// The bucket URI as descriptors spell it, without a trailing slash.
    let uri: String

    init(store: any ObjectStore, uri: String) {
        self.store = store
        self.uri = uri.hasSuffix("/") ? String(uri.dropLast()) : uri
    }

    // MARK: - Format

    /// Claims a fresh chunk prefix for a new volume: refuses one that already holds objects,
    /// then writes `juicefs_uuid` only if nobody else did meanwhile.
    func claimFreshPrefix(_ chunkPrefix: String, uuid: String) throws(VolumeError) {
        let what = "checking that \(uri)/\(chunkPrefix)/ is empty"
        let existing: ObjectListPage
        do {
            existing = try store.list(prefix: chunkPrefix + "/", startAfter: nil, continuation: nil, limit: 1)
        } catch {
            throw VolumeError(error, while: what)
        }
        let refusal = VolumeError(
            .notEmpty, "\(uri)/\(chunkPrefix)/ already holds objects; a new volume needs an unused name (pass another name, or fork the existing volume)",
            data: ["chunk_prefix": chunkPrefix])
        guard existing.objects.isEmpty else { throw refusal }
        do {
            try store.create("\(chunkPrefix)/juicefs_uuid", data: Data(uuid.utf8))
        } catch where error.kind == .alreadyExists {
            throw refusal
        } catch {
            throw VolumeError(error, while: what)
        }
    }

    // MARK: - Slice domains

    /// Claims a slice-id domain nobody holds, by conditional create of
    /// `<chunk_prefix>/domains/<n>` (docs/FORMAT.md, "Slice-domain claims").
    func claimSliceDomain(_ chunkPrefix: String, holder: String) throws(VolumeError) -> UInt32 {
        // The nonce makes the claim this call's own, which settles a create whose answer was lost.
        let claim = Data(
            "{\"holder\":\(Self.jsonString(holder)),\"claimed_at\":\"\(Date().formatted(.iso8601))\",\"nonce\":\"\(UUID().uuidString.lowercased())\"}".utf8)
        for _ in 0..<32 {
            let domain = UInt32.random(in: 1..<(1 << 31))
            do {
                try store.create("\(chunkPrefix)/domains/\(domain)", data: claim)
                return domain
            } catch where error.kind == .alreadyExists {
                continue
            } catch {
                throw VolumeError(error, while: "claiming a slice domain in \(uri)/\(chunkPrefix)/domains")
            }
        }
        throw VolumeError(.storageError, "every slice domain tried in \(uri)/\(chunkPrefix)/domains was taken; the bucket's conditional writes may be broken")
    }

    // MARK: - Versions

    /// Uploads the index, then the descriptor (so a descriptor never names a missing
    /// index), returning the descriptor with its `index` and locator filled in.
    func publish(
        _ descriptor: VolumeDescriptor, indexFile: FilePath, at locator: VersionLocator, progress: (VolumeProgress) -> Void
    ) throws(VolumeError) -> VolumeDescriptor {
        var published = descriptor
        let digest: FileDigest
        do {
            digest = try FileDigest.of(indexFile)
        } catch {
            throw VolumeError(.internalError, "cannot read \(indexFile): \(error)")
        }
        progress(VolumeProgress(phase: "upload_index", done: 0, total: digest.size, unit: "bytes"))
        let indexKey = locator.indexKey(descriptor.metadataStoreType)
        do {
            try store.put(indexKey, contentsOf: indexFile, digest: digest)
        } catch {
            throw VolumeError(error, while: "uploading the index to \(locator.uri(ofKey: indexKey))")
        }
        progress(VolumeProgress(phase: "upload_index", done: digest.size, total: digest.size, unit: "bytes"))
        published.index = IndexRef(path: locator.uri(ofKey: indexKey), size: digest.size, sha256: digest.sha256)
        published.indexBytes = digest.size
        try publishDescriptor(published, at: locator)
        return published
    }

    /// Publishes a branch of a committed version without touching its data: a new name
    /// over the same index and chunk prefix, in the lineage as the version's child.
    func branch(_ version: VolumeDescriptor, name: String, as access: VolumeDescriptor.Access, actor: ActionRef) throws(VolumeError) -> VolumeDescriptor {
        guard version.index != nil else {
            throw VolumeError(.notFound, "\(version.name) was never committed: there is nothing to fork; mount it and commit first", data: ["name": version.name])
        }
        var branch = version
        branch.name = name
        branch.access = access
        branch.message = nil
        let locator = try stamp(&branch, asChildOf: version, by: actor)
        try publishDescriptor(branch, at: locator)
        return branch
    }

    /// Makes `child` the next version after `parent` in the lineage, `actor`'s work, to be
    /// published at the fresh locator in this bucket it returns.
    func stamp(_ child: inout VolumeDescriptor, asChildOf parent: VolumeDescriptor, by actor: ActionRef) throws(VolumeError) -> VersionLocator {
        let locator = try VersionLocator.new(in: uri)
        child.parentProducedBy = parent.producedBy
        child.producedBy = actor.stamped(locator: locator.description)
        return locator
    }

    /// Writes a version's descriptor once; an existing one is never replaced.
    func publishDescriptor(_ descriptor: VolumeDescriptor, at locator: VersionLocator) throws(VolumeError) {
        do {
            try store.create(locator.descriptorKey, data: descriptor.encoded(pretty: true))
        } catch {
            throw VolumeError(error, while: "publishing \(locator)")
        }
    }

    func descriptor(at locator: VersionLocator) throws(VolumeError) -> VolumeDescriptor {
        let data: Data
        do {
            data = try store.get(locator.descriptorKey)
        } catch {
            throw VolumeError(error, while: "reading \(locator)")
        }
        return try VolumeDescriptor.decode(data)
    }

    /// The key of an index inside this bucket; refuses a path elsewhere.
    func key(of index: IndexRef) throws(VolumeError) -> String {
        let key = index.path.hasPrefix(uri + "/") ? String(index.path.dropFirst(uri.count + 1)) : ""
        guard key.hasPrefix("versions/"), !key.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw VolumeError(.invalidParams, "index \(index.path) is not a version index inside \(uri)", data: ["field": "index.path"])
        }
        return key
    }

    /// Downloads an index in pieces, checking its size and SHA-256 before it is used.
    func download(_ index: IndexRef, to file: FilePath, progress: (VolumeProgress) -> Void) throws(VolumeError) {
        let key = try key(of: index)
        let piece: Int64 = 8 << 20
        let hasher = SHA256()
        let output: FileDescriptor
        do {
            output = try FileDescriptor.open(file, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw VolumeError(.internalError, "cannot create \(file): \(error)")
        }
        defer { try? output.close() }
        var offset: Int64 = 0
        while true {
            progress(VolumeProgress(phase: "download_index", done: offset, total: index.size, unit: "bytes"))
            let data: Data
            do {
                data = try store.get(key, range: offset..<(offset + piece))
            } catch {
                throw VolumeError(error, while: "downloading the index \(index.path)")
            }
            hasher.update(data)
            do {
                try output.writeAll(data)
            } catch {
                throw VolumeError(.internalError, "writing \(file): \(error)")
            }
            offset += Int64(data.count)
            if Int64(data.count) < piece || offset > index.size { break }
        }
        let digest = Hex.encode(hasher.finalize())
        guard offset == index.size, digest == index.sha256.lowercased() else {
            throw VolumeError(
                .integrityError, "the index \(index.path) is \(offset) bytes with SHA-256 \(digest), but the descriptor promises \(index.size) bytes with \(index.sha256)",
                data: ["path": index.path])
        }
    }

    // MARK: - Helpers

    private static func jsonString(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
