import Foundation
import ObjectStorage
import StorageFormat
import SystemBridge

/// Drains written blocks into the object store with at most `maxUploads` PUTs at once.
///
/// A block waits `uploadDelay` after it was written; if its slice is forgotten meanwhile
/// (deleted or compacted away) it is never uploaded. Staged blocks come from the cache's
/// staging area (writeback); others are held in memory until durable. Failed uploads are
/// retried with backoff; the block stays staged until a PUT succeeds.
///
/// Staged blocks also wait while writers keep staging more, until `quietPeriod` passes
/// without a new one or their backlog reaches `backlogLimit` bytes or `backlogBlockLimit`
/// blocks: uploads would otherwise take the CPU and disk from the writes they follow (on a
/// small machine, with the object store itself), and the staging area holds them safely
/// meanwhile. A drain starts them at once. Upload
/// threads run at a lower priority, so that what does run beside a writer yields to it.
final class UploadPool: @unchecked Sendable {
    private struct Pending {
        let block: BlockKey
        /// In memory when not staged on disk (writeback off).
        let data: Data?
        var notBefore: ContinuousClock.Instant
        var attempts = 0
        /// The drain epoch it was queued in: a drain waits for every block of its epoch and
        /// the ones before, counted per epoch rather than looked up one by one.
        var epoch: UInt64 = 0
    }

    private let store: any ObjectStore
    private let cache: BlockCache
    private let staging: StagingArea
    private let space: CacheSpace
    private let layout: BlockLayout
    private let maxUploads: Int
    /// The daemon-wide bound this pool's PUTs share with every other mount's.
    private let gate: TransferGate
    private let workers: WorkerPool
    private let delay: Duration
    private let condition = NSCondition()
    private var queue: [BlockKey: Pending] = [:]
    /// New blocks in the order they became pending (their due times only grow), and
    /// blocks waiting to retry: the scheduler never sorts the whole queue.
    private var fifo: [BlockKey] = []
    private var head = 0
    private var retries: [BlockKey] = []
    private var inFlight: Set<BlockKey> = []
    /// `maxUploads` bounds requests; their bytes (held in memory while they are sent) are
    /// bounded apart, so that fifty PUTs of 4 MiB blocks do not hold 200 MiB at once.
    private var bytesInFlight = 0
    private static let maxBytesInFlight = 64 << 20
    private var uploadedBlocks = 0
    private var uploadedBytes: Int64 = 0
    private var uploadSeconds: Double = 0
    private var lastError: ObjectStoreError?
    private var stopped = false
    private let clock = ContinuousClock()
    private let quietPeriod: Duration = .milliseconds(300)
    private let backlogLimit: Int64
    private var lastStaged: ContinuousClock.Instant
    private var stagedBacklog: Int64 = 0
    private var stagedBacklogBlocks = 0
    /// Small files leave many blocks and few bytes: past this many, uploads run freely, so
    /// that a commit after a long stream of small files finds at most about this many left
    /// (some seconds of PUTs; a `tar x` of /usr/include stays below it).
    private static let backlogBlockLimit = 20_000
    /// Past this many queued blocks, writers wait for uploads (`waitForRoom`). Every queued
    /// block costs an entry here and in the staging area, and each of a daemon's mounts may
    /// hold a full queue, which the default (50,000) keeps to a small share of the daemon.
    private let queueLimit: Int
    private var draining = 0
    private var failedUploads = 0
    /// While drains wait, blocks of this epoch and before (the latest drain's) start
    /// regardless of their delay.
    private var drainMark: UInt64?
    private var epoch: UInt64 = 0
    private var pendingByEpoch: [UInt64: (blocks: Int, bytes: Int64)] = [:]

    init(
        store: any ObjectStore, cache: BlockCache, staging: StagingArea, space: CacheSpace, layout: BlockLayout, maxUploads: Int, delay: Duration,
        gate: TransferGate = .unlimited, queueLimit: Int = 50_000
    ) {
        self.gate = gate
        self.queueLimit = queueLimit
        self.store = store
        self.cache = cache
        self.staging = staging
        self.space = space
        self.layout = layout
        self.maxUploads = max(1, maxUploads)
        workers = WorkerPool(name: "volumed-upload", limit: self.maxUploads, background: true)
        self.delay = delay
        backlogLimit = min(1 << 30, cache.budget / 2)
        lastStaged = clock.now
        let scheduler = Thread { [weak self] in
            ThreadPriority.lowerCurrentThread()
            self?.schedule()
        }
        scheduler.name = "volumed-uploads"
        scheduler.start()
    }

    /// A writer staged a block: staged uploads hold back a little longer.
    func noteStaging() {
        condition.withLock { lastStaged = clock.now }
    }

