import Foundation
import ObjectStorage
import SystemPackage
import TestSupport
import Testing
import VolumeModel
@testable import Volumes

@Suite(.serialized) struct VolumeServiceTests {
    @Test func newVolumesTakeTheirDefaultsFromConfigurationAndEnvironment() throws {
        let state = try Scratch.directory("volumes-new")
        let plain = try VolumeService(VolumeServiceConfiguration(stateDirectory: state, environment: [:]))
        let local = try plain.new()
        #expect(local.bucket == "file://\(state)/bucket" && local.storage == .file && local.metadataStoreType == .sqlite && local.access == .rw)
        #expect(local.index == nil && local.name.hasPrefix("vol-") && local.chunkPrefix == local.name)

        let environment = ["VOLUME_BUCKET": "s3://env-bucket/volumes", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "VOLUME_METADATA_STORE": "redis"]
        let configured = try VolumeService(
            VolumeServiceConfiguration(stateDirectory: state, defaultBucket: "gs://config-bucket", environment: environment))
        let volume = try configured.new(name: "data-1", region: "eu-west-1")
        #expect(volume.bucket == "s3://env-bucket/volumes" && volume.storage == .s3 && volume.endpoint == "http://127.0.0.1:9000")
        #expect(volume.region == "eu-west-1" && volume.metadataStoreType == .redis)
        #expect(try configured.new(bucket: "abfss://data@acct.dfs.core.windows.net/p").storage == .wasb)
        #expect(try configured.new(metadataStoreType: .sqlite).metadataStoreType == .sqlite)

        for (request, field) in [("Bad_Name", "name"), ("-x", "name"), ("ab", "name")] {
            let error = expectVolumeError(.invalidParams, "\(request) must be refused") {
                _ = try plain.new(name: request)
            }
            #expect(error?.data["field"] == field)
        }
        let error = expectVolumeError(.invalidParams, "an unknown scheme must be refused") {
            _ = try plain.new(bucket: "ftp://nowhere/x")
        }
        #expect(error?.data["field"] == "bucket")
        let badType = try VolumeService(VolumeServiceConfiguration(stateDirectory: state, environment: ["VOLUME_METADATA_STORE": "etcd"]))
        #expect(throws: VolumeError.self) { try badType.new() }
    }

    /// A bucket's versions, newest first, by name or all: commits and forks alike, each
    /// with the id its locator ends in.
    @Test func versionsListABucketNewestFirst() throws {
        let fixture = try VolumeFixture(bucketPrefix: "versions-\(UUID().uuidString.prefix(8).lowercased())")
        let live = try fixture.mount(try fixture.newVolume(.sqlite, name: "line"))
        var published: [VolumeDescriptor] = []
        for epoch in 0..<3 {
            try VolumeFixture.write("epoch \(epoch)", to: "weights", in: live)
            published.append(try live.commit(message: "epoch \(epoch)"))
        }
        let branch = try fixture.service.fork(published[1], name: "branch", as: .ro)
        try live.unmount(abandon: false)

        let all = try fixture.service.versions(inBucket: fixture.bucketURI, endpoint: fixture.endpoint)
        #expect(all.map(\.volume.producedBy?.locator) == ([branch] + published.reversed()).map(\.producedBy?.locator))
        #expect(all.allSatisfy { $0.volume.producedBy?.locator?.hasSuffix("/versions/\($0.id)/volume.json") == true })
        #expect(try fixture.service.versions(inBucket: fixture.bucketURI, endpoint: fixture.endpoint, name: "line").map(\.volume.message) == ["epoch 2", "epoch 1", "epoch 0"])
        #expect(try fixture.service.versions(inBucket: fixture.bucketURI, endpoint: fixture.endpoint, name: "nothing").isEmpty)
    }

