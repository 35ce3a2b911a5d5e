import Foundation
import ObjectStorage
import TestSupport
import Testing
import VolumeModel
import Volumes

/// Every conditional write of the lifecycle through a proxy that lets the request reach S3
/// and then drops the response: each ends in the right answer, with nothing duplicated.
@Suite(.serialized) struct LostResponseLifecycleTests {
    private func fixture() throws -> (VolumeFixture, FaultProxy) {
        let proxy = try FaultProxy.s3()
        return (try VolumeFixture(endpoint: proxy.url, bucketPrefix: "lost-\(UUID().uuidString.prefix(8).lowercased())"), proxy)
    }

    /// Descriptors published in the fixture's bucket prefix, by name.
    private func descriptors(in fixture: VolumeFixture) throws -> [String] {
        let store = try fixture.objects()
        return try store.listAll(prefix: "versions/").filter { $0.key.hasSuffix("/volume.json") }.map { info in
            try VolumeDescriptor.decode(try store.get(info.key)).name
        }
    }

    @Test func aFirstMountWhoseClaimAnswersAreLostMountsAndClaimsOnce() throws {
        let (fixture, proxy) = try fixture()
        let volume = try fixture.newVolume(.sqlite)
        try proxy.inject(.cutResponse, method: "PUT", containing: volume.chunkPrefix, path: "juicefs_uuid")
        try proxy.inject(.cutResponse, method: "PUT", containing: volume.chunkPrefix, path: "/domains/")
        let live = try fixture.mount(volume)
        #expect(try proxy.pending(containing: volume.chunkPrefix) == 0, "both answers were cut")
        #expect(live.status.resolvedOutcomes == 2)
        let store = try fixture.objects()
        #expect(try store.listAll(prefix: "\(volume.chunkPrefix)/domains/").count == 1, "one slice domain, the one the mount writes in")
        try VolumeFixture.write("kept", to: "f.txt", in: live)
        let version = try live.finalize(message: "after lost answers")
        #expect(try fixture.files(of: version) == ["f.txt": "kept"])
    }

    @Test func aCommitAndAForkWhoseAnswersAreLostReturnTheirVersionsOnce() throws {
        let (fixture, proxy) = try fixture()
        let volume = try fixture.newVolume(.sqlite)
        let live = try fixture.mount(volume)
        try VolumeFixture.write("one", to: "f.txt", in: live)
        try proxy.inject(.cutResponse, method: "PUT", containing: "\"\(volume.name)\"", path: "volume.json")
        let first = try live.commit(message: "one")
        #expect(try proxy.pending(containing: "\"\(volume.name)\"") == 0)
        #expect(try descriptors(in: fixture) == [volume.name], "one version published")
        #expect(try fixture.files(of: first) == ["f.txt": "one"])
        // The caller's own retry, its first answer lost on the way to it: the same version.
        #expect(try live.commit(message: "one").producedBy?.locator == first.producedBy?.locator)
        #expect(try descriptors(in: fixture).count == 1)

        let branch = VolumeFixture.uniqueName("branch")
        try proxy.inject(.cutResponse, method: "PUT", containing: "\"\(branch)\"", path: "volume.json")
        let fork = try live.fork(name: branch, as: .rw)
        #expect(try proxy.pending(containing: "\"\(branch)\"") == 0)
        #expect(try descriptors(in: fixture).sorted() == [branch, volume.name].sorted())
        #expect(fork.parentProducedBy?.locator == first.producedBy?.locator)
        #expect(live.status.resolvedOutcomes == 2)
        try live.unmount(abandon: true)
    }
}
