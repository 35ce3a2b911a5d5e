import Foundation
import VolumeModel

/// Shows a long operation's progress on stderr: a redrawn bar on a terminal, otherwise a
/// plain line per phase and at most one every few seconds (logs stay readable).
final class ProgressDisplay: @unchecked Sendable {
    private let interactive: Bool
    private let lock = NSLock()
    private var phase = ""
    private var lastLine = Date.distantPast
    private var drawn = false

    init(interactive: Bool = Terminal.isInteractive) {
        self.interactive = interactive
    }

    func update(_ progress: VolumeProgress) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let newPhase = progress.phase != phase
        phase = progress.phase
        if interactive {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(Self.bar(progress))".utf8))
            drawn = true
        } else if newPhase || now.timeIntervalSince(lastLine) >= 5 || progress.done == progress.total {
            lastLine = now
            Terminal.line(Self.text(progress))
        }
    }

    /// Ends the bar's line so that what follows starts on its own.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }

    static func text(_ progress: VolumeProgress) -> String {
        let amount = { (value: Int64) in progress.unit == "bytes" ? Terminal.byteCount(value) : "\(value)" }
        guard let total = progress.total else {
            return progress.unit.isEmpty ? progress.phase : "\(progress.phase): \(amount(progress.done)) \(progress.unit)"
        }
        let unit = progress.unit == "bytes" ? "" : " \(progress.unit)"
        return "\(progress.phase): \(amount(progress.done))/\(amount(total))\(unit)"
    }

    static func bar(_ progress: VolumeProgress, width: Int = 30) -> String {
        guard let total = progress.total, total > 0 else { return text(progress) }
        let fraction = min(1, Double(progress.done) / Double(total))
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        return "[\(bar)] \(String(format: "%3.0f%%", fraction * 100)) \(text(progress))"
    }
}
