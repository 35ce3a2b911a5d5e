import Foundation
import SystemBridge
import VolumeModel

/// One client: newline-delimited requests in, lines out, handled in order on the
/// connection's own thread.
final class RPCConnection: @unchecked Sendable {
    /// The longest request line accepted; descriptors are a few KiB.
    static let maximumLine = 1 << 20

    private let socket: UnixSocket
    private let dispatcher: RPCDispatcher
    private let writeLock = NSLock()
    private var clientGone = false

    init(socket: UnixSocket, dispatcher: RPCDispatcher) {
        self.socket = socket
        self.dispatcher = dispatcher
    }

    /// Reads and answers requests until the client closes or misbehaves.
    func serve() {
        defer { socket.close() }
        var buffer = LineBuffer()
        while true {
            if let line = buffer.nextLine() {
                if !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { dispatcher.handle(line, send: send) }
                continue
            }
            guard buffer.pendingCount <= Self.maximumLine else {
                send(RPCEnvelope.errorLine(id: nil, VolumeError(.invalidRequest, "request line longer than \(Self.maximumLine) bytes; closing the connection")))
                return
            }
            guard let bytes = try? socket.read(), !bytes.isEmpty else { return }
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
