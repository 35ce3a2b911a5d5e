import Foundation
import Metadata
import StorageFormat
import SystemBridge
import SystemPackage
import VFS
import VolumeModel
import Volumes

/// Versions at scale: for volumes of 10k, 100k and 1M files, what a commit of one change
/// uploads and costs, how soon a cold machine's read-only mount answers a `stat`, what a
/// machine that has version N fetches for N+1, and the process's peak memory (the daemon's
/// work, in-process; a Redis volume's private `redis-server` is a process of its own, not
/// counted). Runs on the S3 server when the test services are up, else on `file://`.
/// `VOLUMEBENCH_ENGINE=redis` runs the same on Redis metadata.
@main
struct VolumeBench {
    static let environment = ProcessInfo.processInfo.environment
    static let sizes = (environment["VOLUMEBENCH_FILES"] ?? "10000,100000,1000000").split(separator: ",").compactMap { Int($0) }
    static let engine = MetadataStoreType(rawValue: environment["VOLUMEBENCH_ENGINE"] ?? "sqlite") ?? .sqlite
    static let scratch = FilePath(FileManager.default.temporaryDirectory.appendingPathComponent("vb-\(UUID().uuidString.prefix(8))").path)

    static func main() throws {
        AllocatorPolicy.limitHeaps()  // as volumed does, so that the peak is the daemon's
        defer { try? FileManager.default.removeItem(atPath: scratch.string) }
        let (configuration, endpoint) = machine("writer")
        let service = try VolumeService(configuration)
        print("versions at scale on \(configuration.effectiveDefaultBucket), \(engine == .sqlite ? "SQLite" : "Redis") metadata, files of 1 KiB in directories of 1000")
        print("| files | index MiB | write s | list+stat all s | commit (all new) s | commit (1 change) s | 1-change commit uploads KiB | cold read-only mount + first stat s | its fetch KiB | N+1 after N fetches KiB (% of index) | peak RSS MiB |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for size in sizes {
            resetPeakMemory()
            let volume = try service.new(name: "bench-\(UUID().uuidString.prefix(8).lowercased())", endpoint: endpoint, metadataStoreType: engine)
            let live = try service.mount(volume, at: scratch.appending("mnt-\(size)"))
            let (write, firstFile) = try timed { try populate(live.fileSystem, files: size) }
            let (walk, seen) = try timed { try listAndStat(live.fileSystem) }
            precondition(seen == size, "listed \(seen) of \(size) files")
            let (fullCommit, version) = try timed { try live.commit(message: "all") }
            let published = pieceBytes(of: configuration)
            let handle = try live.fileSystem.open(firstFile, write: true, truncate: false, append: false)
            _ = try live.fileSystem.write(handle, at: 0, Data("changed".utf8))
            try live.fileSystem.release(handle)
            let (smallCommit, next) = try timed { try live.commit(message: "one file") }
            let uploaded = pieceBytes(of: configuration) - published + (next.index?.size ?? 0)
            try live.unmount(abandon: false)
            let peak = peakMemory()

            let (coldConfiguration, _) = machine("cold-\(size)")
            let cold = try VolumeService(coldConfiguration)
            let (firstStat, reader) = try timed { () throws -> LiveVolume in
                let reader = try cold.mount(next, at: scratch.appending("ro-\(size)"), options: MountOptions(readOnly: true))
                _ = try FileManager.default.attributesOfItem(atPath: reader.mountpoint.appending("d0/f0").string)
                return reader
            }
            let coldFetch = pieceBytes(of: coldConfiguration)
            try reader.unmount(abandon: false)

            let (warmConfiguration, _) = machine("warm-\(size)")
            let warm = try VolumeService(warmConfiguration)
            try export(version, with: warm)
            let before = pieceBytes(of: warmConfiguration)
            try export(next, with: warm)
            let delta = pieceBytes(of: warmConfiguration) - before

            let index = Double(next.indexBytes ?? 0)
            print(
                "| \(size) | " + String(format: "%.1f", index / 1_048_576) + " | "
                    + [write, walk, fullCommit, smallCommit].map { String(format: "%.2f", $0) }.joined(separator: " | ")
                    + String(format: " | %.0f | %.2f | %.0f | %.0f (%.2f%%) | %.0f |", Double(uploaded) / 1024, firstStat, Double(coldFetch) / 1024,
                        Double(delta) / 1024, Double(delta) / max(index, 1) * 100, Double(peak) / 1_048_576))
        }
    }

