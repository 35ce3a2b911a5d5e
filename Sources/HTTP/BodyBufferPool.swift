import Dispatch
import Foundation

/// Buffers for large response bodies (object-store blocks), kept for reuse once the `Data`
/// made from them is released.
///
/// A fresh 4 MiB allocation is mapped anew by malloc and every page of it faults and is
/// zeroed on first touch, a large share of a cold read's CPU. Pooled buffers come back with
/// their pages in place. The pool keeps what one read stream holds alive at once (the
/// cache's memory tier and its read-ahead), at most `retainedBytes`, and none for much
/// longer than `idleRelease`: a stream takes its buffers back within milliseconds, and a
/// pool still full after reading stops would only add itself to the next write's peak
/// (bench/README, "Memory under reads"). Buffers are page-aligned, so a block received into
/// one can go to the disk cache without passing through the page cache (O_DIRECT).
final class BodyBufferPool: @unchecked Sendable {
    static let shared = BodyBufferPool(retainedBytes: 128 << 20, idleRelease: .seconds(2))

    /// Bodies at least this large come from the pool; smaller ones are not worth it.
    static let minimumSize = 1 << 20

    private struct Returned {
        let pointer: UnsafeMutableRawPointer
        let at: ContinuousClock.Instant
    }

    private let retainedBytes: Int
    private let idleRelease: Duration
    private let lock = NSLock()
    /// Per capacity, oldest first: `take` reuses the most recently returned buffer.
    private var free: [Int: [Returned]] = [:]
    private var freeBytes = 0
    private var releaseScheduled = false

    init(retainedBytes: Int, idleRelease: Duration) {
        self.retainedBytes = retainedBytes
        self.idleRelease = idleRelease
    }

    /// The capacity a body of `size` bytes is served with: the next power of two.
    static func capacity(for size: Int) -> Int {
        1 << (Int.bitWidth - (max(size, 1) - 1).leadingZeroBitCount)
    }

    func take(capacity: Int) -> UnsafeMutableRawPointer {
        if let pointer = lock.withLock({ () -> UnsafeMutableRawPointer? in
            guard let returned = free[capacity]?.popLast() else { return nil }
            freeBytes -= capacity
            return returned.pointer
        }) {
            return pointer
        }
        return UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 4096)
    }

    func give(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        let (kept, scheduling) = lock.withLock { () -> (Bool, Bool) in
            guard freeBytes + capacity <= retainedBytes else { return (false, false) }
            free[capacity, default: []].append(Returned(pointer: pointer, at: .now))
            freeBytes += capacity
            let scheduling = !releaseScheduled
            releaseScheduled = true
            return (true, scheduling)
        }
        if !kept { pointer.deallocate() }
        if scheduling { scheduleRelease() }
    }

    /// `count` bytes at `pointer` as `Data` that hands the buffer back when released.
    func data(_ pointer: UnsafeMutableRawPointer, count: Int, capacity: Int) -> Data {
        Data(bytesNoCopy: pointer, count: count, deallocator: .custom { [self] pointer, _ in give(pointer, capacity: capacity) })
    }

    /// Frees the buffers that have waited `idleRelease` or longer; returns how many bytes
    /// still wait.
    @discardableResult
    func releaseIdle(now: ContinuousClock.Instant = .now) -> Int {
        let (idle, waiting) = lock.withLock { () -> ([UnsafeMutableRawPointer], Int) in
            var idle: [UnsafeMutableRawPointer] = []
            for (capacity, buffers) in free {
                let stale = buffers.prefix { now - $0.at >= idleRelease }
                guard !stale.isEmpty else { continue }
                idle += stale.map(\.pointer)
                freeBytes -= capacity * stale.count
                free[capacity] = buffers.count == stale.count ? nil : Array(buffers.dropFirst(stale.count))
            }
            releaseScheduled = freeBytes > 0
            return (idle, freeBytes)
        }
        for pointer in idle { pointer.deallocate() }
        return waiting
    }

    /// Checks the pool twice per `idleRelease` while buffers wait in it, so that none waits
    /// past one and a half times that.
    private func scheduleRelease() {
        let halfIdle = Int(idleRelease / .nanoseconds(1)) / 2
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .nanoseconds(halfIdle)) { [weak self] in
            guard let self, releaseIdle() > 0 else { return }
            scheduleRelease()
        }
    }
}
