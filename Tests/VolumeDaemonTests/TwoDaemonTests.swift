import Foundation
import SystemPackage
import Testing
import TestSupport
import VolumeClient
import VolumeModel

/// Two daemons, as on two machines: separate state, caches and sockets, one bucket.
@Suite(.serialized) struct TwoDaemonTests {
    enum Backend: String, CaseIterable, Sendable {
        case s3, gcs
    }

    /// Two daemons whose default bucket is the backend's test bucket.
    private func pair(on backend: Backend) throws -> (DaemonFixture, DaemonFixture) {
        func daemon() throws -> DaemonFixture {
            switch backend {
            case .s3:
                return try DaemonFixture(s3Bucket: true)
            case .gcs:
                return try DaemonFixture(
                    settings: ["default_bucket": "gs://\(try ServiceEnvironment.value("VOLUMED_TEST_GCS_BUCKET"))"],
                    extraEnvironment: ["STORAGE_EMULATOR_HOST": try ServiceEnvironment.value("VOLUMED_TEST_GCS_HOST"), "HOME": "/nonexistent"])
            }
        }
        return (try daemon(), try daemon())
    }

    /// A few MiB that cross block boundaries, different for every call.
    private func payload() -> Data {
        var generator = SystemRandomNumberGenerator()
        return (0..<(5 << 17) + 1543).map { _ in generator.next() as UInt64 }.withUnsafeBytes { Data($0) }
    }

    private func mountReadOnly(_ version: VolumeDescriptor, on daemon: DaemonFixture) async throws -> String {
        let path = daemon.mountPath()
        _ = try await daemon.client.mount(RPCParams.Mount(volume: version, mountPath: path, options: MountOptions(readOnly: true)))
        return path
    }

