import Foundation

/// Output for people: always stderr, so stdout stays reserved for machine-readable results.
enum Terminal {
    static func line(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        line("error: \(text)")
    }
}
