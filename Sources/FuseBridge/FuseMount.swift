import CFuse
import Foundation
import Glibc
import StorageFormat
import SystemPackage
import VFS

/// One volume served over libfuse3's low-level API by a pool of worker threads.
///
/// The kernel's requests arrive on libfuse's threads and go to `VolumeFileSystem`
/// unchanged (see `FuseOperations`); this type owns the session, the worker threads and the
/// mount's life: `mount` returns once the kernel can use the mount point, `unmount` waits
/// for the workers to end and detaches lazily if they do not.
public final class FuseMount: @unchecked Sendable {
    public let mountpoint: FilePath
    public let fileSystem: VolumeFileSystem
    public let options: FuseMountOptions
    let channel = KernelChannel()
    let metrics: FuseMetrics
    let stats: StatsFile
    private var session: OpaquePointer?
    private let finished = DispatchSemaphore(value: 0)
    private var workerCount = 0
    private var unmounted = false
    private var arguments: [UnsafeMutablePointer<CChar>?] = []

    public init(fileSystem: VolumeFileSystem, at mountpoint: FilePath, options: FuseMountOptions) {
        self.fileSystem = fileSystem
        self.mountpoint = mountpoint
        self.options = options
        metrics = FuseMetrics(volume: options.name, mountPath: mountpoint.string)
        stats = StatsFile(metrics: metrics, figures: options.statistics)
    }

    deinit {
        arguments.forEach { free($0) }
    }

    /// Mounts and starts serving; returns once a stat of the mount point is answered.
    public func mount() throws(Errno) {
        var flags = ["fsname=volumed:\(options.name)", "subtype=volumed", "default_permissions", "allow_other"]
        if options.readOnly { flags.append("ro") }
        let words: [String] = ["volumed", "-o", flags.joined(separator: ",")]
        arguments = words.map { strdup($0) } + [nil]
        var fuseArguments = fuse_args(argc: Int32(arguments.count - 1), argv: arguments.withUnsafeMutableBufferPointer { $0.baseAddress }, allocated: 0)
        var operations = FuseOperations.table
        guard let session = fuse_session_new(&fuseArguments, &operations, MemoryLayout<fuse_lowlevel_ops>.size, Unmanaged.passUnretained(self).toOpaque())
        else {
            throw .invalidArgument
        }
        guard fuse_session_mount(session, mountpoint.string) == 0 else {
            fuse_session_destroy(session)
            throw .noSuchFileOrDirectory
        }
        guard KernelChannel.install(on: session) else {
            fuse_session_unmount(session)
            fuse_session_destroy(session)
            throw .noMemory
        }
        self.session = session
        workerCount = max(1, options.threads)
        for _ in 0..<workerCount {
            let worker = Thread { [self] in
                _ = cfuse_session_worker(self.session)
                finished.signal()
            }
            worker.name = "volumed-fuse"
            worker.stackSize = 1 << 20
            worker.start()
        }
        var status = stat()
        guard stat(mountpoint.string, &status) == 0 else {
            let error = Errno(rawValue: errno)
            try? unmount()
            throw error
        }
        widenReadahead(device: UInt64(status.st_dev), bytes: options.maxReadahead)
    }

    /// The kernel sizes the window of a FUSE mount's own backing device from INIT only up
    /// to its 128 KiB default; its sysfs knob takes the rest. Without root (or sysfs) the
    /// mount only stays at the default.
    private func widenReadahead(device: UInt64, bytes: Int) {
        let major = ((device >> 8) & 0xFFF) | ((device >> 32) & ~0xFFF)
        let minor = (device & 0xFF) | ((device >> 12) & ~0xFF)
        let knob = "/sys/class/bdi/\(major):\(minor)/read_ahead_kb"
        try? Data("\(bytes >> 10)\n".utf8).write(to: URL(fileURLWithPath: knob))
    }

    /// Unmounts, detaching lazily when the mount is busy, and waits up to `timeout` for the
    /// workers to see the connection end before the session is freed. Workers that do not
    /// come back (a detached mount still in use) keep their session: it is never freed
    /// under them, nor its descriptor closed while they may read it.
    public func unmount(timeout: Duration = .seconds(10)) throws(Errno) {
        guard let session, !unmounted else { return }
        unmounted = true
        defer { metrics.destroy() }
        try? fileSystem.flushAll()
        if umount2(mountpoint.string, 0) != 0, umount2(mountpoint.string, Int32(MNT_DETACH)) != 0 {
            // Without the privilege to unmount, libfuse asks fusermount3 (and closes the device early).
            fuse_session_unmount(session)
        }
        let seconds = timeout.inSeconds
        guard awaitWorkers(until: .now() + seconds) else {
            fuse_session_exit(session)
            return
        }
        fuse_session_unmount(session)
        fuse_session_destroy(session)
        self.session = nil
    }

    /// Detaches whatever is mounted at `path` (a mount whose server died answers every call
    /// with ENOTCONN until then); does nothing when nothing is mounted there.
    public static func detachStale(at path: FilePath) {
        _ = umount2(path.string, Int32(MNT_DETACH))
    }

    /// Waits until every worker has returned; `false` on timeout.
    private func awaitWorkers(until deadline: DispatchTime) -> Bool {
        while workerCount > 0 {
            guard finished.wait(timeout: deadline) == .success else { return false }
            workerCount -= 1
        }
        return true
    }

    /// Whether the kernel leaves clearing set-ID bits to this mount (FUSE_HANDLE_KILLPRIV_V2,
    /// Linux 5.11 and later), and with it stops asking for `security.capability` before
    /// every write.
    public var clearsSetIDItself: Bool { channel.clearsSetIDItself }

    /// Drops the kernel's cached attributes of `inode`, changed by something other than the
    /// request it answers (its page cache stays).
    func invalidateAttributes(_ inode: Ino) {
        _ = fuse_lowlevel_notify_inval_inode(session, inode.rawValue, -1, 0)
    }

    /// The mount's request handler, from libfuse's userdata pointer.
    static func from(_ request: fuse_req_t?) -> FuseMount {
        from(userdata: fuse_req_userdata(request)!)
    }

    static func from(userdata: UnsafeMutableRawPointer) -> FuseMount {
        Unmanaged<FuseMount>.fromOpaque(userdata).takeUnretainedValue()
    }
}