    /// Returns once fewer than `queueLimit` blocks are queued. Each queued block costs an
    /// entry here and in the staging area, so a burst of a million small files goes at the
    /// pace of its uploads instead of holding a million entries, as a local file system's
    /// writers wait for its dirty pages. A mount with an upload delay asked for the staging
    /// area as its buffer and never waits.
    func waitForRoom() {
        guard delay == .zero else { return }
        condition.lock()
        defer { condition.unlock() }
        while !stopped, queue.count >= queueLimit { _ = condition.wait(until: Date().addingTimeInterval(1)) }
    }

    /// Queues a block staged in the cache.
    func enqueueStaged(_ block: BlockKey, delayed: Bool = true) {
        add(Pending(block: block, data: nil, notBefore: clock.now + (delayed ? delay : .zero)))
    }

    /// Queues a block held in memory (writeback off): no delay.
    func enqueue(_ block: BlockKey, data: Data) {
        add(Pending(block: block, data: data, notBefore: clock.now))
    }

    /// Drops every queued, not yet started block of these slices (`nil`: of all slices) and
    /// their staged files.
    /// Blocks already uploading finish; the caller only forgets slices nothing references.
    func forget(sliceIDs: Set<SliceID>?) {
        let dropped = condition.withLock { () -> [BlockKey] in
            let victims = queue.keys.filter { (sliceIDs?.contains($0.sliceID) ?? true) && !inFlight.contains($0) }
            for victim in victims { remove(victim) }
            condition.broadcast()
            return victims
        }
        for block in dropped {
            let key = CacheKey(space: space, block: block)
            staging.discard(key)
            cache.forgetMemory(key)
        }
    }

    /// Waits until none of `blocks` is pending; throws the last upload error if `deadline` passes.
    func waitDurable(_ blocks: [BlockKey], deadline: Duration = .seconds(3600)) throws(ObjectStoreError) {
        let until = clock.now + deadline
        condition.lock()
        defer { condition.unlock() }
        while blocks.contains(where: { queue[$0] != nil }) {
            if clock.now >= until { throw lastError ?? ObjectStoreError(.transient, "uploads did not finish in time") }
            _ = condition.wait(until: Date().addingTimeInterval(0.2))
        }
    }

    /// Waits until every block pending at the call is durable, ignoring upload delays, and
    /// reports (blocks, bytes) of those still pending. Blocks written meanwhile are not
    /// waited for, so a commit finishes while the mount keeps writing.
    func drain(deadline: Duration, progress: (Int, Int64) -> Void) throws(ObjectStoreError) {
        let until = clock.now + deadline
        condition.lock()
        draining += 1
        defer {
            draining -= 1
            condition.unlock()
        }
        let mark = epoch
        epoch += 1
        drainMark = max(drainMark ?? mark, mark)
        defer { if draining == 1 { drainMark = nil } }
        // Delays end for the blocks pending now (by epoch: no pass over a queue that may
        // hold a million small blocks); retries wait no longer for their backoff.
        let now = clock.now
        for key in retries { queue[key]?.notBefore = now }
        condition.broadcast()
        while true {
            let (blocks, bytes) = pendingByEpoch.filter { $0.key <= mark }.values.reduce((0, Int64(0))) { ($0.0 + $1.blocks, $0.1 + $1.bytes) }
            progress(blocks, bytes)
            if blocks == 0 { return }
            if clock.now >= until { throw lastError ?? ObjectStoreError(.transient, "uploads did not finish in time") }
            _ = condition.wait(until: Date().addingTimeInterval(0.2))
        }
    }

    func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    func statistics(into statistics: inout ChunkStoreStatistics) {
        condition.withLock {
            statistics.stagedBlocks = queue.count
            statistics.stagedBytes = queue.keys.reduce(0) { $0 + Int64($1.size) }
            statistics.uploadsInFlight = inFlight.count
            statistics.uploadedBlocks = uploadedBlocks
            statistics.uploadErrors = failedUploads
            statistics.uploadedBytes = uploadedBytes
            statistics.uploadRate = uploadSeconds > 0 ? Double(uploadedBytes) / uploadSeconds * Double(maxUploads) : 0
        }
    }

    // MARK: - Scheduling

    /// Wakes the scheduler only when the block may start now (or it was idle): a writer
    /// staging small files would otherwise wake it once per file for nothing.
    private func add(_ pending: Pending) {
        condition.withLock {
            var pending = pending
            // A block queued again keeps its first epoch: a drain waiting for it still does.
            pending.epoch = queue[pending.block]?.epoch ?? epoch
            let wasIdle = queue.isEmpty
            if let replaced = queue.updateValue(pending, forKey: pending.block) {
                count(replaced, -1)
            } else {
                fifo.append(pending.block)
                if pending.data == nil {
                    stagedBacklog += Int64(pending.block.size)
                    stagedBacklogBlocks += 1
                }
            }
            count(pending, 1)
            let now = clock.now
            if wasIdle || pending.data != nil || stagedUploadsAllowed(now) <= now { condition.broadcast() }
        }
    }

