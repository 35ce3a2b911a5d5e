import Foundation

/// A bound on object-store transfers that every mount of a daemon shares, so that forty
/// mounts do not open forty times one mount's requests: at most `slots` at once, granted in
/// the order they were asked for (a mount with many waiting workers cannot starve one with
/// few), and, when given, at most `bytesPerSecond` started on average.
public final class TransferGate: @unchecked Sendable {
    /// What the gate is doing, for status.
    public struct Snapshot: Sendable, Equatable {
        public var slots: Int
        public var inFlight: Int
        public var waiting: Int
        /// The most in flight at once since the gate was made.
        public var peak: Int
    }

    /// No bound: what a chunk store gets when nobody shares it.
    public static let unlimited = TransferGate(slots: Int.max)

    public let slots: Int
    public let bytesPerSecond: Int64?
    private let condition = NSCondition()
    /// Tickets issued and transfers finished: ticket `t` may start once `t - finished < slots`.
    private var issued = 0
    private var finished = 0
    private var running = 0
    private var peak = 0
    /// When the byte budget allows the next transfer to start.
    private var paceCursor = ContinuousClock.now
    private let clock = ContinuousClock()

    public init(slots: Int, bytesPerSecond: Int64? = nil) {
        self.slots = max(1, slots)
        self.bytesPerSecond = bytesPerSecond.map { max(1, $0) }
    }

    /// Runs `body` (one transfer of `bytes`) once the byte budget allows and a slot is free;
    /// the wait for the budget holds no slot.
    func transfer<Result, Failure: Error>(bytes: Int, _ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        if slots == Int.max, bytesPerSecond == nil { return try body() }
        if let start = condition.withLock({ pace(bytes) }), case let wait = start - clock.now, wait > .zero {
            Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
        }
        condition.lock()
        let ticket = issued
        issued += 1
        while ticket - finished >= slots { condition.wait() }
        running += 1
        peak = max(peak, running)
        condition.unlock()
        defer {
            condition.withLock {
                running -= 1
                finished += 1
                condition.broadcast()
            }
        }
        return try body()
    }

    public var snapshot: Snapshot {
        condition.withLock { Snapshot(slots: slots, inFlight: running, waiting: issued - finished - running, peak: peak) }
    }

    /// The instant a transfer of `bytes` may start under the byte budget (transfers are
    /// spaced by their sizes), or `nil` without one. Called under the lock.
    private func pace(_ bytes: Int) -> ContinuousClock.Instant? {
        guard let bytesPerSecond else { return nil }
        let start = max(clock.now, paceCursor)
        paceCursor = start + .nanoseconds(Int64(bytes) * 1_000_000_000 / bytesPerSecond)
        return start
    }
}
