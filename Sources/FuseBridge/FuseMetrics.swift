import CoreMetrics


/// The kernel's requests to one mount as metrics (swift-metrics; the daemon exports them to
/// Prometheus): latency by operation, failed requests by operation, bytes read and written,
/// each labelled with the volume and the mount path. Made once per mount so that a request
/// only records, and destroyed at unmount so that a gone mount's series go with it.
final class FuseMetrics: Sendable {
    /// The requests timed, by their libfuse names.
    enum Operation: String, CaseIterable, Sendable {
        case lookup, getattr, setattr, readlink, mknod, mkdir, unlink, rmdir, symlink, rename, link, open, create, read, write
        case flush, fsync, release, fallocate, copy_file_range, opendir, readdir, readdirplus, statfs
        case setxattr, getxattr, listxattr, removexattr
    }

    private let durations: [CoreMetrics.Timer]
    private let failures: [Counter]
    let bytesRead: Counter
    let bytesWritten: Counter

    init(volume: String, mountPath: String) {
        let mount = [("volume", volume), ("mount_path", mountPath)]
        durations = Operation.allCases.map { CoreMetrics.Timer(label: "volumed_fuse_request_duration_seconds", dimensions: mount + [("op", $0.rawValue)]) }
        failures = Operation.allCases.map { Counter(label: "volumed_fuse_request_errors_total", dimensions: mount + [("op", $0.rawValue)]) }
        bytesRead = Counter(label: "volumed_fuse_read_bytes_total", dimensions: mount)
        bytesWritten = Counter(label: "volumed_fuse_written_bytes_total", dimensions: mount)
    }

    /// Records one request of `operation` that took `nanoseconds`, failed or not.
    func record(_ operation: Operation, nanoseconds: UInt64, failed: Bool) {
        let index = Self.index[operation]!
        durations[index].recordNanoseconds(nanoseconds)
        if failed { failures[index].increment() }
    }

    func destroy() {
        durations.forEach { $0.destroy() }
        failures.forEach { $0.destroy() }
        bytesRead.destroy()
        bytesWritten.destroy()
    }

    private static let index = Dictionary(uniqueKeysWithValues: Operation.allCases.enumerated().map { ($1, $0) })
}
