import Foundation
import SystemBridge
import VolumeModel

/// Output for people goes to stderr, so stdout stays reserved for machine-readable results.
enum Terminal {
    static func line(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        line("error: \(text)")
    }

    /// A result on stdout: descriptors and `--json` output, sorted keys, one trailing newline.
    static func json<Value: Encodable>(_ value: Value) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Wire types encode without failure (strings, numbers and nested wire types).
        var data = try! encoder.encode(value)
        data.append(0x0A)
        FileHandle.standardOutput.write(data)
    }

    static func output(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Whether stderr is a terminal a progress bar can redraw.
    static var isInteractive: Bool { FileSystem.isTerminal(.standardError) }

    static func byteCount(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
