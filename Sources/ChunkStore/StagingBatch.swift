import Foundation

/// The blocks of one slice staged in the background: its writer keeps filling the next
/// block meanwhile, and waits for all of them before the slice is committed.
final class StagingBatch: @unchecked Sendable {
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var failure: (any Error)?

    func begin() { group.enter() }

    func end(_ error: (any Error)?) {
        if let error { lock.withLock { failure = failure ?? error } }
        group.leave()
    }

    /// A block of the batch never reached the disk: the slice is lost, as a local file
    /// system loses the pages whose writeback failed.
    struct Failure: Error {
        let underlying: any Error
    }

    /// Returns once every block begun is staged.
    func wait() throws(Failure) {
        group.wait()
        if let failure = lock.withLock({ failure }) { throw Failure(underlying: failure) }
    }
}