    /// The first writable mount formats the volume, and refuses a prefix that holds objects.
    @Test func freshVolumeRefusesToFormatOverANonEmptyPrefix() throws {
        let fixture = try VolumeFixture()
        let volume = try fixture.newVolume(.sqlite)
        try fixture.objects().put("\(volume.chunkPrefix)/chunks/0/0/1_0_4", data: Data("data".utf8))
        let mountpoint = try Scratch.directory("mnt")
        let error = expectVolumeError(.notEmpty, "formatting over a non-empty prefix must fail") {
            _ = try fixture.service.mount(volume, at: mountpoint)
        }
        #expect(error?.data["chunk_prefix"] == volume.chunkPrefix)
        #expect(fixture.service.mounts.isEmpty)
        #expect(try fixture.objects().listAll(prefix: "\(volume.chunkPrefix)/").map(\.key) == ["\(volume.chunkPrefix)/chunks/0/0/1_0_4"])
        #expect(!JuiceFSMount.isMountpoint(mountpoint))

        let fresh = try fixture.mount(try fixture.newVolume(.sqlite))
        let keys = try fixture.objects().listAll(prefix: "\(fresh.source.chunkPrefix)/").map(\.key)
        #expect(keys.contains("\(fresh.source.chunkPrefix)/juicefs_uuid"))
        #expect(keys.contains("\(fresh.source.chunkPrefix)/domains/\(fresh.sliceDomain!)"))
        try fresh.unmount(abandon: false)
        // A second first-mount of the same never-committed volume is a name clash, not a retry.
        #expect(throws: VolumeError.self) { try fixture.mount(fresh.source) }
    }

    /// A committed version forks without a mount; the branch mounts, writes and commits.
    @Test(arguments: MetadataStoreType.allCases)
    func forkOfAColdVersion(type: MetadataStoreType) throws {
        let fixture = try VolumeFixture()
        let writer = try fixture.mount(try fixture.newVolume(type))
        try VolumeFixture.write("ancestor\n", to: "a.txt", in: writer)
        let version = try writer.finalize(message: "v1")
        let actor = ActionRef(name: "fork-task", runName: "r2")
        let branch = try fixture.service.fork(version, name: VolumeFixture.uniqueName("cold"), as: .rw, actor: actor)
        #expect(branch.access == .rw && branch.index == version.index && branch.parentProducedBy == version.producedBy)
        #expect(branch.producedBy?.runName == "r2" && branch.producedBy?.locator != version.producedBy?.locator)
        let sibling = try fixture.service.fork(version, as: .ro)
        #expect(sibling.access == .ro && sibling.name != version.name)

        let live = try fixture.mount(branch)
        try VolumeFixture.write("descendant\n", to: "b.txt", in: live)
        let child = try live.finalize(message: "v2")
        #expect(try fixture.files(of: child) == ["a.txt": "ancestor\n", "b.txt": "descendant\n"])
        #expect(try fixture.files(of: sibling) == ["a.txt": "ancestor\n"])
        #expect(try fixture.service.lineage(of: child).map(\.message) == ["v2", nil, "v1"])

        let unpublished = try fixture.newVolume(type)
        expectVolumeError(.notFound, "a never-committed volume has nothing to fork") {
            _ = try fixture.service.fork(unpublished)
        }
    }

    /// A mount's own cache directory (`cache_dir`) is shared by the mounts that name it and
    /// let go, its memory tier with it, once the last of them is gone: removed then, it is
    /// rebuilt by the next mount rather than written through a cache that thinks it is there.
    @Test func aPrivateCacheIsSharedWhileMountedAndLetGoAfter() throws {
        let fixture = try VolumeFixture()
        let writer = try fixture.mount(try fixture.newVolume(.sqlite))
        let payload = Data((0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 13) })
        try payload.write(to: URL(fileURLWithPath: writer.mountpoint.appending("big.bin").string))
        let version = try writer.finalize(message: "v1")
        let cache = try Scratch.directory("private-cache")
        let options = MountOptions(readOnly: true, cacheDir: cache.string)
        func cachedBlocks() -> Int {
            (FileManager.default.enumerator(atPath: cache.string)?.compactMap { $0 as? String } ?? []).filter { $0.contains("/raw/") && $0.hasSuffix("_4194304") }.count
        }
        func letGo() {
            let deadline = Date().addingTimeInterval(10)
            while !fixture.service.openPrivateCaches.isEmpty, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        }

