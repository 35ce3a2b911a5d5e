import Foundation
import SystemBridge

/// The file descriptors streaming writers may hold at once, daemon-wide.
///
/// A block streaming into its staged file keeps the file open until the block fills, so a
/// task with thousands of large files open for writing would hold thousands of descriptors,
/// and past the process limit every other open (a short block write, SQLite, a socket for
/// an upload) would fail. Past this budget, blocks gather in memory as small ones do.
final class DescriptorBudget: @unchecked Sendable {
    private let lock = NSLock()
    private let limit: Int
    private var held = 0

    /// A quarter of the process's descriptor limit: the rest stays for everything else.
    static let streaming = DescriptorBudget(limit: max(8, Int(min(DescriptorLimit.current, 1 << 20)) / 4))

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes one descriptor from the budget; `false` when it is spent.
    func take() -> Bool {
        lock.withLock {
            guard held < limit else { return false }
            held += 1
            return true
        }
    }

    func giveBack() {
        lock.withLock { held -= 1 }
    }
}
