import Foundation
import VolumeModel

/// Runs independent pieces of work that wait on the network (index pieces going up or
/// coming down) on up to `limit` threads at once. `submit` blocks while `limit` run, so a
/// producer never holds more than that many pieces in memory; `finish` waits for all and
/// throws the first failure, after which nothing new starts.
final class ParallelWork: @unchecked Sendable {
    private let slots: DispatchSemaphore
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var failure: VolumeError?

    init(limit: Int = 16) {
        slots = DispatchSemaphore(value: limit)
    }

    /// Starts `body` once a slot is free; nothing starts after a failure.
    func submit(_ body: @escaping @Sendable () throws(VolumeError) -> Void) {
        slots.wait()
        guard lock.withLock({ failure == nil }) else {
            slots.signal()
            return
        }
        group.enter()
        DispatchQueue.global().async { [self] in
            defer {
                slots.signal()
                group.leave()
            }
            do throws(VolumeError) {
                try body()
            } catch {
                lock.withLock { failure = failure ?? error }
            }
        }
    }

    /// Waits for everything submitted; the first failure, if any.
    func finish() throws(VolumeError) {
        group.wait()
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}
