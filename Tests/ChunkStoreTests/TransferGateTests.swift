@testable import ChunkStore
import Foundation
import Testing

/// The daemon-wide bound on transfers: never more than its slots at once, granted in the
/// order asked for, and paced by bytes when a bandwidth is set.
@Suite struct TransferGateTests {
    private final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var running = 0
        private(set) var peak = 0
        private(set) var started: [Int] = []

        func enter(_ index: Int) {
            lock.withLock {
                running += 1
                peak = max(peak, running)
                started.append(index)
            }
        }

        func leave() { lock.withLock { running -= 1 } }
    }

    @Test func neverMoreThanItsSlotsRunAtOnce() {
        let gate = TransferGate(slots: 3)
        let log = Log()
        DispatchQueue.concurrentPerform(iterations: 40) { index in
            gate.transfer(bytes: 1) {
                log.enter(index)
                Thread.sleep(forTimeInterval: 0.002)
                log.leave()
            }
        }
        #expect(log.peak <= 3)
        #expect(gate.snapshot == TransferGate.Snapshot(slots: 3, inFlight: 0, waiting: 0, peak: log.peak))
    }

    @Test func waitersStartInTheOrderTheyAsked() throws {
        let gate = TransferGate(slots: 1)
        let log = Log()
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            gate.transfer(bytes: 1) {
                holding.signal()
                release.wait()
            }
        }
        holding.wait()
        let done = DispatchGroup()
        for index in 0..<8 {
            done.enter()
            Thread.detachNewThread {
                gate.transfer(bytes: 1) { log.enter(index) }
                log.leave()
                done.leave()
            }
            // The next waiter asks only once this one waits.
            while gate.snapshot.waiting < index + 1 { Thread.sleep(forTimeInterval: 0.001) }
        }
        release.signal()
        done.wait()
        #expect(log.started == Array(0..<8), "a waiter that asked earlier never starts later")
    }

    @Test func aBandwidthSpacesTransfersByTheirBytes() {
        let gate = TransferGate(slots: 8, bytesPerSecond: 1 << 20)
        let started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: 4) { _ in gate.transfer(bytes: 128 << 10) {} }
        // Four eighths of a second's budget: the fourth may start only after three eighths.
        #expect(ContinuousClock.now - started >= .milliseconds(370))
    }

    @Test func aFailingTransferGivesItsSlotBack() {
        struct Refused: Error {}
        let gate = TransferGate(slots: 1)
        #expect(throws: Refused.self) { try gate.transfer(bytes: 1) { () throws(Refused) in throw Refused() } }
        #expect(gate.snapshot.inFlight == 0 && gate.snapshot.waiting == 0)
        gate.transfer(bytes: 1) {}
    }
}
