import Foundation

/// The blocks of one slice staged in the background: its writer keeps filling the next
/// block meanwhile, and waits for all of them before the slice is committed.
final class StagingBatch: @unchecked Sendable {
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var failure: ChunkStoreError?

    func begin() { group.enter() }

    func end(_ error: ChunkStoreError?) {
        if let error { lock.withLock { failure = failure ?? error } }
        group.leave()
    }

    /// Returns once every block begun is staged; a block of the batch that never reached the
    /// disk loses the slice, as a local file system loses the pages whose writeback failed.
    func wait() throws(ChunkStoreError) {
        group.wait()
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}
