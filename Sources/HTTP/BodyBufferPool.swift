import Foundation

/// Buffers for large response bodies (object-store blocks), kept for reuse once the `Data`
/// made from them is released.
///
/// A fresh 4 MiB allocation is mapped anew by malloc and every page of it faults and is
/// zeroed on first touch: on a cold sequential read that cost a seventh of the daemon's
/// CPU. Pooled buffers come back with their pages in place. At most `retainedBytes` wait
/// in the pool; buffers beyond that are freed. Buffers are page-aligned, so a block received
/// into one can go to the disk cache without passing through the page cache (O_DIRECT).
final class BodyBufferPool: @unchecked Sendable {
    static let shared = BodyBufferPool(retainedBytes: 32 << 20)

    /// Bodies at least this large come from the pool; smaller ones are not worth it.
    static let minimumSize = 1 << 20

    private let retainedBytes: Int
    private let lock = NSLock()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var freeBytes = 0

    init(retainedBytes: Int) {
        self.retainedBytes = retainedBytes
    }

    /// The capacity a body of `size` bytes is served with: the next power of two.
    static func capacity(for size: Int) -> Int {
        1 << (Int.bitWidth - (max(size, 1) - 1).leadingZeroBitCount)
    }

    func take(capacity: Int) -> UnsafeMutableRawPointer {
        if let pointer = lock.withLock({ () -> UnsafeMutableRawPointer? in
            guard let pointer = free[capacity]?.popLast() else { return nil }
            freeBytes -= capacity
            return pointer
        }) {
            return pointer
        }
        return UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 4096)
    }

    func give(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        let kept = lock.withLock { () -> Bool in
            guard freeBytes + capacity <= retainedBytes else { return false }
            free[capacity, default: []].append(pointer)
            freeBytes += capacity
            return true
        }
        if !kept { pointer.deallocate() }
    }

    /// `count` bytes at `pointer` as `Data` that hands the buffer back when released.
    func data(_ pointer: UnsafeMutableRawPointer, count: Int, capacity: Int) -> Data {
        Data(bytesNoCopy: pointer, count: count, deallocator: .custom { [self] pointer, _ in give(pointer, capacity: capacity) })
    }
}
