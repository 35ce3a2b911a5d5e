import ChunkStore
import Foundation
import Metadata
import ObjectStorage
import SystemPackage
import VFS

/// Sequential write and read throughput of the chunk store alone, on the `file` backend
/// and on an S3 server, printed as one table. Figures, not assertions.
@main
struct ChunkBench {
    static let environment = ProcessInfo.processInfo.environment
    static let mebibytes = Int(environment["CHUNKBENCH_MIB"] ?? "") ?? 512

    static func main() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("volumed-chunkbench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var targets: [(String, any ObjectStore)] = [("file", try FileObjectStore(root: FilePath(scratch).appending("bucket")))]
        if let endpoint = environment["VOLUMED_TEST_S3_ENDPOINT"], let bucket = environment["VOLUMED_TEST_S3_BUCKET"] {
            let credentials = [
                "AWS_ACCESS_KEY_ID": environment["VOLUMED_TEST_S3_ACCESS_KEY"] ?? "", "AWS_SECRET_ACCESS_KEY": environment["VOLUMED_TEST_S3_SECRET_KEY"] ?? "",
                "AWS_REGION": "us-east-1",
            ]
            targets.append(("s3 (SeaweedFS)", try ObjectStoreFactory(environment: credentials).open("s3://\(bucket)/chunkbench-\(UUID().uuidString.lowercased())", endpoint: endpoint)))
        } else {
            print("note: VOLUMED_TEST_S3_ENDPOINT is not set, so only the file backend runs (bench/chunkstore.sh starts an S3 server)")
        }
        print("chunk store alone, \(mebibytes) MiB sequential in 1 MiB calls, 4 MiB blocks (MiB/s)")
        print("| backend | write (staged) | write (durable) | read (cold cache) | read (warm cache) |")
        print("| --- | --- | --- | --- | --- |")
        for (name, store) in targets {
            let results = try measure(store, scratch: FilePath(scratch).appending(name.filter(\.isLetter)))
            print("| \(name) | " + results.map { String(format: "%.0f", $0) }.joined(separator: " | ") + " |")
        }
    }

    static func measure(_ store: any ObjectStore, scratch: FilePath) throws -> [Double] {
        try FileManager.default.createDirectory(atPath: scratch.string, withIntermediateDirectories: true)
        let engine = try NamespaceEngine.open(.sqlite(scratch.appending("meta.db")))
        try engine.format(VolumeFormat(name: "bench", storage: "file", bucket: scratch.appending("unused").string + "/"))
        try engine.useSliceDomain(UInt32.random(in: 1..<(1 << 31)))
        let catalog = EngineCatalog(engine)
        let configuration = ChunkStoreConfiguration(chunkPrefix: "bench")
        let inode = try engine.mknod(parent: .root, name: Array("big".utf8), type: .regular, mode: 0o644, owner: .root, rdev: 0).0
        let block = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })

        let writing = ChunkStore(configuration: configuration, catalog: catalog, store: store, cache: try CacheDirectory(directory: scratch.appending("cache-w")))
        let writer = writing.writer(inode: inode)
        let start = ContinuousClock.now
        for index in 0..<mebibytes { try writer.write(at: UInt64(index) << 20, block) }
        try writer.flush()
        let staged = seconds(since: start)
        try writing.drain()
        let durable = seconds(since: start)
        writing.close()

        let reading = ChunkStore(configuration: configuration, catalog: catalog, store: store, cache: try CacheDirectory(directory: scratch.appending("cache-r")))
        let length = try engine.getattr(inode).length
        func readAll() throws -> Double {
            let reader = reading.reader(inode: inode)
            let begin = ContinuousClock.now
            for index in 0..<mebibytes { _ = try reader.read(at: UInt64(index) << 20, count: 1 << 20, fileLength: length) }
            return seconds(since: begin)
        }
        let cold = try readAll()
        let warm = try readAll()
        reading.close()
        let size = Double(mebibytes)
        return [size / staged, size / durable, size / cold, size / warm]
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
