import Foundation
import SystemBridge
import SystemPackage
import Testing
import VolumeModel

/// A client that speaks bytes, not types: for requests `VolumeClient` would never send.
final class RawConnection {
    private let socket: UnixSocket
    private var buffer = LineBuffer()

    init(_ path: FilePath, timeout: Int = 60) throws {
        socket = try UnixSocket.connect(to: path)
        socket.setReceiveTimeout(seconds: timeout)
    }

    deinit { socket.close() }

    /// Sends text, with `descriptor` attached to its first byte when given.
    func send(_ text: String, passing descriptor: FileDescriptor? = nil) throws {
        if let descriptor { try socket.write(Array(text.utf8), passing: descriptor) } else { try socket.write(Array(text.utf8)) }
    }

    /// The next line as a JSON object; `nil` when the daemon closed the connection.
    func receive() throws -> [String: Any]? {
        while true {
            if let line = buffer.nextLine() {
                return try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any], "a JSON object per line")
            }
            let bytes = try socket.read()
            if bytes.isEmpty { return nil }
            buffer.append(bytes)
        }
    }

    /// Sends one request and returns the response (skipping progress notifications).
    func call(_ request: String) throws -> [String: Any] {
        try send(request + "\n")
        while let line = try receive() {
            if line["method"] as? String != "progress" { return line }
        }
        throw RawConnectionClosed()
    }

    func finishWriting() { socket.finishWriting() }
    func close() { socket.close() }

    struct RawConnectionClosed: Error {}
}

extension Dictionary where Key == String, Value == Any {
    /// `error.code` and `error.data.name` of an error response.
    var errorCode: (Int, String)? {
        guard let error = self["error"] as? [String: Any], let code = error["code"] as? Int else { return nil }
        return (code, (error["data"] as? [String: Any])?["name"] as? String ?? "")
    }

    var errorMessage: String { ((self["error"] as? [String: Any])?["message"] as? String) ?? "" }
}
