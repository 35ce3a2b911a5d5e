import Foundation

/// Splits a byte stream into newline-terminated lines (the protocol's framing), looking
/// at each byte once however the stream is chunked: a 64 MiB `volume.cat` answer arrives
/// in a thousand reads.
public struct LineBuffer: Sendable {
    private var bytes: [UInt8] = []
    private var start = 0
    private var scanned = 0

    public init() {}

    /// Bytes received but not yet returned as a line.
    public var pendingCount: Int { bytes.count - start }

    public mutating func append(_ chunk: [UInt8]) {
        if start > 0, start >= bytes.count / 2 {
            bytes.removeSubrange(..<start)
            scanned -= start
            start = 0
        }
        bytes += chunk
    }

    /// The next complete line without its newline, or `nil` until one has arrived.
    public mutating func nextLine() -> Data? {
        guard let newline = bytes[scanned...].firstIndex(of: 0x0A) else {
            scanned = bytes.count
            return nil
        }
        let line = Data(bytes[start..<newline])
        start = newline + 1
        scanned = start
        return line
    }
}
