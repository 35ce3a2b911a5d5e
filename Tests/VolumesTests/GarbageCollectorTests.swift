import Foundation
import ObjectStorage
import StorageFormat
import TestSupport
import Testing
import VolumeModel

@testable import Volumes

/// gc on real S3: a lineage with forks, deleted files and versions, an abandoned mount, and a
/// live writable mount on a second machine that keeps writing while gc runs. Every remaining
/// version and the live mount's result must read back byte for byte afterwards, and the
/// bucket must shrink by exactly what the report says.
@Suite(.serialized) struct GarbageCollectorTests {
    private static func prefix(_ stem: String) -> String { "\(stem)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// Every object of the fixture's bucket prefix, key → size.
    private func inventory(_ fixture: VolumeFixture) throws -> [String: Int64] {
        Dictionary(uniqueKeysWithValues: try fixture.objects().listAll().map { ($0.key, $0.size) })
    }

    private func collect(_ fixture: VolumeFixture, dryRun: Bool = false, keepLast: Int? = nil, grace: Duration = .zero) throws -> GCReport {
        try fixture.service.collectGarbage(inBucket: fixture.bucketURI, endpoint: fixture.endpoint, grace: grace, dryRun: dryRun, keepLast: keepLast)
    }

    /// Waits until the bucket holds blocks of `domain` (a mount without writeback uploads
    /// as files close, in the background).
    private func waitForBlocks(_ fixture: VolumeFixture, prefix: String, domain: UInt32) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if try fixture.sliceIDs(chunkPrefix: prefix).contains(where: { SliceID($0).domain == domain }) { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw DaemonFixture.Failure("no block of domain \(domain) reached the bucket within 30 s")
    }

    @Test func gcKeepsEveryVersionAndLiveMountAndDeletesWhatNothingReaches() throws {
        let machineA = try VolumeFixture(bucketPrefix: Self.prefix("gc"))
        let machineB = try VolumeFixture(reusingBucketOf: machineA)
        var expected: [String: [String: String]] = [:]
        var versions: [VolumeDescriptor] = []
        func record(_ version: VolumeDescriptor, _ files: [String: String]) {
            versions.append(version)
            expected[version.producedBy!.locator!] = files
        }

        // A lineage of five versions, with files overwritten and deleted along the way.
        let line = try machineA.mount(try machineA.newVolume(.sqlite, name: VolumeFixture.uniqueName("line")))
        var files: [String: String] = [:]
        for step in 1...5 {
            for index in 0..<4 { files["dir/\(step)-\(index)"] = String(repeating: "v\(step).\(index) ", count: 500 * step) }
            files["shared"] = "overwritten at \(step)"
            if step > 2 { files.removeValue(forKey: "dir/\(step - 2)-0") }
            for (path, text) in files { try VolumeFixture.write(text, to: path, in: line) }
            if step > 2 { try FileManager.default.removeItem(atPath: line.mountpoint.appending("dir/\(step - 2)-0").string) }
            record(try line.commit(message: "step \(step)"), files)
        }
        try line.unmount(abandon: false)

        // Two forks: a branch of step 3 that diverges, and a branch of step 5 kept live on B.
        let branch = try machineA.mount(try machineA.service.fork(versions[2], name: VolumeFixture.uniqueName("fork")))
        var branchFiles = expected[versions[2].producedBy!.locator!]!
        branchFiles["branch-only"] = "written on the fork"
        try VolumeFixture.write("written on the fork", to: "branch-only", in: branch)
        record(try branch.finalize(message: "fork"), branchFiles)

        // A Redis line, whose first version is deleted below.
        let redis = try machineA.mount(try machineA.newVolume(.redis, name: VolumeFixture.uniqueName("redis")))
        try VolumeFixture.write(String(repeating: "gone ", count: 2000), to: "gone", in: redis)
        try VolumeFixture.write("stays", to: "stays", in: redis)
        let redisFirst = try redis.commit(message: "r1")
        try FileManager.default.removeItem(atPath: redis.mountpoint.appending("gone").string)
        record(try redis.finalize(message: "r2"), ["stays": "stays"])

        // An abandoned mount: its blocks reached the bucket, nothing ever named them.
        let abandoned = try machineA.mount(try machineA.service.fork(versions[4], name: VolumeFixture.uniqueName("gone")))
        try VolumeFixture.write(String(repeating: "abandoned ", count: 5000), to: "abandoned", in: abandoned)
        try waitForBlocks(machineA, prefix: versions[4].chunkPrefix, domain: abandoned.sliceDomain!)
        try abandoned.unmount(abandon: true)

        // Versions deleted from the catalogue: their unique blocks and pieces are garbage.
        _ = try machineA.service.delete([versions[0], versions[1], redisFirst])
        for gone in versions[0...1] { expected.removeValue(forKey: gone.producedBy!.locator!) }
        let remaining = versions.filter { expected[$0.producedBy!.locator!] != nil }

        // The live mount on machine B keeps writing while gc runs on A.
        let live = try machineB.mount(try machineB.service.fork(versions[4], name: VolumeFixture.uniqueName("live")))
        var liveFiles = expected[versions[4].producedBy!.locator!]!
        try VolumeFixture.write("before gc", to: "live-0", in: live)
        liveFiles["live-0"] = "before gc"
        try waitForBlocks(machineB, prefix: versions[4].chunkPrefix, domain: live.sliceDomain!)

        let dry = try collect(machineA, dryRun: true)
        let before = try inventory(machineA)
        #expect(dry.deleted == GCReport.Tally() && dry.garbage.objects > 0, "a dry run finds garbage and deletes nothing")
        #expect(try inventory(machineA).keys.sorted() == before.keys.sorted())

        let writer = LiveWriter(live: live)
        let report = try collect(machineA)
        liveFiles.merge(writer.stop()) { $1 }
        #expect(report.garbage == dry.garbage, "the dry run found what the real one deleted")
        #expect(report.deleted == report.garbage, "everything found was deleted")
        for kind in ["blocks", "pieces", "claims"] { #expect((report.kinds[kind]?.objects ?? 0) > 0, "\(kind) of deleted versions and the abandoned mount") }
        #expect(report.heldBy == ["\(ProcessInfo.processInfo.hostName):\(live.mountpoint)"])

        // The bucket dropped by exactly the report's figures.
        let after = try inventory(machineA)
        let survivors = before.filter { after[$0.key] != nil }
        #expect(Int64(before.count - survivors.count) == report.deleted.objects)
        #expect(before.values.reduce(0, +) - survivors.values.reduce(0, +) == report.deleted.bytes)
        #expect(try collect(machineA).garbage == GCReport.Tally(), "a second gc finds nothing")

        // Everything that remains reads back byte for byte, the live mount's work included.
        for version in remaining {
            #expect(try machineA.files(of: version) == expected[version.producedBy!.locator!], "\(version.message ?? "")")
        }
        let liveVersion = try live.finalize(message: "after gc")
        #expect(try machineA.files(of: liveVersion) == liveFiles)
    }

    @Test func keepLastRetiresOldVersionsButNeverABaseOrAForkOrigin() throws {
        let fixture = try VolumeFixture(bucketPrefix: Self.prefix("keep"))
        let live = try fixture.mount(try fixture.newVolume(.sqlite))
        var versions: [VolumeDescriptor] = []
        for step in 1...4 {
            try VolumeFixture.write("step \(step)", to: "f", in: live)
            versions.append(try live.commit(message: "\(step)"))
        }
        try live.unmount(abandon: false)
        let branch = try fixture.service.fork(versions[0], name: VolumeFixture.uniqueName("branch"))
        let reader = try fixture.mount(versions[1], readOnly: true)

        let report = try collect(fixture, keepLast: 1)
        let listed = Set(try fixture.service.versions(inBucket: fixture.bucketURI, endpoint: fixture.endpoint).map(\.volume.producedBy!.locator!))
        #expect(report.retired == [versions[2].producedBy!.locator!], "step 3 goes; step 1 is a fork's origin, step 2 a mount's base")
        #expect(listed == Set([versions[0], versions[1], versions[3], branch].map { $0.producedBy!.locator! }))
        try reader.unmount(abandon: false)
        #expect(try fixture.files(of: branch) == ["f": "step 1"], "the fork's shared index survived its origin's neighbours")
        #expect(try fixture.files(of: versions[3]) == ["f": "step 4"])
        expectVolumeError(.invalidParams, "keep_last 0") { _ = try collect(fixture, keepLast: 0) }
    }

    @Test func graceKeepsYoungGarbageAndALapsedLeaseHoldsItsDomainOneMoreRun() throws {
        let fixture = try VolumeFixture(bucketPrefix: Self.prefix("grace"))
        let volume = try fixture.newVolume(.sqlite)
        let abandoned = try fixture.mount(volume)
        try VolumeFixture.write(String(repeating: "x", count: 10000), to: "f", in: abandoned)
        let domain = abandoned.sliceDomain!
        try waitForBlocks(fixture, prefix: volume.chunkPrefix, domain: domain)
        // A daemon that died: its lease stays in the bucket, lapsed long ago.
        let store = try fixture.objects()
        let key = MountLease.key(of: abandoned.id)
        var lease = try #require(MountLease.decode(try store.get(key)))
        abandoned.lease.stopRenewing()
        lease.expiresAt = Date().addingTimeInterval(-1800)
        try store.put(key, data: lease.encoded())
        try FileManager.default.removeItem(atPath: abandoned.mountpoint.appending("f").string)

        #expect(try collect(fixture, grace: .seconds(3600)).garbage == GCReport.Tally(), "nothing is older than an hour")
        let first = try collect(fixture)
        #expect(first.kinds["leases"]?.objects == 1 && first.kinds["blocks"] == nil, "the lapsed lease goes; its domain's blocks stay this run")
        let second = try collect(fixture)
        #expect((second.kinds["blocks"]?.objects ?? 0) > 0, "the next run takes the blocks")
        expectVolumeError(.leaseLost, "a mount whose lease gc deleted publishes nothing") { _ = try abandoned.commit(message: "too late") }
        try abandoned.unmount(abandon: true)
    }

    @Test func aFailedListingDeletesNothingAndAFailedDeletionStopsUntilTheRerun() throws {
        let proxy = try FaultProxy.s3()
        let prefix = Self.prefix("gcfault")
        let direct = try VolumeFixture(bucketPrefix: prefix)
        let proxied = try VolumeFixture(endpoint: proxy.url, bucketPrefix: prefix)
        let live = try direct.mount(try direct.newVolume(.sqlite))
        try VolumeFixture.write("one", to: "a", in: live)
        let first = try live.commit(message: "one")
        try FileManager.default.removeItem(atPath: live.mountpoint.appending("a").string)
        try VolumeFixture.write("two", to: "b", in: live)
        let second = try live.finalize(message: "two")
        _ = try direct.service.delete([first])
        let before = try inventory(direct)

        try proxy.inject(.serviceUnavailable, method: "GET", containing: "\(prefix)%2Fversions", times: RetryPolicy.standard.maxAttempts)
        expectVolumeError(.storageError, "gc whose listing of versions keeps failing") { _ = try collect(proxied) }
        #expect(try inventory(direct) == before, "nothing was deleted on a partial listing")

        try proxy.inject(.serviceUnavailable, method: "DELETE", containing: prefix, times: 1000)
        let failed = expectVolumeError(.storageError, "gc whose deletions keep failing") { _ = try collect(proxied) }
        #expect(failed?.message.contains("deleting") == true)
        let report = try collect(direct)
        #expect(report.garbage.objects > 0 && report.deleted == report.garbage, "the rerun completes")
        #expect(try collect(direct).garbage == GCReport.Tally())
        #expect(try direct.files(of: second) == ["b": "two"])
    }
}

/// Writes a new file into a live mount every few milliseconds on a thread of its own until
/// stopped; returns what it wrote.
private final class LiveWriter: @unchecked Sendable {
    private let lock = NSLock()
    private var written: [String: String] = [:]
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    init(live: LiveVolume) {
        Thread.detachNewThread { [self] in
            var index = 1
            while !lock.withLock({ stopped }) {
                let text = String(repeating: "live \(index) ", count: 200 * (index % 7 + 1))
                try? VolumeFixture.write(text, to: "live-\(index)", in: live)
                lock.withLock { written["live-\(index)"] = text }
                index += 1
                Thread.sleep(forTimeInterval: 0.01)
            }
            done.signal()
        }
    }

    func stop() -> [String: String] {
        lock.withLock { stopped = true }
        done.wait()
        return lock.withLock { written }
    }
}
