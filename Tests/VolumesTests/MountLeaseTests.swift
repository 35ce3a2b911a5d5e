import Foundation
import StorageFormat
import TestSupport
import Testing
import VolumeModel

@testable import Volumes

/// Every mount holds a lease in its bucket: another machine sees what it is based on, and a
/// version a live mount anywhere is based on cannot be deleted.
@Suite struct MountLeaseTests {
    @Test func leasesShowWhatEveryMachineHoldsAndGuardDeletion() throws {
        let machineA = try VolumeFixture(bucketPrefix: "leases-\(UUID().uuidString.prefix(8).lowercased())")
        let machineB = try VolumeFixture(reusingBucketOf: machineA)
        let writer = try machineA.mount(try machineA.newVolume(.sqlite, name: "held"))
        try VolumeFixture.write("one", to: "f", in: writer)
        let first = try writer.commit(message: "one")
        try VolumeFixture.write("two", to: "f", in: writer)
        let second = try writer.commit(message: "two")
        func listing() throws -> [(id: String, volume: VolumeDescriptor, heldBy: [String])] {
            try machineA.service.versions(inBucket: machineA.bucketURI, endpoint: machineA.endpoint)
        }
        #expect(try listing().first?.heldBy == ["\(ProcessInfo.processInfo.hostName):\(writer.mountpoint)"], "a writer is based on its last commit")
        try writer.unmount(abandon: false)

        let reader = try machineB.mount(first, readOnly: true)
        let held = try listing()
        #expect(held.map(\.volume.message) == ["two", "one"])
        #expect(held[1].heldBy == ["\(ProcessInfo.processInfo.hostName):\(reader.mountpoint)"] && held[0].heldBy.isEmpty)

        let refused = expectVolumeError(.busy, "deleting a version another machine's mount is based on") { _ = try machineA.service.delete([second, first]) }
        #expect(refused?.message.contains(reader.mountpoint.string) == true)
        #expect(try listing().count == 2, "a refused call deletes nothing, not even the versions before the refused one")

        try reader.unmount(abandon: false)
        #expect(try machineA.service.delete([first]) == [first.producedBy!.locator!])
        #expect(try listing().map(\.volume.message) == ["two"])
        #expect(try machineA.service.lineage(of: second).map(\.message) == ["two"], "a deleted ancestor ends the lineage")
        expectVolumeError(.notFound, "a deleted version is gone") { _ = try machineA.service.load(locator: first.producedBy!.locator!, endpoint: machineA.endpoint) }

        // Another machine's lease holds the version until its daemon stops renewing it.
        var other = MountLease(
            mountID: "other", host: "elsewhere", mountPath: "/mnt/volumes/x", chunkPrefix: "held", sliceDomains: [], base: second.producedBy?.locator,
            expiresAt: Date().addingTimeInterval(60))
        try machineA.objects().put(MountLease.key(of: "other"), data: other.encoded())
        #expect(try listing().first?.heldBy == ["elsewhere:/mnt/volumes/x"])
        _ = expectVolumeError(.busy, "a version held by another machine's lease") { _ = try machineA.service.delete([second]) }
        other.expiresAt = Date().addingTimeInterval(-1)
        try machineA.objects().put(MountLease.key(of: "other"), data: other.encoded())
        #expect(try listing().first?.heldBy == [], "a lapsed lease holds nothing")
        #expect(try machineA.service.delete([second]).count == 1)
    }
}
