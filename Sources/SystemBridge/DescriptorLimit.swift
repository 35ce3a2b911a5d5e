#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How many files the daemon may hold open at once.
///
/// A writer streaming a large block holds its staged file open until the block fills, so a
/// task writing thousands of large files at once holds thousands of descriptors; Linux starts
/// processes at a soft limit of 1024 however high the hard limit is.
public enum DescriptorLimit {
    /// Raises the soft limit to the hard one; call before the daemon opens its stores.
    public static func raiseToHardLimit() {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }

    /// The soft limit in force.
    public static var current: UInt64 {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        return UInt64(limit.rlim_cur)
    }

    private static var resource: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}
