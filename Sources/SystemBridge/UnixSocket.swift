#if canImport(Glibc)
import Glibc
#endif
import CSocket
import Foundation
import SystemPackage

/// A connected `SOCK_STREAM` Unix socket: blocking reads and writes of bytes, and the
/// peer's kernel-verified credentials.
public final class UnixSocket: @unchecked Sendable {
    public let descriptor: Int32
    private let closeLock = NSLock()
    private var closed = false

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { close() }

    /// Connects to a listening socket at `path`.
    public static func connect(to path: FilePath) throws(Errno) -> UnixSocket {
        let socket = UnixSocket(descriptor: try UnixSocket.make())
        var address = try UnixSocket.address(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket.descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw Errno(rawValue: errno) }
        return socket
    }

    /// The process, user and group on the other end (SO_PEERCRED), as of connect time.
    public func peerCredentials() throws(Errno) -> (pid: Int32, uid: UInt32, gid: UInt32) {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (hidden behind _GNU_SOURCE).
        var credentials = [UInt32](repeating: 0, count: 3)
        var length = socklen_t(12)
        let result = credentials.withUnsafeMutableBytes { getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, $0.baseAddress, &length) }
        guard result == 0 else { throw Errno(rawValue: errno) }
        return (Int32(bitPattern: credentials[0]), credentials[1], credentials[2])
    }

    /// Up to `maximum` bytes; empty at end of stream.
    public func read(maximum: Int = 65536) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, maximum) }
            if count >= 0 { return Array(buffer.prefix(count)) }
            if errno != EINTR { throw Errno(rawValue: errno) }
        }
    }

    /// Up to `maximum` bytes and the descriptors the peer passed with them (SCM_RIGHTS),
    /// which the caller then owns; empty bytes at end of stream.
    public func receive(maximum: Int = 65536) throws(Errno) -> (bytes: [UInt8], descriptors: [FileDescriptor]) {
        var buffer = [UInt8](repeating: 0, count: maximum)
        var passed = [Int32](repeating: -1, count: 16)
        var count: Int32 = 0
        while true {
            let received = buffer.withUnsafeMutableBytes { bytes in
                passed.withUnsafeMutableBufferPointer { csocket_receive_with_descriptors(descriptor, bytes.baseAddress, maximum, $0.baseAddress, 16, &count) }
            }
            if received >= 0 { return (Array(buffer.prefix(received)), passed.prefix(Int(count)).map { FileDescriptor(rawValue: $0) }) }
            if errno != EINTR { throw Errno(rawValue: errno) }
        }
    }

    /// Writes every byte, passing `descriptor` with the first of them (SCM_RIGHTS): the
    /// peer gets its own copy, open as the sender opened it.
    public func write(_ bytes: [UInt8], passing descriptor: FileDescriptor) throws(Errno) {
        precondition(!bytes.isEmpty, "a descriptor travels with at least one byte")
        while true {
            let count = bytes.withUnsafeBytes { csocket_send_with_descriptor(self.descriptor, $0.baseAddress, bytes.count, descriptor.rawValue) }
            if count >= 0 { return try write(Array(bytes[count...])) }
            if errno != EINTR { throw Errno(rawValue: errno) }
        }
    }

    /// Writes every byte (never raising SIGPIPE; a closed peer is `.brokenPipe`).
    public func write(_ bytes: [UInt8]) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Errno(rawValue: errno)
            }
            offset += count
        }
    }

    /// Half-closes: the peer reads end-of-file, answers still arrive.
    public func finishWriting() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Makes `read` fail with `.resourceTemporarilyUnavailable` after `seconds` without data.
    public func setReceiveTimeout(seconds: Int) {
        var limit = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Makes `write` fail with `.resourceTemporarilyUnavailable` after `seconds` of a full send buffer.
    public func setSendTimeout(seconds: Int) {
        var limit = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Stops both directions, waking a blocked reader; the descriptor stays open until `close`.
    public func shutdown() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }

    public func close() {
        closeLock.withLock {
            guard !closed else { return }
            closed = true
            _ = Glibc.close(descriptor)
        }
    }

    /// The next connection on a listening socket (Unix or TCP), close-on-exec.
    static func accept(on listener: Int32) throws(Errno) -> UnixSocket {
        while true {
            let connection = Glibc.accept(listener, nil, nil)
            if connection >= 0 {
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                return UnixSocket(descriptor: connection)
            }
            if errno != EINTR && errno != ECONNABORTED { throw Errno(rawValue: errno) }
        }
    }

    static func make() throws(Errno) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Errno(rawValue: errno) }
        return descriptor
    }

    static func address(_ path: FilePath) throws(Errno) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.string.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .fileNameTooLong }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        return address
    }
}