    private func count(_ pending: Pending, _ sign: Int) {
        var entry = pendingByEpoch[pending.epoch] ?? (0, 0)
        entry.blocks += sign
        entry.bytes += Int64(sign * pending.block.size)
        pendingByEpoch[pending.epoch] = entry.blocks == 0 ? nil : entry
    }

    private func schedule() {
        condition.lock()
        while !stopped {
            let now = clock.now
            if inFlight.count < maxUploads, let next = nextReady(now) {
                inFlight.insert(next.block)
                bytesInFlight += next.block.size
                workers.submit { self.upload(next) }
                continue
            }
            _ = condition.wait(until: Date().addingTimeInterval(secondsUntilNextDue(now)))
        }
        condition.unlock()
    }

    @discardableResult
    private func remove(_ block: BlockKey) -> Bool {
        guard let pending = queue.removeValue(forKey: block) else { return false }
        count(pending, -1)
        if pending.data == nil {
            stagedBacklog -= Int64(block.size)
            stagedBacklogBlocks -= 1
        }
        return true
    }

    /// When staged blocks may start uploading: now, unless writers are busy staging.
    private func stagedUploadsAllowed(_ now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        guard draining == 0, stagedBacklog < backlogLimit, stagedBacklogBlocks < Self.backlogBlockLimit else { return now }
        return max(now, lastStaged + quietPeriod)
    }

    /// The oldest due block, from retries first, then the FIFO (whose head is its soonest).
    private func nextReady(_ now: ContinuousClock.Instant) -> Pending? {
        guard bytesInFlight < Self.maxBytesInFlight else { return nil }
        let stagedAllowed = stagedUploadsAllowed(now) <= now
        if let index = retries.firstIndex(where: { queue[$0].map { $0.notBefore <= now } ?? true }) {
            let key = retries.remove(at: index)
            if let pending = queue[key], !inFlight.contains(key) { return pending }
        }
        while head < fifo.count {
            let key = fifo[head]
            guard let pending = queue[key], !inFlight.contains(key), pending.attempts == 0 else {
                head += 1
                continue
            }
            guard isDue(pending, now), pending.data != nil || stagedAllowed else { break }
            head += 1
            return pending
        }
        if head > 4096, head * 2 > fifo.count {
            fifo.removeFirst(head)
            head = 0
        }
        return nil
    }

    /// Whether a new block's delay is over, or a drain waits for it.
    private func isDue(_ pending: Pending, _ now: ContinuousClock.Instant) -> Bool {
        pending.notBefore <= now || drainMark.map { pending.epoch <= $0 } ?? false
    }

    private func secondsUntilNextDue(_ now: ContinuousClock.Instant) -> Double {
        var soonest = head < fifo.count ? queue[fifo[head]].map { max(isDue($0, now) ? now : $0.notBefore, $0.data == nil ? stagedUploadsAllowed(now) : now) } : nil
        for key in retries { if let due = queue[key]?.notBefore { soonest = min(soonest ?? due, due) } }
        guard let soonest else { return 1 }
        let wait = soonest - now
        return max(0.005, min(1, wait.inSeconds))
    }

    private func upload(_ pending: Pending) {
        let key = CacheKey(space: space, block: pending.block)
        let started = clock.now
        var failure: ObjectStoreError?
        if let data = pending.data ?? cache.memoryCopy(key) ?? staging.data(key) {
            do {
                try gate.transfer(bytes: data.count) { () throws(ObjectStoreError) in try store.put(layout.objectKey(pending.block), data: data) }
            } catch {
                failure = error
            }
        } else if condition.withLock({ queue[pending.block] != nil }) {
            failure = ObjectStoreError(.permanent, "staged block \(pending.block) is missing or corrupt on local disk")
        }
        let elapsed = clock.now - started
        // The block joins the ordinary cache before anyone waiting on it is told.
        if failure == nil {
            if let data = pending.data { cache.insert(key, data) } else { cache.adopt(key, from: staging) }
        }
        condition.withLock {
            inFlight.remove(pending.block)
            bytesInFlight -= pending.block.size
            if let failure {
                lastError = failure
                failedUploads += 1
                if var again = queue[pending.block] {
                    again.attempts += 1
                    again.notBefore = clock.now + .milliseconds(min(30_000, 250 << min(again.attempts, 7)))
                    queue[pending.block] = again
                    retries.append(pending.block)
                }
            } else if remove(pending.block) {
                uploadedBlocks += 1
                uploadedBytes += Int64(pending.block.size)
                uploadSeconds += elapsed.inSeconds
            }
            condition.broadcast()
        }
    }
}
