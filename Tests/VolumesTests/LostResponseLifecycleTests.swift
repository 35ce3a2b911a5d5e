import Foundation
import ObjectStorage
import TestSupport
import Testing
import VolumeModel
import Volumes

/// Every conditional write of the lifecycle through a proxy that lets the request reach the
/// store and then drops the response: each ends in the right answer, with nothing duplicated.
@Suite(.serialized) struct LostResponseLifecycleTests {
    private func fixture(_ peer: VolumeFixture.Peer) throws -> (VolumeFixture, FaultProxy) {
        let proxy: FaultProxy =
            switch peer {
            case .s3: try FaultProxy.s3()
            case .gcs: try FaultProxy.gcs()
            case .azure: try FaultProxy.azure()
            }
        return (try VolumeFixture(peer: peer, endpoint: proxy.url, bucketPrefix: "lost-\(UUID().uuidString.prefix(8).lowercased())"), proxy)
    }

    /// Cuts the answer to the create of the object at `key` (its last part, or a part of its
    /// body): GCS creates by a POST whose body names the object, with '/' escaped, and whose
    /// query carries the precondition.
    private func cutCreate(_ proxy: FaultProxy, _ peer: VolumeFixture.Peer, naming text: String, key: String) throws {
        if peer == .gcs {
            try proxy.inject(.cutResponse, method: "POST", containing: text, path: "ifGenerationMatch")
        } else {
            try proxy.inject(.cutResponse, method: "PUT", containing: text, path: key)
        }
    }

    /// Descriptors published in the fixture's bucket prefix, by name.
    private func descriptors(in fixture: VolumeFixture) throws -> [String] {
        let store = try fixture.objects()
        return try store.listAll(prefix: "versions/").filter { $0.key.hasSuffix("/volume.json") }.map { info in
            try VolumeDescriptor.decode(try store.get(info.key)).name
        }
    }

    @Test(arguments: [VolumeFixture.Peer.s3, .gcs, .azure])
    func aFirstMountWhoseClaimAnswersAreLostMountsAndClaimsOnce(peer: VolumeFixture.Peer) throws {
        let (fixture, proxy) = try fixture(peer)
        let volume = try fixture.newVolume(.sqlite)
        try cutCreate(proxy, peer, naming: peer == .gcs ? "juicefs_uuid" : volume.chunkPrefix, key: "juicefs_uuid")
        try cutCreate(proxy, peer, naming: peer == .gcs ? "domains" : volume.chunkPrefix, key: "/domains/")
        let live = try fixture.mount(volume)
        #expect(try proxy.pending(containing: peer == .gcs ? "juicefs_uuid" : volume.chunkPrefix) == 0, "the claim's answer was cut")
        #expect(try proxy.pending(containing: peer == .gcs ? "domains" : volume.chunkPrefix) == 0, "the domain's answer was cut")
        #expect(live.status.resolvedOutcomes == 2)
        let store = try fixture.objects()
        #expect(try store.listAll(prefix: "\(volume.chunkPrefix)/domains/").count == 1, "one slice domain, the one the mount writes in")
        try VolumeFixture.write("kept", to: "f.txt", in: live)
        let version = try live.finalize(message: "after lost answers")
        #expect(try fixture.files(of: version) == ["f.txt": "kept"])
    }

    @Test(arguments: [VolumeFixture.Peer.s3, .gcs, .azure])
    func aCommitAndAForkWhoseAnswersAreLostReturnTheirVersionsOnce(peer: VolumeFixture.Peer) throws {
        let (fixture, proxy) = try fixture(peer)
        let volume = try fixture.newVolume(.sqlite)
        let live = try fixture.mount(volume)
        try VolumeFixture.write("one", to: "f.txt", in: live)
        try cutCreate(proxy, peer, naming: "\"\(volume.name)\"", key: "volume.json")
        let first = try live.commit(message: "one")
        #expect(try proxy.pending(containing: "\"\(volume.name)\"") == 0)
        #expect(try descriptors(in: fixture) == [volume.name], "one version published")
        #expect(try fixture.files(of: first) == ["f.txt": "one"])
        // The caller's own retry, its first answer lost on the way to it: the same version.
        #expect(try live.commit(message: "one").producedBy?.locator == first.producedBy?.locator)
        #expect(try descriptors(in: fixture).count == 1)

        let branch = VolumeFixture.uniqueName("branch")
        try cutCreate(proxy, peer, naming: "\"\(branch)\"", key: "volume.json")
        let fork = try live.fork(name: branch, as: .rw)
        #expect(try proxy.pending(containing: "\"\(branch)\"") == 0)
        #expect(try descriptors(in: fixture).sorted() == [branch, volume.name].sorted())
        #expect(fork.parentProducedBy?.locator == first.producedBy?.locator)
        #expect(live.status.resolvedOutcomes == 2)
        try live.unmount(abandon: true)
    }
}