    /// A machine of its own: state, block cache and index-piece cache start empty.
    static func machine(_ name: String) -> (VolumeServiceConfiguration, String?) {
        var configuration = VolumeServiceConfiguration(stateDirectory: scratch.appending(name), environment: environment)
        guard let s3 = environment["VOLUMED_TEST_S3_ENDPOINT"], let bucket = environment["VOLUMED_TEST_S3_BUCKET"] else {
            configuration.defaultBucket = "file://\(scratch.appending("bucket"))"
            return (configuration, nil)
        }
        configuration.environment["AWS_ACCESS_KEY_ID"] = environment["VOLUMED_TEST_S3_ACCESS_KEY"]
        configuration.environment["AWS_SECRET_ACCESS_KEY"] = environment["VOLUMED_TEST_S3_SECRET_KEY"]
        configuration.environment["AWS_REGION"] = "us-east-1"
        configuration.defaultBucket = "s3://\(bucket)"
        return (configuration, s3)
    }

    /// Files of 1 KiB, a thousand to a directory; the first file's inode.
    static func populate(_ fileSystem: VolumeFileSystem, files: Int) throws -> Ino {
        let caller = VolumeFileSystem.Caller(uid: 0, gid: 0)
        let payload = Data(repeating: 0x61, count: 1024)
        var directory = Ino.root
        var first: Ino?
        for index in 0..<files {
            if index % 1000 == 0 {
                directory = try fileSystem.mknod(parent: .root, name: Array("d\(index / 1000)".utf8), type: .directory, mode: 0o755, rdev: 0, caller: caller).0
            }
            let (inode, _, handle) = try fileSystem.create(parent: directory, name: Array("f\(index)".utf8), mode: 0o644, caller: caller, append: false)
            _ = try fileSystem.write(handle, at: 0, payload)
            try fileSystem.release(handle)
            first = first ?? inode
        }
        return first!
    }

    /// Lists every directory (entries with attributes, as `readdirplus` does) and stats every
    /// file; the files seen.
    static func listAndStat(_ fileSystem: VolumeFileSystem) throws -> Int {
        var files = 0
        for directory in try entries(of: .root, in: fileSystem) where directory.type == .directory {
            for file in try entries(of: directory.inode, in: fileSystem) where file.type == .regular {
                _ = try fileSystem.getattr(file.inode)
                files += 1
            }
        }
        return files
    }

    static func entries(of directory: Ino, in fileSystem: VolumeFileSystem) throws -> [DirectoryEntry] {
        let handle = try fileSystem.opendir(directory)
        defer { fileSystem.releasedir(handle) }
        var all: [DirectoryEntry] = []
        while true {
            let page = try fileSystem.readdir(handle, offset: all.count)
            if page.isEmpty { break }
            all += page
        }
        return all.filter { $0.name != Array(".".utf8) && $0.name != Array("..".utf8) }
    }

    /// Fetches a version's whole index the way a writable mount does (through the piece cache).
    static func export(_ version: VolumeDescriptor, with service: VolumeService) throws {
        let file = scratch.appending("export-\(UUID().uuidString).db")
        let output = try FileDescriptor.open(file, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        defer {
            try? output.close()
            try? FileManager.default.removeItem(atPath: file.string)
        }
        _ = try service.exportMetadata(version, into: output, as: .sqlite)
    }

    /// Bytes in a machine's index-piece cache: what it fetched or published.
    static func pieceBytes(of configuration: VolumeServiceConfiguration) -> Int64 {
        let directory = configuration.stateDirectory.appending("cache").appending("index-pieces").string
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return 0 }
        var total: Int64 = 0
        for case let name as String in walker {
            total += (try? FileManager.default.attributesOfItem(atPath: "\(directory)/\(name)")[.size] as? Int64).flatMap { $0 } ?? 0
        }
        return total
    }

    /// Forgets the peak so far (`clear_refs` 5), so each size reports its own.
    static func resetPeakMemory() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    static func peakMemory() -> Int64 {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Int64(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    static func timed<Result>(_ body: () throws -> Result) rethrows -> (Double, Result) {
        let start = ContinuousClock.now
        let result = try body()
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, result)
    }
}
