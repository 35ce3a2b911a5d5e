import Foundation
import SystemBridge
import SystemPackage

/// A store's namespace at one instant as a file of its index format, unchanged until it is
/// released. For SQLite it is the live database itself: checkpointed whole, then held by a
/// read transaction of a second connection, which keeps later checkpoints out of the file; a
/// commit then reads the file instead of copying it first. For Redis it is a saved RDB.
public final class IndexSnapshot: @unchecked Sendable {
    public let file: FilePath
    /// The index's length in bytes, read at the instant of the snapshot.
    public let size: Int64
    private let lock = NSLock()
    private var letGo: (() -> Void)?

    /// Holds `file` at its present length until `release` runs.
    init(file: FilePath, release: @escaping () -> Void) throws(MetaError) {
        do {
            size = try FileSystem.status(file)?.size ?? 0
        } catch {
            throw MetaError(error, "cannot read the size of \(file): \(error)")
        }
        self.file = file
        letGo = release
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
