import Foundation
import Testing
import TestSupport
import VolumeClient
import VolumeModel

/// Every mount of a daemon shares one bound on block PUTs and GETs.
@Suite(.serialized) struct TransferBoundsTests {
    @Test func mountsWritingAtOnceShareTheDaemonsUploadBound() async throws {
        let daemon = try DaemonFixture(settings: ["max_uploads_total": 2, "max_downloads_total": 3], s3Bucket: true)
        defer { daemon.close() }
        let paths = (0..<4).map { _ in daemon.mountPath() }
        for path in paths { _ = try await daemon.client.mount(RPCParams.Mount(volume: try await daemon.client.new(), mountPath: path)) }
        let payloads = paths.map { _ in Data((0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) } + [UInt8.random(in: 0...255)]) }
        let versions = try await withThrowingTaskGroup(of: VolumeDescriptor.self) { group in
            for (path, payload) in zip(paths, payloads) {
                group.addTask {
                    try payload.write(to: URL(fileURLWithPath: "\(path)/data"))
                    return try await daemon.client.finalize(RPCParams.Commit(mountPath: path))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let status: DaemonStatus = try await daemon.client.call(.daemonStatus, RPCParams.None())
        let uploads = try #require(status.transfers?.uploads)
        #expect(uploads.limit == 2 && uploads.peak <= 2 && uploads.peak >= 1, "\(uploads)")
        #expect(uploads.inFlight == 0 && uploads.waiting == 0)
        #expect(status.transfers?.downloads.limit == 3)

        // Read back through the same bound: every mount's bytes arrive.
        for version in versions {
            let path = daemon.mountPath()
            _ = try await daemon.client.mount(RPCParams.Mount(volume: version, mountPath: path, options: MountOptions(readOnly: true)))
            let read = try Data(contentsOf: URL(fileURLWithPath: "\(path)/data"))
            #expect(payloads.contains(read))
        }
        let after: DaemonStatus = try await daemon.client.call(.daemonStatus, RPCParams.None())
        #expect((after.transfers?.downloads.peak ?? 0) <= 3)
    }
}
