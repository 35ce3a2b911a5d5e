import Foundation
import SystemBridge

/// Exponential backoff with full jitter for transient failures, bounded both by attempts
/// and by a total deadline so a dead endpoint fails in predictable time.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    public var deadline: Duration
    /// Where retries are counted and logged; `nil` keeps them silent.
    public var events: StorageEvents?

    public init(maxAttempts: Int = 8, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5), deadline: Duration = .seconds(60)) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.deadline = deadline
    }

    public static let standard = RetryPolicy()
    /// For interactive checks: give up within a few seconds.
    public static let quick = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(1), deadline: .seconds(5))

    /// This policy reporting to `events`.
    public func reporting(to events: StorageEvents?) -> RetryPolicy {
        var policy = self
        policy.events = events
        return policy
    }

    /// Runs `operation` until it succeeds, fails for good, or the budget is spent; the
    /// error that ends the loop is the last one seen, annotated with the attempt count.
    /// `name` says what is retried in the log (`PUT s3://b/key`).
    public func run<Result>(_ name: String = "a storage request", _ operation: () throws(ObjectStoreError) -> Result) throws(ObjectStoreError) -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 1
        while true {
            do {
                return try operation()
            } catch {
                guard error.isRetryable else { throw error }
                let pause = delay(beforeAttempt: attempt + 1)
                guard attempt < maxAttempts, clock.now - start + pause < deadline else {
                    throw attempt == 1 ? error : ObjectStoreError(error.kind, "\(error.message) (gave up after \(attempt) attempts)", status: error.status)
                }
                events?.retrying(name, attempt: attempt + 1, of: maxAttempts, after: error.message)
                Thread.sleep(forTimeInterval: pause.inSeconds)
                attempt += 1
            }
        }
    }

    /// Full jitter: uniform in [0, min(maxDelay, base·2^(attempt-2))].
    func delay(beforeAttempt attempt: Int) -> Duration {
        let ceiling = min(maxDelay.inSeconds, baseDelay.inSeconds * pow(2, Double(max(0, attempt - 2))))
        return .milliseconds(Int(Double.random(in: 0...ceiling) * 1000))
    }
}