        // Mounts are held by path only: a LiveVolume kept here would keep its cache.
        func mountAndRead() throws -> FilePath {
            let live = try fixture.service.mount(version, at: try Scratch.directory("mnt"), options: options)
            #expect(try Data(contentsOf: URL(fileURLWithPath: live.mountpoint.appending("big.bin").string)) == payload)
            return live.mountpoint
        }
        func unmount(_ path: FilePath) throws { try fixture.service.mount(at: path)?.unmount(abandon: false) }

        let first = try mountAndRead()
        let second = try mountAndRead()
        #expect(fixture.service.openPrivateCaches == [cache])
        try unmount(first)
        #expect(fixture.service.openPrivateCaches == [cache], "still used by the second mount")
        try unmount(second)
        letGo()
        #expect(fixture.service.openPrivateCaches.isEmpty)
        #expect(cachedBlocks() == 1)

        try FileManager.default.removeItem(atPath: cache.string)
        try unmount(try mountAndRead())
        #expect(cachedBlocks() == 1, "the removed directory was rebuilt")
    }

    /// sqlite → redis → sqlite keeps every file and slice, moves no block, and links each
    /// result to its source.
    @Test func migrateBetweenMetadataStores() throws {
        let fixture = try VolumeFixture()
        let writer = try fixture.mount(try fixture.newVolume(.sqlite))
        for index in 0..<30 { try VolumeFixture.write("file \(index)\n", to: "dir-\(index % 3)/f\(index).txt", in: writer) }
        try VolumeFixture.write(String(repeating: "big ", count: 2_000_000), to: "big.txt", in: writer)
        let original = try writer.finalize(message: "original")
        let expected = try fixture.files(of: original)
        #expect(expected.count == 31 && expected["dir-1/f4.txt"] == "file 4\n")
        let blocks = try fixture.objects().listAll(prefix: "\(original.chunkPrefix)/chunks/")

        let toRedis = try fixture.service.migrate(original, to: .redis, actor: ActionRef(name: "migrate"))
        #expect(toRedis.metadataStoreType == .redis && toRedis.index?.path.hasSuffix("/index.manifest") == true)
        #expect(toRedis.parentProducedBy == original.producedBy && toRedis.name == original.name && toRedis.chunkPrefix == original.chunkPrefix)
        #expect(toRedis.inodeCount == original.inodeCount && toRedis.usedBytes == original.usedBytes)
        #expect(try fixture.files(of: toRedis) == expected)
        let back = try fixture.service.migrate(toRedis, to: .sqlite)
        #expect(back.metadataStoreType == .sqlite && back.index?.path.hasSuffix("/index.manifest") == true)
        #expect(try fixture.files(of: back) == expected)
        #expect(try fixture.objects().listAll(prefix: "\(original.chunkPrefix)/chunks/") == blocks)
        #expect(try fixture.service.lineage(of: back).count == 3)

        expectVolumeError(.unchanged, "migrating to the same store type must be refused") {
            _ = try fixture.service.migrate(back, to: .sqlite)
        }
        // A migrated version is a normal one: it mounts writable through a fork.
        let live = try fixture.mount(try fixture.service.fork(toRedis, as: .rw))
        try VolumeFixture.write("after\n", to: "after.txt", in: live)
        var grown = expected
        grown["after.txt"] = "after\n"
        #expect(try fixture.files(of: try live.finalize(message: "grown")) == grown)
    }

    /// A descriptor whose index does not hash to what it promises is refused at mount.
    @Test func tamperedIndexIsRefused() throws {
        let fixture = try VolumeFixture()
        let writer = try fixture.mount(try fixture.newVolume(.sqlite))
        try VolumeFixture.write("x\n", to: "x.txt", in: writer)
        var version = try writer.finalize(message: "v")
        version.index?.sha256 = String(repeating: "0", count: 64)
        expectVolumeError(.integrityError, "a mismatching index must be refused") {
            _ = try fixture.mount(version, readOnly: true)
        }
        version.index?.path = "s3://elsewhere/versions/x/index.db"
        #expect(throws: VolumeError.self) { try fixture.mount(version, readOnly: true) }
        #expect(fixture.service.mounts.isEmpty)
    }
}
