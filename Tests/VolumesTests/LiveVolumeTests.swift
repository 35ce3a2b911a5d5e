import Foundation
import SystemPackage
import TestSupport
import Testing
import VolumeModel
import Volumes

/// The seed's canonical patterns on real mounts over the S3 server, on both metadata stores.
@Suite(.serialized) struct LiveVolumeTests {
    /// Ten checkpoints of a growing tree form a linear history; every version shows exactly
    /// the files of its epoch; finalize publishes the last state and unmounts.
    @Test(arguments: MetadataStoreType.allCases)
    func checkpointPerEpochThenFinalize(type: MetadataStoreType) throws {
        let fixture = try VolumeFixture()
        let volume = try fixture.newVolume(type)
        let live = try fixture.mount(volume)
        var expected: [[String: String]] = []
        var versions: [VolumeDescriptor] = []
        var phases: Set<String> = []
        for epoch in 0..<10 {
            try VolumeFixture.write("weights after epoch \(epoch)\n", to: "model/weights.txt", in: live)
            try VolumeFixture.write("log \(epoch)\n", to: "logs/epoch-\(epoch).txt", in: live)
            let actor = ActionRef(name: "train", runName: "run-1", project: "p", domain: "development", org: "o", outputName: "ckpt")
            let version = try live.commit(message: "epoch \(epoch)", actor: actor) { phases.insert($0.phase) }
            #expect(version.message == "epoch \(epoch)")
            #expect(version.access == .ro)
            #expect(version.name == volume.name && version.chunkPrefix == volume.chunkPrefix)
            #expect(version.metadataStoreType == type)
            #expect(version.producedBy?.runName == "run-1" && version.producedBy?.outputName == "ckpt")
            #expect(version.producedBy?.locator?.hasSuffix("/volume.json") == true)
            #expect(version.parentProducedBy == versions.last?.producedBy)
            #expect((version.inodeCount ?? 0) >= Int64(epoch + 4))
            #expect((version.usedBytes ?? 0) > 0 && (version.indexBytes ?? 0) > (version.index?.size ?? 0), "the index is larger than the manifest that lists its pieces")
            versions.append(version)
            expected.append(try VolumeFixture.files(under: live.mountpoint))
            #expect(expected.last?.count == epoch + 2 && expected.last?["model/weights.txt"] == "weights after epoch \(epoch)\n")
        }
        #expect(phases.isSuperset(of: ["flush", "snapshot", "drain", "upload_index"]))
        #expect(live.hasUncommittedChanges == false)
        try VolumeFixture.write("final\n", to: "model/final.txt", in: live)
        let final = try live.finalize(message: "done")
        #expect(live.state == .unmounted)
        #expect(fixture.service.mount(at: live.mountpoint) == nil)
        #expect(final.parentProducedBy == versions.last?.producedBy)

        for (version, files) in zip(versions, expected) {
            #expect(try fixture.files(of: version) == files, "\(version.message ?? "")")
        }
        var finalFiles = expected.last!
        finalFiles["model/final.txt"] = "final\n"
        #expect(try fixture.files(of: final) == finalFiles)

        let lineage = try fixture.service.lineage(of: final)
        #expect(lineage.map(\.message) == ["done"] + (0..<10).reversed().map { "epoch \($0)" })
        #expect(lineage.last?.parentProducedBy == nil)
        let reloaded = try fixture.service.load(locator: final.producedBy!.locator!, endpoint: fixture.endpoint)
        #expect(reloaded == final)
    }

    /// A live fork as rw: parent and branch written at once never share an object key and
    /// each version shows its own data over the shared ancestor's.
    @Test(arguments: MetadataStoreType.allCases)
    func forkLiveMountAsWritableBranch(type: MetadataStoreType) throws {
        let fixture = try VolumeFixture()
        let parent = try fixture.mount(try fixture.newVolume(type))
        try VolumeFixture.write(String(repeating: "shared ", count: 200_000), to: "shared/base.txt", in: parent)
        let branchVolume = try parent.fork(name: VolumeFixture.uniqueName("branch"), as: .rw)
        #expect(branchVolume.access == .rw && branchVolume.index != nil && branchVolume.chunkPrefix == parent.source.chunkPrefix)
        #expect(parent.state == .mounted)
        let branch = try fixture.mount(branchVolume)
        #expect(parent.sliceDomain != branch.sliceDomain)

        let failures = Failures()
        let writers = [(parent, "parent"), (branch, "branch")].map { live, who in
            Thread {
                do {
                    for index in 0..<20 {
                        try VolumeFixture.write(String(repeating: "\(who) \(index) ", count: 50_000), to: "\(who)/file-\(index).txt", in: live)
                    }
                    try VolumeFixture.write("\(who) was here\n", to: "shared/owner.txt", in: live)
                } catch {
                    failures.add("\(who): \(error)")
                }
            }
        }
        writers.forEach { $0.start() }
        while writers.contains(where: { !$0.isFinished }) { Thread.sleep(forTimeInterval: 0.05) }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let parentFiles = try VolumeFixture.files(under: parent.mountpoint)
        let branchFiles = try VolumeFixture.files(under: branch.mountpoint)
        let parentVersion = try parent.commit(message: "parent")
        let branchVersion = try branch.commit(message: "branch")

        let parentSeen = try fixture.files(of: parentVersion)
        let branchSeen = try fixture.files(of: branchVersion)
        #expect(parentSeen == parentFiles && branchSeen == branchFiles)
        #expect(parentSeen["shared/owner.txt"] == "parent was here\n" && branchSeen["shared/owner.txt"] == "branch was here\n")
        #expect(parentSeen["shared/base.txt"] == branchSeen["shared/base.txt"])
        #expect(parentSeen.keys.filter { $0.hasPrefix("branch/") }.isEmpty && branchSeen.keys.filter { $0.hasPrefix("parent/") }.isEmpty)

        // Every block of the two writers lies in its own domain.
        let ids = try fixture.sliceIDs(chunkPrefix: parent.source.chunkPrefix)
        let parentIDs = ids.filter { $0 >> 32 == UInt64(parent.sliceDomain!) }
        let branchIDs = ids.filter { $0 >> 32 == UInt64(branch.sliceDomain!) }
        #expect(!parentIDs.isEmpty && !branchIDs.isEmpty)
        #expect(parentIDs.union(branchIDs) == ids)
        #expect(try fixture.service.lineage(of: branchVersion).map(\.name) == [branchVersion.name, branchVolume.name])
        try parent.unmount(abandon: false)
        try branch.unmount(abandon: false)
    }

