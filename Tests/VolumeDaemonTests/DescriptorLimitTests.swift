import Foundation
import SystemPackage
import Testing
import TestSupport
import VolumeClient
import VolumeModel

/// A daemon started with few file descriptors raises its soft limit to the hard one, and
/// under that low limit many large files written at once keep every byte while a version
/// is read meanwhile (the writers' share of descriptors is `DescriptorBudgetTests`'s).
@Suite struct DescriptorLimitTests {
    @Test func manyLargeFilesWrittenAtOnceKeepEveryByteUnderALowLimit() async throws {
        let daemon = try DaemonFixture(launcher: ["/usr/bin/prlimit", "--nofile=100:128", "--"])
        defer { daemon.close() }
        let limits = try String(contentsOfFile: "/proc/\(daemon.pid)/limits", encoding: .utf8)
        let openFiles = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }?.split(separator: " ", omittingEmptySubsequences: true)
        #expect(openFiles.map { Array($0[3...4]) } == ["128", "128"], "the soft limit raised to the hard one: \(limits)")

        let volume = try await daemon.client.new()
        let path = daemon.mountPath()
        _ = try await daemon.client.mount(RPCParams.Mount(volume: volume, mountPath: path))
        let before = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        try before.write(to: URL(fileURLWithPath: "\(path)/before.bin"))
        let earlier = try await daemon.client.commit(RPCParams.Commit(mountPath: path))

        let files = 100
        func piece(_ file: Int, _ round: Int) -> Data {
            Data((0..<(160 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ file &* 7 &+ round) })
        }
        let descriptors = try (0..<files).map { index in
            try FileDescriptor.open(FilePath("\(path)/f\(index)"), .writeOnly, options: [.create], permissions: .ownerReadWrite)
        }
        for round in 0..<2 {
            for (index, descriptor) in descriptors.enumerated() {
                _ = try piece(index, round).withUnsafeBytes { try descriptor.writeAll($0) }
            }
            #expect(try await daemon.client.read(earlier, path: "/before.bin") == before, "a version still reads while \(files) files are mid-write")
        }
        for descriptor in descriptors { try descriptor.close() }

        let version = try await daemon.client.finalize(RPCParams.Commit(mountPath: path))
        for index in 0..<files {
            let expected = (0..<2).reduce(into: Data()) { $0.append(piece(index, $1)) }
            #expect(try await daemon.client.read(version, path: "/f\(index)") == expected, "f\(index)")
        }
        #expect(!daemon.log.contains("Too many open files"), "\(daemon.log)")
    }
}