    private func contents(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test(arguments: Backend.allCases) func versionsAndForksTravelBetweenDaemonsAndEveryLineStaysIntact(backend: Backend) async throws {
        let (a, b) = try pair(on: backend)
        defer {
            a.close()
            b.close()
        }
        // A commits; B mounts the version read-only, byte for byte.
        let first = payload()
        let onA = a.mountPath()
        _ = try await a.client.mount(RPCParams.Mount(volume: try await a.client.new(), mountPath: onA))
        try first.write(to: URL(fileURLWithPath: "\(onA)/data"))
        let v1 = try await a.client.finalize(RPCParams.Commit(mountPath: onA, message: "from A"))
        let v1OnB = try await mountReadOnly(v1, on: b)
        #expect(try contents("\(v1OnB)/data") == first)
        _ = try await b.client.unmount(RPCParams.MountPath(mountPath: v1OnB))

        // B forks it writable, writes, commits; A mounts B's version.
        let second = payload()
        let forkOnB = b.mountPath()
        _ = try await b.client.mount(RPCParams.Mount(volume: try await b.client.fork(RPCParams.Fork(volume: v1)), mountPath: forkOnB))
        try second.write(to: URL(fileURLWithPath: "\(forkOnB)/more"))
        let v2 = try await b.client.finalize(RPCParams.Commit(mountPath: forkOnB, message: "from B"))
        let v2OnA = try await mountReadOnly(v2, on: a)
        #expect(try contents("\(v2OnA)/data") == first)
        #expect(try contents("\(v2OnA)/more") == second)
        _ = try await a.client.unmount(RPCParams.MountPath(mountPath: v2OnA))

        // Each writes a fork of its own at the same time, and both commit.
        let forkA = try await a.client.fork(RPCParams.Fork(volume: v1, name: "line-a-\(UUID().uuidString.prefix(6).lowercased())"))
        let forkB = try await b.client.fork(RPCParams.Fork(volume: v1, name: "line-b-\(UUID().uuidString.prefix(6).lowercased())"))
        let (pathA, pathB) = (a.mountPath(), b.mountPath())
        _ = try await a.client.mount(RPCParams.Mount(volume: forkA, mountPath: pathA))
        _ = try await b.client.mount(RPCParams.Mount(volume: forkB, mountPath: pathB))
        let (bytesA, bytesB) = (payload(), payload())
        async let committedA: VolumeDescriptor = {
            try bytesA.write(to: URL(fileURLWithPath: "\(pathA)/data"))
            return try await a.client.finalize(RPCParams.Commit(mountPath: pathA, message: "A's line"))
        }()
        async let committedB: VolumeDescriptor = {
            try bytesB.write(to: URL(fileURLWithPath: "\(pathB)/data"))
            return try await b.client.finalize(RPCParams.Commit(mountPath: pathB, message: "B's line"))
        }()
        let (lineA, lineB) = try await (committedA, committedB)
        for (version, expected, reader) in [(lineA, bytesA, b), (lineB, bytesB, a), (v1, first, a)] {
            let path = try await mountReadOnly(version, on: reader)
            #expect(try contents("\(path)/data") == expected, "\(version.message ?? "") read on the other daemon")
            _ = try await reader.client.unmount(RPCParams.MountPath(mountPath: path))
        }
    }

    /// Both daemons may mount the same committed writable descriptor: each writable mount
    /// claims a slice domain of its own in the bucket, so their blocks never share a key, and
    /// each commit publishes a child of the descriptor; the line forks in two, both intact. A
    /// never-committed volume is the exception: its first writable mount claims the chunk
    /// prefix, and a second one is refused.
    @Test(arguments: Backend.allCases) func theSameWritableDescriptorOnBothDaemonsBecomesTwoDisjointLines(backend: Backend) async throws {
        let (a, b) = try pair(on: backend)
        defer {
            a.close()
            b.close()
        }
        let setup = a.mountPath()
        let fresh = try await a.client.new()
        _ = try await a.client.mount(RPCParams.Mount(volume: fresh, mountPath: setup))
        do {
            _ = try await b.client.mount(RPCParams.Mount(volume: fresh, mountPath: b.mountPath()))
            Issue.record("a second writable mount of a never-committed volume must be refused")
        } catch {
            #expect(error.code == .notEmpty, "\(error)")
        }
        try Data("base".utf8).write(to: URL(fileURLWithPath: "\(setup)/base"))
        let base = try await a.client.fork(RPCParams.Fork(volume: try await a.client.finalize(RPCParams.Commit(mountPath: setup))))

        let (pathA, pathB) = (a.mountPath(), b.mountPath())
        let mountA = try await a.client.mount(RPCParams.Mount(volume: base, mountPath: pathA))
        let mountB = try await b.client.mount(RPCParams.Mount(volume: base, mountPath: pathB))
        #expect(mountA.sliceDomain != nil && mountB.sliceDomain != nil && mountA.sliceDomain != mountB.sliceDomain)
        let (bytesA, bytesB) = (payload(), payload())
        try bytesA.write(to: URL(fileURLWithPath: "\(pathA)/shared-name"))
        try bytesB.write(to: URL(fileURLWithPath: "\(pathB)/shared-name"))
        try Data("a".utf8).write(to: URL(fileURLWithPath: "\(pathA)/only-a"))
        let versionA = try await a.client.finalize(RPCParams.Commit(mountPath: pathA, message: "A"))
        let versionB = try await b.client.finalize(RPCParams.Commit(mountPath: pathB, message: "B"))
        #expect(versionA.producedBy?.locator != versionB.producedBy?.locator)
        #expect(versionA.parentProducedBy?.locator == versionB.parentProducedBy?.locator, "both are children of the descriptor they mounted")

        for (version, expected, hasOnlyA, reader) in [(versionA, bytesA, true, b), (versionB, bytesB, false, a)] {
            let path = try await mountReadOnly(version, on: reader)
            #expect(try contents("\(path)/shared-name") == expected)
            #expect(try contents("\(path)/base") == Data("base".utf8))
            #expect(FileManager.default.fileExists(atPath: "\(path)/only-a") == hasOnlyA)
            _ = try await reader.client.unmount(RPCParams.MountPath(mountPath: path))
        }
    }

    /// gc killed with -9 at several moments on daemon A, while daemon B keeps writing to a live
    /// mount of the same bucket: every rerun starts afresh, the last one completes, and every
    /// remaining version and B's work read back byte for byte.
    @Test func gcKilledAtAnyMomentLosesNothingAndTheRerunCompletes() async throws {
        let bucket = "s3://\(try ServiceEnvironment.value("VOLUMED_TEST_S3_BUCKET"))/gcd-\(UUID().uuidString.prefix(8).lowercased())"
        let (a, b) = (try DaemonFixture(settings: ["default_bucket": bucket]), try DaemonFixture(settings: ["default_bucket": bucket]))
        defer {
            a.close()
            b.close()
        }
        // The first version holds 300 files the second deleted: once the first is deleted
        // from the catalogue, their blocks are garbage.
        let path = a.mountPath()
        _ = try await a.client.mount(RPCParams.Mount(volume: try await a.client.new(), mountPath: path))
        for index in 0..<300 { try Data(String(repeating: "file \(index) ", count: 100).utf8).write(to: URL(fileURLWithPath: "\(path)/f\(index)")) }
        let first = try await a.client.commit(RPCParams.Commit(mountPath: path, message: "many"))
        for index in 0..<300 { try FileManager.default.removeItem(atPath: "\(path)/f\(index)") }
        let kept = payload()
        try kept.write(to: URL(fileURLWithPath: "\(path)/kept"))
        let second = try await a.client.finalize(RPCParams.Commit(mountPath: path, message: "few"))
        _ = try await a.client.delete([first])

        let live = b.mountPath()
        _ = try await b.client.mount(RPCParams.Mount(volume: try await b.client.fork(RPCParams.Fork(volume: second)), mountPath: live))
        var written: [String: Data] = [:]
        for (round, delay) in [0.02, 0.15, 0.6].enumerated() {
            let collection = Task { try await a.client.collectGarbage(RPCParams.GC(bucket: bucket, grace: "0s")) }
            let bytes = payload()
            try bytes.write(to: URL(fileURLWithPath: "\(live)/round-\(round)"))
            written["round-\(round)"] = bytes
            try await Task.sleep(for: .seconds(delay))
            try a.kill()
            _ = await collection.result
            try a.start()
        }
        let result = try a.volumectl(["gc", bucket, "--grace", "0s", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(GCReport.self, from: Data(result.stdout.utf8))
        #expect(report.deleted == report.garbage && report.heldBy.count == 1, "the rerun completes, B's mount holding its blocks")
        let again = try await a.client.collectGarbage(RPCParams.GC(bucket: bucket, grace: "0s"))
        #expect(again.garbage == GCReport.Tally(), "nothing is left to collect")
        #expect(try await a.client.collectGarbage(RPCParams.GC(bucket: bucket)).kinds.isEmpty)

        let onA = try await mountReadOnly(second, on: a)
        #expect(try contents("\(onA)/kept") == kept)
        _ = try await a.client.unmount(RPCParams.MountPath(mountPath: onA))
        let fromB = try await b.client.finalize(RPCParams.Commit(mountPath: live, message: "written during gc"))
        let readBack = try await mountReadOnly(fromB, on: a)
        #expect(try contents("\(readBack)/kept") == kept)
        for (name, bytes) in written { #expect(try contents("\(readBack)/\(name)") == bytes, "\(name)") }
        _ = try await a.client.unmount(RPCParams.MountPath(mountPath: readBack))
    }
}