    /// A fork as ro is a sibling: the mount's own history goes on from its last commit.
    @Test func forkLiveMountAsReadOnlySibling() throws {
        let fixture = try VolumeFixture()
        let live = try fixture.mount(try fixture.newVolume(.sqlite))
        try VolumeFixture.write("one\n", to: "a.txt", in: live)
        let first = try live.commit(message: "first")
        try VolumeFixture.write("two\n", to: "a.txt", in: live)
        let sibling = try live.fork(name: VolumeFixture.uniqueName("snap"), as: .ro)
        #expect(sibling.access == .ro && sibling.parentProducedBy == first.producedBy)
        #expect(live.hasUncommittedChanges)
        try VolumeFixture.write("three\n", to: "a.txt", in: live)
        let second = try live.commit(message: "second")
        #expect(second.parentProducedBy == first.producedBy)
        #expect(try fixture.files(of: sibling) == ["a.txt": "two\n"])
        #expect(try fixture.files(of: second) == ["a.txt": "three\n"])
        try live.unmount(abandon: false)
    }

    /// The same writable descriptor mounted twice (a crashed task's retry) gets two slice
    /// domains, and no object is written by both.
    @Test(arguments: MetadataStoreType.allCases)
    func sameDescriptorMountedTwiceNeverSharesKeys(type: MetadataStoreType) throws {
        let fixture = try VolumeFixture()
        let first = try fixture.mount(try fixture.newVolume(type))
        try VolumeFixture.write("base\n", to: "base.txt", in: first)
        let checkpoint = try first.commit(message: "checkpoint")
        try first.unmount(abandon: false)
        let retryable = try fixture.service.fork(checkpoint, name: VolumeFixture.uniqueName("task"), as: .rw)
        let before = try fixture.sliceIDs(chunkPrefix: checkpoint.chunkPrefix)

        let crashed = try fixture.mount(retryable)
        try VolumeFixture.write(String(repeating: "crashed ", count: 300_000), to: "out.txt", in: crashed)
        let retry = try fixture.mount(retryable)
        try VolumeFixture.write(String(repeating: "retry ", count: 300_000), to: "out.txt", in: retry)
        let published = try retry.commit(message: "retry")
        _ = try crashed.commit(message: "late")
        #expect(crashed.sliceDomain != retry.sliceDomain)

        let written = try fixture.sliceIDs(chunkPrefix: checkpoint.chunkPrefix).subtracting(before)
        let crashedIDs = written.filter { $0 >> 32 == UInt64(crashed.sliceDomain!) }
        let retryIDs = written.filter { $0 >> 32 == UInt64(retry.sliceDomain!) }
        #expect(!crashedIDs.isEmpty && !retryIDs.isEmpty && crashedIDs.union(retryIDs) == written)
        #expect(try fixture.files(of: published)["out.txt"] == String(repeating: "retry ", count: 300_000))
        try crashed.unmount(abandon: true)
        try retry.unmount(abandon: false)
    }

    /// Unmount refuses to drop uncommitted work; abandon drops it and leaves every
    /// committed version as it was.
    @Test func abandonKeepsCommittedVersions() throws {
        let fixture = try VolumeFixture()
        let live = try fixture.mount(try fixture.newVolume(.sqlite))
        try VolumeFixture.write("kept\n", to: "kept.txt", in: live)
        let version = try live.commit(message: "kept")
        try VolumeFixture.write(String(repeating: "scratch ", count: 500_000), to: "scratch.txt", in: live)
        expectVolumeError(.uncommittedChanges, "unmounting uncommitted work") {
            try live.unmount(abandon: false)
        }
        #expect(live.state == .mounted)
        try live.unmount(abandon: true)
        #expect(live.state == .unmounted)
        #expect(try fixture.files(of: version) == ["kept.txt": "kept\n"])
        expectVolumeError(.notMounted, "a commit after unmount") {
            _ = try live.commit(message: "too late")
        }
    }

    /// Read-only mounts refuse writes and lifecycle operations that would publish.
    @Test func readOnlyMountsRefuseWrites() throws {
        let fixture = try VolumeFixture()
        let writer = try fixture.mount(try fixture.newVolume(.sqlite))
        try VolumeFixture.write("x\n", to: "x.txt", in: writer)
        let version = try writer.finalize(message: "v")
        expectVolumeError(.notWritable, "a read-only version must not mount writable") {
            _ = try fixture.mount(version)
        }
        let reader = try fixture.mount(version, readOnly: true)
        #expect(throws: (any Error).self) { try VolumeFixture.write("y\n", to: "y.txt", in: reader) }
        expectVolumeError(.notWritable, "a read-only mount must not commit") {
            _ = try reader.commit(message: "nope")
        }
        let branch = try reader.fork(name: VolumeFixture.uniqueName("ro-fork"), as: .rw)
        #expect(branch.index == version.index && branch.parentProducedBy == version.producedBy)
        try reader.unmount(abandon: false)
    }
}
