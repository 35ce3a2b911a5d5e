import CLinux

/// Background work (uploads, compaction) gives way to the threads that serve requests: on a
/// small machine they otherwise take the CPU a writer is waiting for.
public enum ThreadPriority {
    /// Lowers the calling thread to nice 10; best effort (a failure leaves it as it was).
    public static func lowerCurrentThread() {
        _ = clinux_set_thread_nice(10)
    }
}
