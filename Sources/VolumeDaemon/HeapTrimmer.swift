import Foundation
import SystemBridge

/// Hands memory the daemon freed back to the system once it has stayed free a while.
///
/// glibc keeps the pages of freed blocks for reuse (and, with several heaps, scattered
/// among them), so after a cold read or an unmount the daemon holds several times what it
/// uses. Trimming while a burst of work is still allocating would only make it fault the
/// pages in again, so the trimmer waits until the free memory has been over its threshold
/// for two looks in a row, `interval` apart.
final class HeapTrimmer: @unchecked Sendable {
    private let threshold: Int
    private let interval: TimeInterval

    init(threshold: Int = 32 << 20, interval: TimeInterval = 2) {
        self.threshold = threshold
        self.interval = interval
    }

    func start() {
        let thread = Thread { [self] in
            ThreadPriority.lowerCurrentThread()
            var overBefore = false
            while true {
                Thread.sleep(forTimeInterval: interval)
                let over = AllocatorPolicy.freeHeapBytes > threshold
                if over, overBefore {
                    AllocatorPolicy.returnFreeMemory()
                    overBefore = false
                } else {
                    overBefore = over
                }
            }
        }
        thread.name = "volumed-trim"
        thread.start()
    }
}
