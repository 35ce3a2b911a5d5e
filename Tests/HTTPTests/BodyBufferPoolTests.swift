import Foundation
@testable import HTTP
import Testing

@Suite struct BodyBufferPoolTests {
    @Test func capacitiesAreThePowersOfTwoThatHoldTheBody() {
        #expect(BodyBufferPool.capacity(for: 1 << 20) == 1 << 20)
        #expect(BodyBufferPool.capacity(for: (1 << 20) + 1) == 2 << 20)
        #expect(BodyBufferPool.capacity(for: 3_000_000) == 4 << 20)
    }

    @Test func aReleasedBodyHandsItsBufferBackUpToTheRetainedBytes() {
        let pool = BodyBufferPool(retainedBytes: 2 << 20, idleRelease: .seconds(60))
        let first = pool.take(capacity: 1 << 20)
        let second = pool.take(capacity: 1 << 20)
        let third = pool.take(capacity: 1 << 20)
        first.storeBytes(of: 0xAB, as: UInt8.self)
        var body: Data? = pool.data(first, count: 1, capacity: 1 << 20)
        #expect(body == Data([0xAB]))
        body = nil
        pool.give(second, capacity: 1 << 20)
        pool.give(third, capacity: 1 << 20)
        let reused = [pool.take(capacity: 1 << 20), pool.take(capacity: 1 << 20)]
        #expect(reused.contains(first) && reused.contains(second), "the two kept buffers come back; the third was freed")
        for pointer in reused { pointer.deallocate() }
    }

    @Test func buffersIdleForTheReleaseTimeGoBackToTheSystem() {
        let pool = BodyBufferPool(retainedBytes: 8 << 20, idleRelease: .seconds(10))
        let old = pool.take(capacity: 1 << 20)
        let recent = pool.take(capacity: 2 << 20)
        pool.give(old, capacity: 1 << 20)
        let oldReturned = ContinuousClock.now
        #expect(pool.releaseIdle(now: oldReturned + .seconds(5)) == 1 << 20, "nothing has waited long enough yet")
        pool.give(recent, capacity: 2 << 20)
        #expect(pool.releaseIdle(now: oldReturned + .seconds(10)) == 2 << 20, "the older buffer is freed, the recent one waits")
        #expect(pool.take(capacity: 2 << 20) == recent)
        #expect(pool.releaseIdle(now: .now + .seconds(60)) == 0)
        recent.deallocate()
    }
}
