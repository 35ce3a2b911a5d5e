import CLinux

/// How many heaps glibc's allocator keeps for the daemon's threads.
///
/// glibc gives contending threads heaps of their own, up to eight per core, and each heap
/// keeps the memory of the large blocks freed in it for its own later use: with thirty-odd
/// threads (FUSE workers, staging, uploads, read-ahead) the daemon holds far more than it
/// uses. Four heaps bound that at the same speed; fewer contend for locks, and handing big
/// blocks back at once costs page faults instead (bench/README, "Memory").
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
