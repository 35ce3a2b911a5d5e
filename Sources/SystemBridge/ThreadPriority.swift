#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Background work (uploads, compaction) gives way to the threads that serve requests: on a
/// small machine they otherwise take the CPU a writer is waiting for.
public enum ThreadPriority {
    /// Lowers the calling thread to nice 10; best effort (a failure leaves it as it was).
    /// On Linux the nice value is per thread, and `who` 0 names the calling one.
    public static func lowerCurrentThread() {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
    }
}
