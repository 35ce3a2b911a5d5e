import Cryptography
import Foundation
import Metadata
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
    /// Where index pieces this machine fetched or published are kept, if anywhere.
    let pieceCache: IndexPieceCache?

    init(store: any ObjectStore, uri: String, pieceCache: IndexPieceCache? = nil) {
        self.store = store
        self.uri = uri.hasSuffix("/") ? String(uri.dropLast()) : uri
        self.pieceCache = pieceCache
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

    /// Uploads the index as pieces (those in `known` are in the bucket already and are not
    /// sent again), then its manifest, then the descriptor (so a descriptor never names a
    /// missing index), returning the descriptor with its `index` and locator filled in, and
    /// the manifest. Pieces uploaded for a version whose descriptor never comes are garbage
    /// for the collector; a published object is never rewritten.
    func publish(
        _ descriptor: VolumeDescriptor, index: IndexSnapshot, at locator: VersionLocator, known: Set<String>, progress: (VolumeProgress) -> Void
    ) throws(VolumeError) -> (VolumeDescriptor, IndexManifest) {
        var published = descriptor
        let manifest = try uploadPieces(of: index, engine: descriptor.metadataStoreType, known: known, progress: progress)
        let data = manifest.encoded
        do {
            try store.put(locator.manifestKey, data: data)
        } catch {
            throw VolumeError(error, while: "uploading the index manifest to \(locator.uri(ofKey: locator.manifestKey))")
        }
        published.index = IndexRef(path: locator.uri(ofKey: locator.manifestKey), size: Int64(data.count), sha256: Hex.encode(SHA256.hash(data)))
        published.indexBytes = manifest.size
        try publishDescriptor(published, at: locator)
        return (published, manifest)
    }

    /// Cuts the index into pieces, uploads those the bucket lacks (and keeps them in the
    /// machine's piece cache, since a later mount here wants them), and lists them all.
    /// Progress is reported from the calling thread, as pieces are handed to the uploads.
    private func uploadPieces(
        of index: IndexSnapshot, engine: MetadataStoreType, known: Set<String>, progress: (VolumeProgress) -> Void
    ) throws(VolumeError) -> IndexManifest {
        let total = index.size
        let uploads = ParallelWork()
        let sent = Counter()
        var pieces: [IndexManifest.Piece] = []
        var starts: [Int64] = []
        var size: Int64 = 0
        var queued = known
        progress(VolumeProgress(phase: "upload_index", done: 0, total: total, unit: "bytes"))
        try IndexSplitter.forEngine(engine).split(index) { (data) throws(VolumeError) in
            let sha256 = Hex.encode(SHA256.hash(data))
            pieces.append(IndexManifest.Piece(sha256: sha256, size: data.count))
            starts.append(size)
            size += Int64(data.count)
            guard queued.insert(sha256).inserted else { return }
            uploads.submit { [self] () throws(VolumeError) in
                do throws(ObjectStoreError) {
                    try store.put(IndexManifest.key(of: sha256), data: data)
                } catch {
                    throw VolumeError(error, while: "uploading index piece \(sha256) to \(uri)")
                }
                pieceCache?.keep(sha256, data)
                sent.add(Int64(data.count))
            }
            progress(VolumeProgress(phase: "upload_index", done: sent.total, total: total, unit: "bytes"))
        }
        let fences: [KeyFence?]?
        do {
            fences = try index.keyFences(pieceStarts: starts)
        } catch {
            try? uploads.finish()
            throw VolumeError(error, while: "indexing the keys of \(index.file)")
        }
        try uploads.finish()
        progress(VolumeProgress(phase: "upload_index", done: total, total: total, unit: "bytes"))
        return IndexManifest(engine: engine, size: size, pieces: pieces, fences: fences)
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

    /// The unexpired leases of every mount on this bucket, on any machine.
    func liveLeases(at now: Date = Date()) throws(VolumeError) -> [MountLease] {
        try leases().filter { $0.isLive(at: now) }
    }

    /// Every lease in the bucket, lapsed or not; one removed between the listing and the read
    /// has ended. A lease that cannot be read is skipped, unless `strict` (gc must know every
    /// lease before it deletes anything).
    func leases(strict: Bool = false) throws(VolumeError) -> [MountLease] {
        let objects: [ObjectInfo]
        do {
            objects = try store.listAll(prefix: "_leases/")
        } catch {
            throw VolumeError(error, while: "listing the mount leases of \(uri)")
        }
        let found = Collected<MountLease>()
        let work = ParallelWork()
        for object in objects {
            work.submit { () throws(VolumeError) in
                let data: Data
                do throws(ObjectStoreError) {
                    data = try self.store.get(object.key)
                } catch where error.kind == .notFound || !strict {
                    return
                } catch {
                    throw VolumeError(error, while: "reading the lease \(self.uri)/\(object.key)")
                }
                guard let lease = MountLease.decode(data), MountLease.key(of: lease.mountID) == object.key else {
                    guard strict else { return }
                    throw VolumeError(.integrityError, "\(self.uri)/\(object.key) is not a mount lease volumed can read", data: ["key": object.key])
                }
                found.append(lease)
            }
        }
        try work.finish()
        return found.all
    }

    /// Every version published here, by its descriptor's key (an index without one was never
    /// published and is not listed).
    func versionLocators() throws(VolumeError) -> [VersionLocator] {
        let objects: [ObjectInfo]
        do {
            objects = try store.listAll(prefix: "versions/")
        } catch {
            throw VolumeError(error, while: "listing the versions of \(uri)")
        }
        return objects.compactMap { object in
            let parts = object.key.split(separator: "/")
            guard parts.count == 3, parts[2] == "volume.json" else { return nil }
            return try? VersionLocator(bucket: uri, id: String(parts[1]))
        }
    }

    /// Every published version with its descriptor, read in parallel (a bucket of a hundred
    /// versions is a listing and a hundred small GETs), but those whose descriptor keys are in
    /// `known`. One deleted between the listing and the read is left out; one that cannot be
    /// read fails the call.
    func publishedVersions(skipping known: Set<String> = []) throws(VolumeError) -> [(VersionLocator, VolumeDescriptor)] {
        let locators = try versionLocators().filter { !known.contains($0.descriptorKey) }
        let found = Collected<VolumeDescriptor?>(Array(repeating: nil, count: locators.count))
        let work = ParallelWork()
        for (index, locator) in locators.enumerated() {
            work.submit { () throws(VolumeError) in
                do throws(VolumeError) {
                    found.set(index, try self.descriptor(at: locator))
                } catch where error.code == .notFound {
                    // Deleted between the listing and the read.
                }
            }
        }
        try work.finish()
        return zip(locators, found.all).compactMap { locator, volume in volume.map { (locator, $0) } }
    }

    func descriptor(at locator: VersionLocator) throws(VolumeError) -> VolumeDescriptor {
        let data: Data
        do {
            data = try store.get(locator.descriptorKey)
        } catch {
            throw VolumeError(error, while: "reading \(locator)")
        }
        // Bytes in the bucket that do not make a descriptor are damage there, not a bad request.
        do {
            return try VolumeDescriptor.decode(data)
        } catch {
            throw VolumeError(.integrityError, "\(locator) is not a descriptor volumed can read (\(error.message))", data: ["locator": locator.description])
        }
    }

    /// The key of an index inside this bucket; refuses a path elsewhere.
    func key(of index: IndexRef) throws(VolumeError) -> String {
        let key = index.path.hasPrefix(uri + "/") ? String(index.path.dropFirst(uri.count + 1)) : ""
        guard key.hasPrefix("versions/"), !key.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw VolumeError(.invalidParams, "index \(index.path) is not a version index inside \(uri)", data: ["field": "index.path"])
        }
        return key
    }

    /// Whether an index is stored in pieces (a manifest) rather than as one file.
    func isPieced(_ index: IndexRef) throws(VolumeError) -> Bool {
        try key(of: index).hasSuffix("/index.manifest")
    }

    /// Downloads an index to `file`: its pieces through the machine's piece cache, each
    /// checked against its hash (a version published before pieces: the one file, checked
    /// against its size and SHA-256). Returns the manifest, `nil` for a one-file index.
    @discardableResult
    func download(_ index: IndexRef, to file: FilePath, progress: (VolumeProgress) -> Void) throws(VolumeError) -> IndexManifest? {
        let output: FileDescriptor
        do {
            output = try FileDescriptor.open(file, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw VolumeError(.internalError, "cannot create \(file): \(error)")
        }
        defer { try? output.close() }
        return try download(index, into: output, named: file.string, progress: progress)
    }

    /// Downloads an index into an empty file open for writing (`name` says which, in errors).
    @discardableResult
    func download(_ index: IndexRef, into output: FileDescriptor, named file: String, progress: (VolumeProgress) -> Void) throws(VolumeError) -> IndexManifest? {
        guard try isPieced(index) else {
            try downloadWhole(index, key: try key(of: index), into: output, named: file, progress: progress)
            return nil
        }
        let manifest = try self.manifest(of: index)
        let fetches = ParallelWork()
        let fetched = Counter()
        progress(VolumeProgress(phase: "download_index", done: 0, total: manifest.size, unit: "bytes"))
        var offset: Int64 = 0
        for piece in manifest.pieces {
            let at = offset
            offset += Int64(piece.size)
            fetches.submit { [self] () throws(VolumeError) in
                let data = try self.piece(piece, of: index)
                do {
                    try output.writeAll(data, toAbsoluteOffset: at)
                } catch {
                    throw VolumeError(.internalError, "writing \(file): \(error)")
                }
                fetched.add(Int64(data.count))
            }
            progress(VolumeProgress(phase: "download_index", done: fetched.total, total: manifest.size, unit: "bytes"))
        }
        try fetches.finish()
        progress(VolumeProgress(phase: "download_index", done: manifest.size, total: manifest.size, unit: "bytes"))
        return manifest
    }

    /// The manifest an index names, checked against the size and SHA-256 the descriptor
    /// promises.
    func manifest(of index: IndexRef) throws(VolumeError) -> IndexManifest {
        let key = try key(of: index)
        let data: Data
        do {
            data = try store.get(key)
        } catch {
            throw VolumeError(error, while: "reading the index manifest \(index.path)")
        }
        let digest = Hex.encode(SHA256.hash(data))
        guard Int64(data.count) == index.size, digest == index.sha256.lowercased() else {
            throw VolumeError(
                .integrityError, "the index manifest \(index.path) is \(data.count) bytes with SHA-256 \(digest), but the descriptor promises \(index.size) bytes with \(index.sha256)",
                data: ["path": index.path])
        }
        return try IndexManifest.decode(data, path: index.path)
    }

    /// A piece from the cache, else from the bucket; either way checked against its hash.
    func piece(_ piece: IndexManifest.Piece, of index: IndexRef) throws(VolumeError) -> Data {
        if let cached = pieceCache?.piece(piece.sha256), cached.count == piece.size { return cached }
        let data: Data
        do {
            data = try store.get(IndexManifest.key(of: piece.sha256))
        } catch where error.kind == .notFound {
            throw VolumeError(
                .storageError, "index piece \(piece.sha256) of \(index.path) is missing from \(uri)", data: ["path": index.path, "piece": piece.sha256])
        } catch {
            throw VolumeError(error, while: "fetching index piece \(piece.sha256) of \(index.path)")
        }
        guard data.count == piece.size, Hex.encode(SHA256.hash(data)) == piece.sha256 else {
            throw VolumeError(
                .integrityError, "index piece \(piece.sha256) of \(index.path) does not match its hash (\(data.count) bytes, \(piece.size) expected)",
                data: ["path": index.path, "piece": piece.sha256])
        }
        pieceCache?.keep(piece.sha256, data)
        return data
    }

    /// Downloads a one-file index in ranges, checking its size and SHA-256 before it is used.
    private func downloadWhole(_ index: IndexRef, key: String, into output: FileDescriptor, named file: String, progress: (VolumeProgress) -> Void)
        throws(VolumeError)
    {
        let piece: Int64 = 8 << 20
        let hasher = SHA256()
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

/// A running total that upload and fetch threads add to, read for progress.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var sum: Int64 = 0

    var total: Int64 { lock.withLock { sum } }

    func add(_ amount: Int64) {
        lock.withLock { sum += amount }
    }
}
