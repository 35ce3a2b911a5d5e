import Cryptography
import Foundation
import ObjectStorage
import StorageFormat
import SystemPackage
import TestSupport
import Testing
import VolumeModel
import Volumes

/// A version's index as content-addressed pieces: a commit uploads what changed, a mount
/// fetches what it lacks, and a damaged or missing piece is an error, never wrong metadata.
@Suite(.serialized) struct IndexPiecesTests {
    private func fixture() throws -> VolumeFixture {
        try VolumeFixture(bucketPrefix: "pieces-\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// A file's name, long and unlike every other (so that it does not compress): enough of
    /// them make an index of many pieces, in which a lookup is a small share.
    private static func name(_ file: Int) -> String {
        "f\(file)-" + (0..<3).map { Hex.encode(SHA256.hash(Array("\(file)/\($0)".utf8))) }.joined()
    }

    /// Piece keys in the fixture's bucket.
    private func pieceKeys(_ fixture: VolumeFixture) throws -> Set<String> {
        Set(try fixture.objects().listAll(prefix: "_pieces/").map(\.key))
    }

    @Test(arguments: MetadataStoreType.allCases)
    func aSmallChangeUploadsAFewPiecesAndTheVersionsReadBack(type: MetadataStoreType) throws {
        let fixture = try fixture()
        let live = try fixture.mount(try fixture.newVolume(type))
        for file in 0..<6000 { try VolumeFixture.write("file \(file) " + String(repeating: "x", count: file % 97), to: "d\(file % 30)/f\(file)", in: live) }
        let first = try live.commit(message: "many files")
        let firstPieces = try pieceKeys(fixture)
        #expect(first.index?.path.hasSuffix("/index.manifest") == true)
        #expect(firstPieces.count >= 6, "a \(first.indexBytes ?? 0)-byte index in \(firstPieces.count) pieces")

        // A change touches a few pages (SQLite) or a few stretches of the key-ordered dump
        // (Redis: the changed keys and the header's save time), not the index.
        try VolumeFixture.write("changed", to: "d7/f7", in: live)
        let second = try live.commit(message: "one change")
        let added = try pieceKeys(fixture).subtracting(firstPieces)
        #expect(!added.isEmpty && added.count <= 8, "one change added \(added.count) of \(firstPieces.count) pieces")
        #expect(try fixture.files(of: second)["d7/f7"] == "changed")
        #expect(try fixture.files(of: first)["d7/f7"] == "file 7 " + String(repeating: "x", count: 7))
        try live.unmount(abandon: true)
    }

    /// The same on the GCS and Azure peers, for both engines: a small change adds a few
    /// pieces, a cold machine reads the version in place, and a writable fork fetches the
    /// whole index.
    @Test(arguments: [VolumeFixture.Peer.gcs, .azure], MetadataStoreType.allCases)
    func piecesRoundTripOn(peer: VolumeFixture.Peer, type: MetadataStoreType) throws {
        let fixture = try VolumeFixture(peer: peer, bucketPrefix: "pieces-\(UUID().uuidString.prefix(8).lowercased())")
        let live = try fixture.mount(try fixture.newVolume(type))
        // Enough files for many pieces: an RDB is about a third the size of a database.
        let files = type == .sqlite ? 1200 : 2500
        for file in 0..<files { try VolumeFixture.write("file \(file)", to: "d\(file % 20)/\(Self.name(file))", in: live) }
        _ = try live.commit(message: "many")
        let firstPieces = try pieceKeys(fixture)
        try VolumeFixture.write("changed", to: "d3/\(Self.name(3))", in: live)
        let second = try live.finalize(message: "one change")
        let added = try pieceKeys(fixture).subtracting(firstPieces)
        #expect(firstPieces.count >= 8 && !added.isEmpty && added.count <= 8, "one change added \(added.count) of \(firstPieces.count) pieces")

        let cold = try VolumeFixture(reusingBucketOf: fixture)
        let reader = try cold.mount(second, readOnly: true)
        #expect(try String(contentsOfFile: reader.mountpoint.appending("d3/\(Self.name(3))").string, encoding: .utf8) == "changed")
        #expect(cachedPieces(cold) < firstPieces.count, "a read in place fetched \(cachedPieces(cold)) of \(firstPieces.count) pieces")
        try reader.unmount(abandon: false)
        let fork = try cold.service.fork(second, name: "fork-\(UUID().uuidString.prefix(8).lowercased())")
        let writer = try cold.mount(fork)
        #expect(try VolumeFixture.files(under: writer.mountpoint).count == files)
        try writer.unmount(abandon: true)
    }

    /// A machine that mounted version N fetches only the pieces N+1 changed: its piece
    /// cache, where every fetched piece lands, grows by those alone.
    @Test func aMachineThatHasVersionNFetchesOnlyWhatNPlusOneChanged() throws {
        let fixture = try fixture()
        let live = try fixture.mount(try fixture.newVolume(.sqlite))
        for file in 0..<3000 { try VolumeFixture.write("file \(file)", to: "d\(file % 20)/f\(file)", in: live) }
        let first = try live.commit(message: "n")
        try VolumeFixture.write("changed", to: "d3/f3", in: live)
        let second = try live.commit(message: "n+1")
        try live.unmount(abandon: true)

        let other = try VolumeFixture(reusingBucketOf: fixture)
        #expect(try other.files(of: first)["d3/f3"] == "file 3")
        let full = cachedPieces(other)
        #expect(try other.files(of: second)["d3/f3"] == "changed")
        let delta = cachedPieces(other) - full
        #expect(full >= 6 && delta >= 1 && delta <= 8, "version N fetched \(full) pieces, N+1 then \(delta)")
    }

    /// Pieces in another machine's cache.
    private func cachedPieces(_ fixture: VolumeFixture) -> Int {
        let directory = fixture.state.appending("cache").appending("index-pieces").string
        return FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String }.filter { $0.split(separator: "/").last?.count == 64 }.count ?? 0
    }

    /// A read-only mount and a browse read the index in place (SQLite's pages, or the
    /// records of Redis's key-ordered RDB): a cold machine answers a `stat` after fetching a
    /// few pieces, and a piece that turns bad later fails the call that needs it with EIO,
    /// never with wrong metadata.
    @Test(arguments: MetadataStoreType.allCases)
    func aReadOnlyMountReadsItsIndexInPlace(type: MetadataStoreType) throws {
        let fixture = try fixture()
        let live = try fixture.mount(try fixture.newVolume(type))
        for file in 0..<6000 { try VolumeFixture.write("file \(file)", to: "d\(file % 40)/\(Self.name(file))", in: live) }
        let version = try live.finalize(message: "many")
        let pieces = try pieceKeys(fixture)
        #expect(pieces.count >= 20, "a \(version.indexBytes ?? 0)-byte index in \(pieces.count) pieces")

        let cold = try VolumeFixture(reusingBucketOf: fixture)
        let mounted = try cold.mount(version, readOnly: true)
        defer { try? mounted.unmount(abandon: false) }
        let attributes = try FileManager.default.attributesOfItem(atPath: mounted.mountpoint.appending("d3/\(Self.name(3))").string)
        #expect(attributes[.size] as? Int == 6)
        #expect(try String(contentsOfFile: mounted.mountpoint.appending("d3/\(Self.name(3))").string, encoding: .utf8) == "file 3")
        // A stat and a read touch a few regions of the index (Redis: the `d…` entries, the
        // `i…` attributes, the `c…` chunks, the setting), a piece or two each.
        let fetched = cachedPieces(cold)
        #expect(fetched >= 1 && fetched <= 8, "a stat and a read fetched \(fetched) of \(pieces.count) pieces")

        let browser = try VolumeFixture(reusingBucketOf: fixture)
        #expect(try browser.service.list(version, path: "/d5/\(Self.name(5))").map(\.size) == [6])
        #expect(cachedPieces(browser) <= 8, "a browse of one file fetched \(cachedPieces(browser)) of \(pieces.count) pieces")

        let store = try fixture.objects()
        let originals = try pieces.map { ($0, try store.get($0)) }
        for key in pieces { try store.put(key, data: Data("not the piece".utf8)) }
        // ls, because Foundation's listing takes readdir's error for the end of the directory;
        // -lR of the whole tree, because which pieces the stat fetched depends on where the
        // content-defined cuts fell, and the whole tree surely needs pieces it did not.
        let listing = try Command.run(["ls", "-lR", mounted.mountpoint.string])
        #expect(!listing.succeeded && listing.stderr.contains("Input/output error"), "ls -lR of a tree behind bad pieces: \(listing.stderr.prefix(300))")
        expectVolumeError(.integrityError, "a browse that needs a bad piece") { _ = try VolumeFixture(reusingBucketOf: fixture).service.list(version, path: "/d39") }
        for (key, data) in originals { try store.put(key, data: data) }
    }

    /// Whether the index is read in place (read-only) or fetched whole (a writable fork), a
    /// bad piece fails the mount naming the index.
    @Test(arguments: MetadataStoreType.allCases)
    func aCorruptOrMissingPieceFailsTheMountNamingTheIndex(type: MetadataStoreType) throws {
        let fixture = try fixture()
        let live = try fixture.mount(try fixture.newVolume(type))
        try VolumeFixture.write("kept", to: "f", in: live)
        let version = try live.finalize(message: "v")
        let store = try fixture.objects()
        let pieces = try pieceKeys(fixture).sorted()
        let originals = try pieces.map { ($0, try store.get($0)) }
        // Another machine each time: its own state and caches, so every piece comes from the bucket.
        let mounts: [(String, (VolumeFixture) throws -> Void)] = [
            ("read-only", { _ = try $0.mount(version, readOnly: true) }),
            ("writable fork", { machine in _ = try machine.mount(try machine.service.fork(version, name: "f-\(UUID().uuidString.prefix(8).lowercased())")) }),
        ]
        for (kind, mount) in mounts {
            for key in pieces { try store.put(key, data: Data("not the piece".utf8)) }
            let corrupt = expectVolumeError(.integrityError, "a \(kind) mount of corrupt pieces") { try mount(try VolumeFixture(reusingBucketOf: fixture)) }
            #expect(corrupt?.message.contains(version.index!.path) == true, "\(String(describing: corrupt))")
            for key in pieces { try store.delete(key) }
            let missing = expectVolumeError(.storageError, "a \(kind) mount of missing pieces") { try mount(try VolumeFixture(reusingBucketOf: fixture)) }
            #expect(missing?.message.contains("missing") == true && missing?.message.contains(version.index!.path) == true, "\(String(describing: missing))")
            for (key, data) in originals { try store.put(key, data: data) }
        }
        #expect(try VolumeFixture(reusingBucketOf: fixture).files(of: version) == ["f": "kept"])
    }

    /// A commit that dies after its pieces went up and before its descriptor: nothing is
    /// published, the mount keeps its changes, and the next commit publishes them.
    @Test func aCommitCutBeforeItsDescriptorPublishesNothingAndLosesNothing() throws {
        let proxy = try FaultProxy.s3()
        let fixture = try VolumeFixture(endpoint: proxy.url, bucketPrefix: "cut-\(UUID().uuidString.prefix(8).lowercased())")
        let volume = try fixture.newVolume(.sqlite)
        let live = try fixture.mount(volume)
        try VolumeFixture.write("before", to: "f", in: live)
        // Every attempt of the descriptor's create (the standard policy's eight) meets a 503.
        try proxy.inject(.serviceUnavailable, method: "PUT", containing: fixture.bucketPrefix, path: "volume.json", times: 8)
        expectVolumeError(.storageError, "a commit whose descriptor cannot be written") { _ = try live.commit(message: "lost") }
        #expect(try fixture.objects().listAll(prefix: "versions/").filter { $0.key.hasSuffix("/volume.json") }.isEmpty, "nothing published")
        #expect(try fixture.objects().listAll(prefix: "versions/").contains { $0.key.hasSuffix("/index.manifest") }, "the orphan manifest is garbage for the collector")
        #expect(try proxy.pending(containing: fixture.bucketPrefix) == 0)
        let version = try live.finalize(message: "kept")
        #expect(try fixture.files(of: version) == ["f": "before"])
    }

    /// A version published before pieces (one `index.db` file) still mounts.
    @Test func aOneFileIndexOfAnEarlierReleaseStillMounts() throws {
        let fixture = try fixture()
        let live = try fixture.mount(try fixture.newVolume(.sqlite))
        try VolumeFixture.write("from an earlier release", to: "old.txt", in: live)
        let version = try live.finalize(message: "pieces")
        let store = try fixture.objects()

        // The same index as one file, under a new version id, as releases before pieces wrote it.
        let file = try Scratch.directory("one-file").appending("index.db")
        try assemble(version, from: store, fixture: fixture, into: file)
        let locator = try VersionLocator(bucket: fixture.bucketURI, id: VersionLocator.newID())
        let data = try Data(contentsOf: URL(fileURLWithPath: file.string))
        try store.put(locator.indexKey(.sqlite), data: data)
        var old = version
        old.index = IndexRef(path: locator.uri(ofKey: locator.indexKey(.sqlite)), size: Int64(data.count), sha256: Hex.encode(SHA256.hash(data)))
        old.producedBy?.locator = locator.description
        try store.create(locator.descriptorKey, data: old.encoded(pretty: true))
        #expect(try VolumeFixture(reusingBucketOf: fixture).files(of: old) == ["old.txt": "from an earlier release"])
    }

    /// A Redis version committed before RDBs were put in key order has a manifest without
    /// key fences: a read-only mount fetches its RDB whole and loads it, as it did then. A
    /// manifest whose fences are out of order is refused, never searched.
    @Test func aRedisIndexWithoutKeyFencesStillMountsReadOnly() throws {
        let fixture = try fixture()
        let live = try fixture.mount(try fixture.newVolume(.redis))
        for file in 0..<2000 { try VolumeFixture.write("file \(file)", to: "d\(file % 10)/\(Self.name(file))", in: live) }
        let version = try live.finalize(message: "fenced")
        let store = try fixture.objects()
        let manifestKey = String(version.index!.path.dropFirst(fixture.bucketURI.count + 1))
        let manifest = try JSONSerialization.jsonObject(with: try store.get(manifestKey)) as! [String: Any]
        let fences = try #require(manifest["fences"] as? [Any], "a new Redis manifest has key fences")
        #expect(fences.count >= 3)

        var unfenced = manifest
        unfenced["fences"] = nil
        let old = try republish(version, manifest: unfenced, in: fixture)
        // The machine outlives its mount: a service that goes away stops its private servers.
        let machine = try VolumeFixture(reusingBucketOf: fixture)
        let mounted = try machine.mount(old, readOnly: true)
        #expect(try String(contentsOfFile: mounted.mountpoint.appending("d3/\(Self.name(3))").string, encoding: .utf8) == "file 3")
        try mounted.unmount(abandon: false)

        var shuffled = manifest
        shuffled["fences"] = Array(fences.reversed())
        let bad = try republish(version, manifest: shuffled, in: fixture)
        expectVolumeError(.integrityError, "a manifest of fences out of order") { _ = try VolumeFixture(reusingBucketOf: fixture).mount(bad, readOnly: true) }
    }

    /// `version` again under a new id, its index the given manifest.
    private func republish(_ version: VolumeDescriptor, manifest: [String: Any], in fixture: VolumeFixture) throws -> VolumeDescriptor {
        let store = try fixture.objects()
        let data = try JSONSerialization.data(withJSONObject: manifest)
        let locator = try VersionLocator(bucket: fixture.bucketURI, id: VersionLocator.newID())
        try store.put(locator.manifestKey, data: data)
        var copy = version
        copy.index = IndexRef(path: locator.uri(ofKey: locator.manifestKey), size: Int64(data.count), sha256: Hex.encode(SHA256.hash(data)))
        copy.producedBy?.locator = locator.description
        try store.create(locator.descriptorKey, data: copy.encoded(pretty: true))
        return copy
    }

    /// The index of a version as one file, from its manifest and pieces.
    private func assemble(_ version: VolumeDescriptor, from store: any ObjectStore, fixture: VolumeFixture, into file: FilePath) throws {
        let manifestKey = String(version.index!.path.dropFirst(fixture.bucketURI.count + 1))
        let manifest = try JSONSerialization.jsonObject(with: try store.get(manifestKey)) as! [String: Any]
        var data = Data()
        for piece in manifest["pieces"] as! [[Any]] {
            let sha = piece[0] as! String
            data += try store.get("_pieces/\(sha.prefix(2))/\(sha)")
        }
        try data.write(to: URL(fileURLWithPath: file.string))
    }
}
