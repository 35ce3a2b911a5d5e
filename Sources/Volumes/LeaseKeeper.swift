import Foundation

/// Keeps one mount's lease in its bucket: writes it at once, renews it every
/// `MountLease.renewal` on a thread of its own, rewrites it when the mount's base changes, and
/// removes it when the mount ends. A failed renewal is tried again at the next turn; the
/// lease's lifetime leaves room for several.
final class LeaseKeeper: @unchecked Sendable {
    private let bucket: VolumeBucket
    private let condition = NSCondition()
    private var lease: MountLease
    private var stopped = false

    init(bucket: VolumeBucket, lease: MountLease) {
        self.bucket = bucket
        self.lease = lease
        renew()
        let thread = Thread { [weak self] in self?.run() }
        thread.name = "volumed-lease"
        thread.start()
    }

    /// The mount is now based on `locator` (it published it).
    func rebase(on locator: String?) {
        condition.withLock { lease.base = locator }
        renew()
    }

    /// Stops renewing and removes the lease.
    func end() {
        let id = condition.withLock { () -> String in
            stopped = true
            condition.broadcast()
            return lease.mountID
        }
        try? bucket.store.delete(MountLease.key(of: id))
    }

    private func run() {
        while true {
            let done = condition.withLock { () -> Bool in
                if !stopped { _ = condition.wait(until: Date().addingTimeInterval(MountLease.renewal)) }
                return stopped
            }
            if done { return }
            renew()
        }
    }

    private func renew() {
        let current = condition.withLock { () -> MountLease? in
            guard !stopped else { return nil }
            lease.expiresAt = Date().addingTimeInterval(MountLease.lifetime)
            return lease
        }
        guard let current else { return }
        try? bucket.store.put(MountLease.key(of: current.mountID), data: current.encoded())
    }
}
