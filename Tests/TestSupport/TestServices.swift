import Foundation

/// The real peers started by `scripts/test_services.py`. A missing variable is a test
/// failure that says how to start them, never a skip.
public enum ServiceEnvironment {
    public struct Missing: Error, CustomStringConvertible {
        public let variable: String
        public var description: String {
            "\(variable) is not set: these tests need the real test services; run them through scripts/test.sh (or `python3 scripts/test_services.py start DIR && source DIR/env`)"
        }
    }

    public static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(variable: name) }
        return value
    }
}
