import Foundation
import ObjectStorage
import VolumeModel

/// Keeps one mount's lease in its bucket: writes it, renews it every `MountLease.renewal` on a
/// thread of its own, rewrites it when the mount's base changes, and removes it when the
/// working copy ends. A failed renewal is tried again at the next turn; the lease's lifetime
/// leaves room for several. A working copy left behind (kept at unmount, or found at start)
/// keeps a keeper too: gc must not take its blocks while its daemon can still recover it.
final class LeaseKeeper: @unchecked Sendable {
    private let bucket: VolumeBucket
    private let condition = NSCondition()
    private var lease: MountLease
    private var stopped = false

    /// `writeNow` writes the lease before returning (a mount being served needs it in place);
    /// otherwise the first write happens on the keeper's thread.
    init(bucket: VolumeBucket, lease: MountLease, writeNow: Bool = true) {
        self.bucket = bucket
        self.lease = lease
        if writeNow { try? renew() }
        let thread = Thread { [weak self] in self?.run(writing: !writeNow) }
        thread.name = "volumed-lease"
        thread.start()
    }

    var mountID: String { condition.withLock { lease.mountID } }

    /// The mount is now based on `locator` (it published it).
    func rebase(on locator: String?) {
        condition.withLock { lease.base = locator }
        try? renew()
    }

    /// Checked before a version is published: the lease must still be in the bucket. gc
    /// deletes a lease only after it lapsed for a whole grace period, and may then have
    /// deleted blocks the working copy needs, so a mount whose lease is gone publishes
    /// nothing (`lease_lost`). A lease that is there is renewed at once.
    func confirm() throws(VolumeError) {
        let key = MountLease.key(of: mountID)
        do {
            _ = try bucket.store.head(key)
        } catch where error.kind == .notFound {
            throw VolumeError(
                .leaseLost,
                "the lease \(bucket.uri)/\(key) of this mount is gone: its daemon could not renew it for longer than gc's grace period, and gc may since have deleted blocks its working copy needs; nothing was published. Copy what you need out of the mount and abandon it",
                data: ["lease": key])
        } catch {
            throw VolumeError(error, while: "checking this mount's lease \(bucket.uri)/\(key) before publishing")
        }
        do {
            try renew()
        } catch {
            throw VolumeError(error, while: "renewing this mount's lease \(bucket.uri)/\(key) before publishing")
        }
    }

    /// Stops renewing and leaves the lease to lapse (another keeper takes over its key).
    func stopRenewing() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    /// Stops renewing and removes the lease.
    func end() {
        stopRenewing()
        try? bucket.store.delete(MountLease.key(of: mountID))
    }

    private func run(writing first: Bool) {
        if first { try? renew() }
        while true {
            let done = condition.withLock { () -> Bool in
                if !stopped { _ = condition.wait(until: Date().addingTimeInterval(MountLease.renewal)) }
                return stopped
            }
            if done { return }
            try? renew()
        }
    }

    private func renew() throws(ObjectStoreError) {
        let current = condition.withLock { () -> MountLease? in
            guard !stopped else { return nil }
            lease.expiresAt = Date().addingTimeInterval(MountLease.lifetime)
            return lease
        }
        guard let current else { return }
        try bucket.store.put(MountLease.key(of: current.mountID), data: current.encoded())
    }
}
