import Foundation

/// Failures collected from concurrent workers, reported once they are done.
public final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []

    public init() {}

    public func add(_ message: String) { lock.withLock { messages.append(message) } }
    public var all: [String] { lock.withLock { messages } }
}
