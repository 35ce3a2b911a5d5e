import Dispatch
import Foundation
import Metadata
import StorageFormat
import SystemPackage

/// Namespace throughput of each engine: create, lookup, getattr and readdir, on one thread
/// and on four, printed as one table. Figures, not assertions.
@main
struct MetaBench {
    static let files = Int(ProcessInfo.processInfo.environment["METABENCH_FILES"] ?? "") ?? 20_000

    static func main() throws {
        let scratch = FilePath(try makeScratch())
        defer { try? FileManager.default.removeItem(atPath: scratch.string) }
        let redis = RedisServer(directory: scratch.appending("redis"))
        try FileManager.default.createDirectory(atPath: redis.directory.string, withIntermediateDirectories: true)
        try redis.start()
        defer { try? redis.stop() }

        print("metadata engines, \(files) files per run (ops/s; readdir counts entries with attributes)")
        print(row(["engine", "threads", "create", "lookup", "getattr", "readdir"]))
        print(row(Array(repeating: "---", count: 6)))
        for threads in [1, 4] {
            let sqlite = try NamespaceEngine.open(.sqlite(scratch.appending("meta-\(threads).db")))
            print(row(["sqlite", "\(threads)"] + (try measure(sqlite, threads: threads))))
            let grouped = try NamespaceEngine.open(.sqlite(scratch.appending("grouped-\(threads).db")), persistWithin: NamespaceEngine.mountPersistWindow)
            print(row(["sqlite, writes grouped (as mounted)", "\(threads)"] + (try measure(grouped, threads: threads))))
            let database = threads
            let redisEngine = try NamespaceEngine.open(.redis(redis.address(database: database)))
            print(row(["redis (private, unix socket)", "\(threads)"] + (try measure(redisEngine, threads: threads))))
        }
    }

    static func measure(_ engine: NamespaceEngine, threads: Int) throws -> [String] {
        try engine.format(VolumeFormat(name: "bench", storage: "file", bucket: "/tmp/volumed-bench-unused/"))
        let owner = Owner(uid: 0, gid: 0)
        let (directory, _) = try engine.mknod(parent: .root, name: Array("d".utf8), type: .directory, mode: 0o755, owner: owner, rdev: 0)
        let perThread = files / threads
        let names = (0..<threads).map { thread in (0..<perThread).map { Array("t\(thread)-file-\($0)".utf8) } }
        let inodes = CreatedInodes(threads: threads)

        let create = try rate(operations: perThread * threads, threads: threads) { thread in
            var made: [Ino] = []
            for name in names[thread] {
                made.append(try engine.mknod(parent: directory, name: name, type: .regular, mode: 0o644, owner: owner, rdev: 0).0)
            }
            inodes.set(made, for: thread)
        }
        let lookup = try rate(operations: perThread * threads, threads: threads) { thread in
            for name in names[thread].shuffled() { _ = try engine.lookup(parent: directory, name: name) }
        }
        let getattr = try rate(operations: perThread * threads, threads: threads) { thread in
            for inode in inodes.of(thread).shuffled() { _ = try engine.getattr(inode) }
        }
        let listing = try rate(operations: perThread * threads * threads, threads: threads) { _ in
            var after: [UInt8]?
            while true {
                let page = try engine.readdir(directory, after: after, limit: 1000, attributes: true)
                guard let last = page.last else { break }
                after = last.name
            }
        }
        return [create, lookup, getattr, listing].map { String(format: "%.0f", $0) }
    }

    /// Runs `body` on `threads` threads at once and returns operations per second.
    static func rate(operations: Int, threads: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws -> Double {
        let failures = Failures()
        let start = DispatchTime.now()
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            do { try body(thread) } catch { failures.record(error) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        if let error = failures.first { throw error }
        return Double(operations) / seconds
    }

    static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }

    static func makeScratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("volumed-metabench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

final class CreatedInodes: @unchecked Sendable {
    private let lock = NSLock()
    private var perThread: [[Ino]]
    init(threads: Int) { perThread = Array(repeating: [], count: threads) }
    func set(_ inodes: [Ino], for thread: Int) { lock.withLock { perThread[thread] = inodes } }
    func of(_ thread: Int) -> [Ino] { lock.withLock { perThread[thread] } }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var first: Error?
    func record(_ error: Error) { lock.withLock { first = first ?? error } }
}
