import CoreMetrics
import Foundation

/// The kernel's requests to one mount as metrics: latency by operation, failed requests by
/// operation, bytes read and written. They go to swift-metrics (the daemon exports them to
/// Prometheus, labelled with the volume and the mount path) and into figures of the mount's
/// own, which its `.stats` file shows whether or not an exporter runs. Made once per mount so
/// that a request only records, and destroyed at unmount so that a gone mount's series go.
final class FuseMetrics: @unchecked Sendable {
    /// The requests timed, by their libfuse names.
    enum Operation: String, CaseIterable, Sendable {
        case lookup, getattr, setattr, readlink, mknod, mkdir, unlink, rmdir, symlink, rename, link, open, create, read, write
        case flush, fsync, release, fallocate, copy_file_range, opendir, readdir, readdirplus, statfs
        case setxattr, getxattr, listxattr, removexattr
    }

    private struct Figures {
        var requests = [UInt64](repeating: 0, count: Operation.allCases.count)
        var nanoseconds = [UInt64](repeating: 0, count: Operation.allCases.count)
        var errors = [UInt64](repeating: 0, count: Operation.allCases.count)
        var bytesRead: UInt64 = 0
        var bytesWritten: UInt64 = 0
    }

    private let durations: [CoreMetrics.Timer]
    private let failures: [Counter]
    private let bytesReadCounter: Counter
    private let bytesWrittenCounter: Counter
    private let lock = NSLock()
    private var figures = Figures()

    init(volume: String, mountPath: String) {
        let mount = [("volume", volume), ("mount_path", mountPath)]
        durations = Operation.allCases.map { CoreMetrics.Timer(label: "volumed_fuse_request_duration_seconds", dimensions: mount + [("op", $0.rawValue)]) }
        failures = Operation.allCases.map { Counter(label: "volumed_fuse_request_errors_total", dimensions: mount + [("op", $0.rawValue)]) }
        bytesReadCounter = Counter(label: "volumed_fuse_read_bytes_total", dimensions: mount)
        bytesWrittenCounter = Counter(label: "volumed_fuse_written_bytes_total", dimensions: mount)
    }

    /// Records one request of `operation` that took `nanoseconds`, failed or not.
    func record(_ operation: Operation, nanoseconds: UInt64, failed: Bool) {
        let index = Self.index[operation]!
        durations[index].recordNanoseconds(nanoseconds)
        if failed { failures[index].increment() }
        lock.withLock {
            figures.requests[index] += 1
            figures.nanoseconds[index] += nanoseconds
            if failed { figures.errors[index] += 1 }
        }
    }

    func read(_ bytes: Int) {
        bytesReadCounter.increment(by: bytes)
        lock.withLock { figures.bytesRead += UInt64(bytes) }
    }

    func wrote(_ bytes: Int) {
        bytesWrittenCounter.increment(by: bytes)
        lock.withLock { figures.bytesWritten += UInt64(bytes) }
    }

    /// The figures as `name{labels} value` lines, for `.stats`: requests, seconds and errors
    /// of every operation that ran, and the bytes through the mount.
    var lines: [String] {
        let figures = lock.withLock { self.figures }
        var lines: [String] = []
        for (index, operation) in Operation.allCases.enumerated() where figures.requests[index] > 0 {
            lines.append("volumed_fuse_requests_total{op=\"\(operation.rawValue)\"} \(figures.requests[index])")
            lines.append("volumed_fuse_request_seconds_total{op=\"\(operation.rawValue)\"} \(Double(figures.nanoseconds[index]) / 1e9)")
            lines.append("volumed_fuse_request_errors_total{op=\"\(operation.rawValue)\"} \(figures.errors[index])")
        }
        lines.append("volumed_fuse_read_bytes_total \(figures.bytesRead)")
        lines.append("volumed_fuse_written_bytes_total \(figures.bytesWritten)")
        return lines
    }

    func destroy() {
        durations.forEach { $0.destroy() }
        failures.forEach { $0.destroy() }
        bytesReadCounter.destroy()
        bytesWrittenCounter.destroy()
    }

    private static let index = Dictionary(uniqueKeysWithValues: Operation.allCases.enumerated().map { ($1, $0) })
}
