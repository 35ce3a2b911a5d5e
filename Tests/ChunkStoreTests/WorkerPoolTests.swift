@testable import ChunkStore
import Foundation
import Testing

/// Jobs run on the pool's own threads, and a job lets go of what it captured when it ends.
@Suite struct WorkerPoolTests {
    /// Stands for a block a job captures.
    private final class Payload: Sendable {}

    private final class Probe: @unchecked Sendable {
        weak var payload: Payload?
    }

    @Test func aFinishedJobReleasesWhatItCapturedWhileOthersStillWait() {
        let pool = WorkerPool(name: "test-pool", limit: 1)
        let (startBlocker, blockerRelease) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let (holderStarted, holderRelease) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let probe = Probe()
        let lastRan = DispatchSemaphore(value: 0)
        pool.submit {
            startBlocker.signal()
            blockerRelease.wait()
        }
        startBlocker.wait()
        do {
            let payload = Payload()
            probe.payload = payload
            pool.submit { withExtendedLifetime(payload) {} }
        }
        pool.submit {
            holderStarted.signal()
            holderRelease.wait()
        }
        pool.submit { lastRan.signal() }
        blockerRelease.signal()
        holderStarted.wait()
        // The payload's job has run; one job still waits behind the one now running.
        #expect(probe.payload == nil, "the finished job's capture is still held by the queue")
        holderRelease.signal()
        lastRan.wait()
    }

    @Test func jobsRunInTheOrderTheyCame() {
        let pool = WorkerPool(name: "test-pool", limit: 1)
        let lock = NSLock()
        nonisolated(unsafe) var order: [Int] = []
        let done = DispatchSemaphore(value: 0)
        for index in 0..<3000 {
            pool.submit {
                lock.withLock { order.append(index) }
                if index == 2999 { done.signal() }
            }
        }
        done.wait()
        #expect(lock.withLock { order } == Array(0..<3000))
    }
}
