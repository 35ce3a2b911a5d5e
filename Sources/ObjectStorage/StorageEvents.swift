import Logging
import Synchronization

/// What an object store did beyond the plain path, counted and logged: each retry, and each
/// conditional create whose outcome was unknown (a lost response) and was settled by reading
/// the object back. A mount's stores report to its own `StorageEvents`, which passes every
/// event on to the daemon's, so both the mount and the daemon show their totals.
public final class StorageEvents: Sendable {
    private let retryCount = Atomic<Int>(0)
    private let resolvedCount = Atomic<Int>(0)
    private let parent: StorageEvents?
    private let logger: Logger

    public init(parent: StorageEvents? = nil, logger: Logger = Logger(label: "volumed.storage")) {
        self.parent = parent
        self.logger = logger
    }

    /// Requests sent again after a transient failure.
    public var retries: Int { retryCount.load(ordering: .relaxed) }
    /// Conditional creates that found their own object in place (a lost answer, settled).
    public var resolvedOutcomes: Int { resolvedCount.load(ordering: .relaxed) }

    /// `operation` names the request and its object (`PUT s3://b/key`), never credentials.
    func retrying(_ operation: String, attempt: Int, of limit: Int, after cause: String) {
        logger.info("retrying \(operation) (attempt \(attempt) of \(limit)) after: \(cause)")
        count(retry: true)
    }

    /// A create found its own object in place: the answer to an attempt was lost.
    func resolved(_ operation: String) {
        logger.info("\(operation): an attempt's answer was lost; the object there is this create's own, so it succeeded")
        count(retry: false)
    }

    private func count(retry: Bool) {
        if retry { retryCount.add(1, ordering: .relaxed) } else { resolvedCount.add(1, ordering: .relaxed) }
        parent?.count(retry: retry)
    }
}
