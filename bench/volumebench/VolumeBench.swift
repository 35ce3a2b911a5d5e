import Foundation
import Metadata
import StorageFormat
import SystemPackage
import VFS
import VolumeModel
import Volumes

/// Lifecycle latencies by volume size: commit of a freshly written tree, commit after
/// changing one file, live fork, read-only mount of the version, and the index size.
/// Runs on the S3 server when the test services are up, else on a `file://` bucket.
@main
struct VolumeBench {
    static let environment = ProcessInfo.processInfo.environment
    static let sizes = (environment["VOLUMEBENCH_FILES"] ?? "1000,10000,100000").split(separator: ",").compactMap { Int($0) }

    static func main() throws {
        let scratch = FilePath(FileManager.default.temporaryDirectory.appendingPathComponent("volumed-volumebench-\(UUID().uuidString)").path)
        defer { try? FileManager.default.removeItem(atPath: scratch.string) }
        var configuration = VolumeServiceConfiguration(stateDirectory: scratch.appending("state"), environment: environment)
        var endpoint: String?
        if let s3 = environment["VOLUMED_TEST_S3_ENDPOINT"], let bucket = environment["VOLUMED_TEST_S3_BUCKET"] {
            configuration.environment["AWS_ACCESS_KEY_ID"] = environment["VOLUMED_TEST_S3_ACCESS_KEY"]
            configuration.environment["AWS_SECRET_ACCESS_KEY"] = environment["VOLUMED_TEST_S3_SECRET_KEY"]
            configuration.environment["AWS_REGION"] = "us-east-1"
            configuration.defaultBucket = "s3://\(bucket)"
            endpoint = s3
        } else {
            print("note: VOLUMED_TEST_S3_ENDPOINT is not set, so the bucket is file:// (bench/volumes.sh starts an S3 server)")
        }
        let service = try VolumeService(configuration)
        print("volume lifecycle on \(configuration.effectiveDefaultBucket), SQLite metadata, files of 4 KiB in directories of 1000")
        print("| files | commit (all new) s | commit (1 file changed) s | fork (live, rw) s | mount (read-only) s | index MiB |")
        print("| --- | --- | --- | --- | --- | --- |")
        for size in sizes {
            let volume = try service.new(name: "bench-\(UUID().uuidString.prefix(8).lowercased())", endpoint: endpoint)
            let live = try service.mount(volume, at: scratch.appending("mnt-\(size)"))
            let fileSystem = live.fileSystem
            let caller = VolumeFileSystem.Caller(uid: 0, gid: 0)
            let payload = Data(repeating: 0x61, count: 4096)
            var directory = Ino.root
            var firstFile: Ino?
            for index in 0..<size {
                if index % 1000 == 0 {
                    directory = try fileSystem.mknod(parent: .root, name: Array("d\(index / 1000)".utf8), type: .directory, mode: 0o755, rdev: 0, caller: caller).0
                }
                let (inode, _, handle) = try fileSystem.create(parent: directory, name: Array("f\(index)".utf8), mode: 0o644, caller: caller, append: false)
                _ = try fileSystem.write(handle, at: 0, payload)
                try fileSystem.release(handle)
                firstFile = firstFile ?? inode
            }
            let (fullCommit, version) = try timed { try live.commit(message: "all") }
            let handle = try fileSystem.open(firstFile!, write: true, truncate: false, append: false)
            _ = try fileSystem.write(handle, at: 0, Data("changed".utf8))
            try fileSystem.release(handle)
            let (smallCommit, _) = try timed { try live.commit(message: "one file") }
            let (fork, _) = try timed { try live.fork(name: "fork-\(UUID().uuidString.prefix(8).lowercased())", as: .rw) }
            let (mount, reader) = try timed { try service.mount(version, at: scratch.appending("ro-\(size)"), options: MountOptions(readOnly: true)) }
            try reader.unmount(abandon: false)
            try live.unmount(abandon: false)
            let index = Double(version.indexBytes ?? 0) / 1_048_576
            print("| \(size) | " + [fullCommit, smallCommit, fork, mount].map { String(format: "%.2f", $0) }.joined(separator: " | ") + String(format: " | %.1f |", index))
        }
    }

    static func timed<Result>(_ body: () throws -> Result) rethrows -> (Double, Result) {
        let start = ContinuousClock.now
        let result = try body()
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, result)
    }
}
