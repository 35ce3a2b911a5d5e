import ChunkStore
import Foundation
import FuseBridge
import Metadata
import ObjectStorage
import SystemPackage
import VFS

/// File system workloads on a volumed mount, a `juicefs mount` over the same S3 server,
/// and local disk, printed as one table. Figures, not assertions.
@main
struct FSBench {
    static let environment = ProcessInfo.processInfo.environment
    static let mebibytes = Int(environment["FSBENCH_MIB"] ?? "") ?? 512
    static let files = Int(environment["FSBENCH_FILES"] ?? "") ?? 2000

    struct Workload {
        let name: String
        let unit: String
        /// Bash run in the target directory; the result is `amount / seconds`.
        let script: String
        let amount: Double
    }

    static var workloads: [Workload] {
        [
            Workload(name: "sequential write \(mebibytes) MiB (fsync)", unit: "MiB/s", script: "dd if=/dev/zero of=seq.bin bs=1M count=\(mebibytes) conv=fsync status=none", amount: Double(mebibytes)),
            Workload(name: "sequential read (warm)", unit: "MiB/s", script: "dd if=seq.bin of=/dev/null bs=1M status=none", amount: Double(mebibytes)),
            Workload(name: "create \(files) × 4 KiB", unit: "files/s", script: "mkdir small && cd small && for i in $(seq 1 \(files)); do head -c 4096 /dev/zero > f$i; done", amount: Double(files)),
            Workload(name: "stat all", unit: "files/s", script: "find small -type f -exec stat -c %s {} + > /dev/null", amount: Double(files)),
            Workload(name: "read all", unit: "files/s", script: "cat small/* > /dev/null", amount: Double(files)),
            Workload(name: "tar x /usr/include", unit: "entries/s", script: "tar xf \"$TARBALL\"", amount: 0),
            Workload(name: "delete all", unit: "files/s", script: "rm -rf small", amount: Double(files)),
        ]
    }

    static func main() throws {
        let scratch = FilePath(FileManager.default.temporaryDirectory.appendingPathComponent("volumed-fsbench-\(UUID().uuidString)").path)
        try FileManager.default.createDirectory(atPath: scratch.string, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch.string) }
        let tarball = scratch.appending("include.tar").string
        _ = try run("tar cf '\(tarball)' -C /usr include", in: scratch.string)
        let entries = Double(try run("tar tf '\(tarball)' | wc -l", in: scratch.string).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1
        guard let endpoint = environment["VOLUMED_TEST_S3_ENDPOINT"], let bucket = environment["VOLUMED_TEST_S3_BUCKET"],
            let accessKey = environment["VOLUMED_TEST_S3_ACCESS_KEY"], let secretKey = environment["VOLUMED_TEST_S3_SECRET_KEY"]
        else {
            throw BenchError("VOLUMED_TEST_S3_* are not set: run bench/filesystem.sh, which starts the S3 server")
        }
        let credentials = ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_REGION": "us-east-1"]

        // volumed: SQLite, writeback, 60 s kernel caches.
        let name = "bench-" + UUID().uuidString.prefix(8).lowercased()
        let engine = try NamespaceEngine.open(.sqlite(scratch.appending("volumed.db")), persistWithin: NamespaceEngine.mountPersistWindow)
        var format = VolumeFormat(name: name, storage: "s3", bucket: "\(endpoint)/\(bucket)")
        format.accessKey = accessKey
        format.secretKey = secretKey
        try engine.format(format)
        try engine.useSliceDomain(UInt32.random(in: 1..<(1 << 31)))
        let store = try ObjectStoreFactory(environment: credentials).open("s3://\(bucket)", endpoint: endpoint)
        let chunks = ChunkStore(
            configuration: ChunkStoreConfiguration(chunkPrefix: name), catalog: EngineCatalog(engine), store: store,
            cache: try CacheDirectory(directory: scratch.appending("volumed-cache"), budget: 4 << 30))
        let ours = scratch.appending("volumed")
        try FileManager.default.createDirectory(atPath: ours.string, withIntermediateDirectories: true)
        let mount = FuseMount(fileSystem: VolumeFileSystem(engine: engine, chunks: chunks), at: ours, options: FuseMountOptions(name: name))
        try mount.mount()
        defer {
            try? mount.unmount()
            chunks.close()
        }

        // juicefs: SQLite, --writeback, the same cache size, 50 uploads, 60 s caches.
        let theirs = scratch.appending("juicefs").string
        let jfsName = "jfs-" + UUID().uuidString.prefix(8).lowercased()
        let jfsMeta = "sqlite3://\(scratch.appending("juicefs.db"))"
        _ = try run(
            "juicefs format --no-update --storage s3 --bucket '\(endpoint)/\(bucket)' --access-key '\(accessKey)' --secret-key '\(secretKey)' '\(jfsMeta)' \(jfsName) > /dev/null 2>&1",
            in: scratch.string)
        try FileManager.default.createDirectory(atPath: theirs, withIntermediateDirectories: true)
        // In the foreground as our child: a daemonised `mount -d` would keep the pipe
        // Foundation watches for its launcher's exit.
        let juicefs = Process()
        juicefs.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        juicefs.arguments = [
            "juicefs", "mount", "--no-usage-report", "--writeback", "--cache-size", "4096", "--max-uploads", "50", "--attr-cache", "60",
            "--entry-cache", "60", "--dir-entry-cache", "60", "--cache-dir", scratch.appending("juicefs-cache").string, jfsMeta, theirs,
        ]
        juicefs.standardOutput = FileHandle.nullDevice
        juicefs.standardError = FileHandle.nullDevice
        juicefs.standardInput = FileHandle.nullDevice
        try juicefs.run()
        defer {
            _ = try? run("juicefs umount '\(theirs)' > /dev/null 2>&1", in: scratch.string)
            juicefs.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(30)
        while !isMountpoint(theirs), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        guard isMountpoint(theirs) else { throw BenchError("juicefs did not mount \(theirs) within 30 s") }

        let local = scratch.appending("local").string
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)

        print("file system workloads, S3 = SeaweedFS on this machine (higher is better)")
        print("| workload | unit | volumed | juicefs | local disk | volumed/juicefs |")
        print("| --- | --- | --- | --- | --- | --- |")
        for workload in workloads {
            let amount = workload.amount == 0 ? entries : workload.amount
            var rates: [Double] = []
            for directory in [ours.string, theirs, local] {
                let seconds = try timed(workload.script, in: directory, tarball: tarball)
                rates.append(amount / seconds)
            }
            let cells = rates.map { String(format: "%.0f", $0) } + [String(format: "%.2f×", rates[0] / rates[1])]
            print("| \(workload.name) | \(workload.unit) | " + cells.joined(separator: " | ") + " |")
        }
    }

    static func isMountpoint(_ path: String) -> Bool {
        ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").split(separator: "\n").contains { line in
            line.split(separator: " ").dropFirst(4).first.map(String.init) == path
        }
    }

    static func timed(_ script: String, in directory: String, tarball: String) throws -> Double {
        let start = ContinuousClock.now
        _ = try run(script, in: directory, extra: ["TARBALL": tarball])
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    @discardableResult
    static func run(_ script: String, in directory: String, extra: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-euo", "pipefail", "-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment.merging(extra) { $1 }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("fsbench-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("\(script) failed in \(directory) with status \(process.terminationStatus)") }
        return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
