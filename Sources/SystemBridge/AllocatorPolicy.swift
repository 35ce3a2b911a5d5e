import CLinux

/// How many heaps glibc's allocator keeps for the daemon's threads.
///
/// glibc gives contending threads heaps of their own, up to eight per core, and each heap
/// keeps the memory of the 4 MiB blocks freed in it for its own later use. With thirty-odd
/// threads (FUSE workers, staging, uploads, read-ahead) a daemon that had written and read a
/// few GiB held about 80 MiB more than it used, and its peak under the next 1 GiB write grew
/// from 290 to 380 MiB. Four heaps keep both peaks at 230–300 MiB at the same speed; two
/// cost a third of the write throughput in lock contention, and handing big blocks back to
/// the system at once (a fixed mmap threshold, or trimming every second) cost 15–25 % in
/// page faults.
public enum AllocatorPolicy {
    /// Call before the daemon starts its threads; best effort.
    public static func limitHeaps() {
        _ = clinux_limit_arenas(4)
    }

    /// Bytes the heaps hold free: freed blocks glibc keeps for reuse instead of returning.
    public static var freeHeapBytes: Int { Int(clinux_heap_free_bytes()) }

    /// Returns the heaps' free pages to the system (malloc_trim(3)). Their next use faults
    /// them in again, so this is for when a burst of work has ended, not during one.
    public static func returnFreeMemory() {
        clinux_trim_heaps()
    }
}
