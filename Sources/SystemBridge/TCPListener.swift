#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A listening IPv4 TCP socket, for the metrics endpoint. Its connections are stream sockets
/// like the Unix ones, so `accept` hands out a `UnixSocket` (every call of it but
/// `peerCredentials` holds for TCP).
public final class TCPListener: @unchecked Sendable {
    private let descriptor: Int32
    /// The port bound (the one asked for, or the kernel's pick for 0).
    public let port: UInt16

    /// Listens on `host` (a dotted IPv4 address) and `port`.
    public init(host: String, port: UInt16) throws(Errno) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw .invalidArgument }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Errno(rawValue: errno) }
        var on: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard bound == 0, named == 0, listen(descriptor, 16) == 0 else {
            let error = Errno(rawValue: errno)
            _ = Glibc.close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        self.port = UInt16(bigEndian: actual.sin_port)
    }

    /// The next connection; `.badFileDescriptor` or `.invalidArgument` once `close` was called.
    public func accept() throws(Errno) -> UnixSocket {
        try UnixSocket.accept(on: descriptor)
    }

    /// Stops accepting, waking a blocked `accept`.
    public func close() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
        _ = Glibc.close(descriptor)
    }
}
