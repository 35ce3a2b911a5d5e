#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What the kernel says of this process, for metrics: its resident memory and its open
/// descriptors (read from /proc).
public enum ProcessFigures {
    public static var residentBytes: Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int64(fields[1]) else { return 0 }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }

    public static var openDescriptors: Int64 {
        Int64((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
    }
}
