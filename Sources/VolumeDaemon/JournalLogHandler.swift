import Foundation
import Logging

/// One line per event on stderr, with systemd's `<N>` priority prefix so the journal files
/// it at the right level; every layer's `Logger` writes here once `bootstrap` has run.
/// Callers never pass credentials: descriptors, URIs and operation names carry none.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public init(level: Logger.Level) {
        logLevel = level
    }

    /// Sends every logger of the process here, at `level` (once per process).
    public static func bootstrap(level: LogLevel) {
        LoggingSystem.bootstrap { _ in JournalLogHandler(level: level.loggerLevel) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let priority =
            switch event.level {
            case .trace, .debug: 7
            case .info: 6
            case .notice: 5
            case .warning: 4
            case .error: 3
            case .critical: 2
            }
        FileHandle.standardError.write(Data("<\(priority)>\(event.message)\n".utf8))
    }
}

extension LogLevel {
    var loggerLevel: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
    }
}
