import CTLS
import Foundation
import Glibc

/// A `rediss://` connection for a hiredis without TLS: the TLS session is opened here (the
/// server's certificate verified against a CA file or the system's roots, and its name or
/// address against the host) and pumped to one end of a socketpair, whose other end hiredis
/// uses as a plain connection. The pump thread ends, closing everything, when either side
/// closes.
enum TLSTunnel {
    /// The local descriptor to hand hiredis.
    static func open(host: String, port: Int, caFile: String?, timeoutSeconds: Int) throws(RedisError) -> Int32 {
        var session: OpaquePointer?
        var message = [CChar](repeating: 0, count: 512)
        let tcp = ctls_connect(host, Int32(port), caFile, Int32(timeoutSeconds), &session, &message, message.count)
        guard tcp >= 0, let session else {
            throw RedisError(.connection, String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            let reason = String(cString: strerror(errno))
            SSL_free(session)
            close(tcp)
            throw RedisError(.connection, "socketpair for the TLS tunnel to \(host):\(port): \(reason)")
        }
        let ends = Ends(session: session, tcp: tcp, local: pair[1])
        let pump = Thread { ctls_pump(ends.session, ends.tcp, ends.local) }
        pump.name = "volumed-redis-tls"
        pump.start()
        return pair[0]
    }

    /// What the pump thread owns from the moment it starts.
    private struct Ends: @unchecked Sendable {
        let session: OpaquePointer
        let tcp: Int32
        let local: Int32
    }
}
