#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A listening Unix socket at a path, created with the given mode and group.
public final class UnixListener: @unchecked Sendable {
    public let path: FilePath
    private let descriptor: Int32

    /// Replaces a stale socket file at `path` (refusing when something still answers there).
    public init(path: FilePath, mode: FilePermissions, group: UInt32?) throws(Errno) {
        self.path = path
        if (try? UnixSocket.connect(to: path)) != nil { throw .addressInUse }
        _ = path.withPlatformString { Glibc.unlink($0) }
        descriptor = try UnixSocket.make()
        var address = try UnixSocket.address(path)
        // Bind with no permissions at all, then widen: no window where others could connect.
        let previous = umask(0o777)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previous)
        guard bound == 0 else {
            let error = Errno(rawValue: errno)
            _ = Glibc.close(descriptor)
            throw error
        }
        let owned = path.withPlatformString { name in (group.map { chown(name, getuid(), $0) } ?? 0) == 0 && chmod(name, mode.rawValue) == 0 }
        guard owned, listen(descriptor, 128) == 0 else {
            let error = Errno(rawValue: errno)
            _ = Glibc.close(descriptor)
            throw error
        }
    }

    /// The next connection; `.badFileDescriptor` or `.invalidArgument` once `close` was called.
    public func accept() throws(Errno) -> UnixSocket {
        try UnixSocket.accept(on: descriptor)
    }

    /// Stops accepting (waking a blocked `accept`) and removes the socket file.
    public func close() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
        _ = Glibc.close(descriptor)
        _ = path.withPlatformString { Glibc.unlink($0) }
    }

    /// The numeric id of a group name, or `nil` when there is no such group.
    public static func groupID(named name: String) -> UInt32? {
        guard let entry = getgrnam(name) else { return nil }
        return entry.pointee.gr_gid
    }
}
