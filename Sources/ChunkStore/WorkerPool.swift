import Foundation
import SystemBridge

/// Threads of its own for blocking work: GETs, PUTs, block files. libdispatch's global
/// queues on Linux add a thread only when their monitor notices the busy ones blocked, so
/// work queued behind a few slow PUTs would wait hundreds of milliseconds for a thread.
/// Threads start on demand, up to `limit`, and leave after a few idle seconds; a
/// `background` pool's threads run at a lower priority than the ones serving requests.
final class WorkerPool: @unchecked Sendable {
    private let name: String
    private let limit: Int
    private let background: Bool
    private let condition = NSCondition()
    /// Queued jobs from `head` on; a taken job's slot is emptied at once, so that what it
    /// captured (a cache write's 4 MiB block) goes when it ends, not when the queue next
    /// drains: a cold read whose cache writes never let the queue empty held 100-odd blocks.
    private var jobs: [(@Sendable () -> Void)?] = []
    private var head = 0
    private var threads = 0
    private var idle = 0

    init(name: String, limit: Int, background: Bool = false) {
        self.name = name
        self.limit = max(1, limit)
        self.background = background
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.withLock {
            jobs.append(job)
            if idle > 0 { condition.signal() }
            if jobs.count - head > idle, threads < limit {
                threads += 1
                let thread = Thread { [self] in work() }
                thread.name = name
                thread.start()
            }
        }
    }

    private func work() {
        if background { ThreadPriority.lowerCurrentThread() }
        condition.lock()
        while true {
            if head < jobs.count, let job = jobs[head] {
                jobs[head] = nil
                head += 1
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    head = 0
                } else if head >= 1024, head * 2 >= jobs.count {
                    jobs.removeFirst(head)
                    head = 0
                }
                condition.unlock()
                job()
                condition.lock()
                continue
            }
            idle += 1
            let woken = condition.wait(until: Date().addingTimeInterval(5))
            idle -= 1
            if !woken, head == jobs.count { break }
        }
        threads -= 1
        condition.unlock()
    }
}
