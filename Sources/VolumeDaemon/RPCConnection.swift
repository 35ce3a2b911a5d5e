import Foundation
import SystemBridge
import SystemPackage
import VolumeModel
import Volumes

/// One client: newline-delimited requests in, lines out, handled in order on the
/// connection's own thread.
final class RPCConnection: @unchecked Sendable {
    /// The longest request line accepted; descriptors are a few KiB.
    static let maximumLine = 1 << 20

    private let socket: UnixSocket
    /// Who is on the other end, as of connect time.
    private let caller: Caller
    private let dispatcher: RPCDispatcher
    private let writeLock = NSLock()
    private var clientGone = false

    init(socket: UnixSocket, caller: Caller, dispatcher: RPCDispatcher) {
        self.socket = socket
        self.caller = caller
        self.dispatcher = dispatcher
    }

    /// Reads and answers requests until the client closes or misbehaves. A descriptor the
    /// client passes belongs to the request whose line holds the byte it came with; the
    /// request may use the first, and every one is closed once the request is answered.
    func serve() {
        var buffer = LineBuffer()
        var received = 0
        var consumed = 0
        var passed: [(at: Int, descriptor: FileDescriptor)] = []
        defer {
            for (_, descriptor) in passed { try? descriptor.close() }
            socket.close()
        }
        while true {
            if let line = buffer.nextLine() {
                consumed += line.count + 1
                let owned = passed.prefix { $0.at < consumed }.map(\.descriptor)
                passed.removeFirst(owned.count)
                if !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { dispatcher.handle(line, from: caller, descriptor: owned.first, send: send) }
                for descriptor in owned { try? descriptor.close() }
                continue
            }
            guard buffer.pendingCount <= Self.maximumLine else {
                send(RPCEnvelope.errorLine(id: nil, VolumeError(.invalidRequest, "request line longer than \(Self.maximumLine) bytes; closing the connection")))
                return
            }
            guard let (bytes, descriptors) = try? socket.receive() else { return }
            passed += descriptors.map { (received, $0) }
            guard !bytes.isEmpty else { return }
            received += bytes.count
            buffer.append(bytes)
        }
    }

    /// Stops a blocked read (daemon shutdown).
    func interrupt() { socket.shutdown() }

    private func send(_ line: Data) {
        writeLock.withLock {
            guard !clientGone else { return }
            do {
                try socket.write(Array(line))
            } catch {
                clientGone = true
            }
        }
    }
}
