import Foundation
import SystemBridge
import SystemPackage

/// A store's namespace at one instant as a file of its index format, unchanged until it is
/// released. For SQLite it is the live database itself: checkpointed whole, then held by a
/// read transaction of a second connection, which keeps later checkpoints out of the file; a
/// commit then reads the file instead of copying it first. For Redis it is a saved RDB with
/// its records in key order (`RDBSorter`).
public final class IndexSnapshot: @unchecked Sendable {
    public let file: FilePath
    /// The index's length in bytes, read at the instant of the snapshot.
    public let size: Int64
    /// Whether the file is an RDB in key order, which key fences can index.
    let orderedByKey: Bool
    private let lock = NSLock()
    private var letGo: (() -> Void)?

    /// Holds `file` at its present length until `release` runs.
    init(file: FilePath, orderedByKey: Bool = false, release: @escaping () -> Void) throws(MetaError) {
        do {
            size = try FileSystem.status(file)?.size ?? 0
        } catch {
            throw MetaError(error, "cannot read the size of \(file): \(error)")
        }
        self.file = file
        self.orderedByKey = orderedByKey
        letGo = release
    }

    /// The key fence of each piece of the file, the pieces starting at `pieceStarts`; `nil`
    /// for an index that is not a key-ordered RDB (SQLite finds its own pages).
    public func keyFences(pieceStarts: [Int64]) throws(MetaError) -> [KeyFence?]? {
        orderedByKey ? try KeyFence.fences(of: file, pieceStarts: pieceStarts) : nil
    }

    /// Lets the store change the file again (or removes the copy); the file must not be read after.
    public func release() {
        let body = lock.withLock { () -> (() -> Void)? in
            defer { letGo = nil }
            return letGo
        }
        body?()
    }

    deinit { release() }
}
