import Foundation

/// One line per event on stderr, with systemd's `<N>` priority prefix so the journal files
/// it at the right level. Callers never pass credentials: descriptors and URIs carry none.
public struct Log: Sendable {
    public let level: LogLevel

    public init(level: LogLevel) {
        self.level = level
    }

    public func debug(_ message: @autoclosure () -> String) { write(.debug, message()) }
    public func info(_ message: @autoclosure () -> String) { write(.info, message()) }
    public func warning(_ message: @autoclosure () -> String) { write(.warning, message()) }
    public func error(_ message: @autoclosure () -> String) { write(.error, message()) }

    private func write(_ severity: LogLevel, _ message: @autoclosure () -> String) {
        guard severity >= level else { return }
        let priority = switch severity {
        case .debug: 7
        case .info: 6
        case .warning: 4
        case .error: 3
        }
        FileHandle.standardError.write(Data("<\(priority)>\(message())\n".utf8))
    }
}
