import Foundation

/// The round trip a user runs before trusting a bucket with volumes: every call the
/// layers above depend on, under a temporary key in `testing/` (the prefix juicefs also
/// uses for its probes), cleaned up afterwards.
public struct StorageCheck: Sendable {
    public struct Step: Sendable {
        public let name: String
        public let duration: Duration
        /// `nil` when the step passed.
        public let failure: ObjectStoreError?
    }

    public static let stepNames = [
        "put", "get", "ranged get", "head", "list", "create", "create again (must be refused)", "delete", "get after delete",
    ]

    private let store: any ObjectStore
    private let payloadSize: Int

    public init(store: any ObjectStore, payloadSize: Int = 1 << 20) {
        self.store = store
        self.payloadSize = payloadSize
    }

    /// Runs the steps in order, reporting each as it finishes; stops at the first failure
    /// (after trying to delete what it wrote).
    public func run(report: (Step) -> Void) -> Bool {
        let key = "testing/volumed-check-\(UInt64.random(in: 0...UInt64.max))"
        let claim = "\(key)-claim"
        var payload = Data(count: payloadSize)
        for index in payload.indices { payload[index] = UInt8.random(in: 0...255) }
        let slice = Int64(payloadSize / 3)..<Int64(payloadSize / 3 + 4096)

        let steps: [(String, () throws(ObjectStoreError) -> Void)] = [
            ("put", { () throws(ObjectStoreError) in try store.put(key, data: payload) }),
            ("get", { () throws(ObjectStoreError) in
                guard try store.get(key) == payload else { throw ObjectStoreError(.permanent, "the object read back differs from what was written") }
            }),
            ("ranged get", { () throws(ObjectStoreError) in
                let bytes = try store.get(key, range: slice)
                guard bytes == payload[Int(slice.lowerBound)..<Int(min(slice.upperBound, Int64(payloadSize)))] else {
                    throw ObjectStoreError(.permanent, "the ranged read returned the wrong bytes")
                }
            }),
            ("head", { () throws(ObjectStoreError) in
                let size = try store.head(key).size
                guard size == Int64(payloadSize) else { throw ObjectStoreError(.permanent, "head reports \(size) bytes, expected \(payloadSize)") }
            }),
            ("list", { () throws(ObjectStoreError) in
                guard try store.listAll(prefix: key).contains(where: { $0.key == key }) else {
                    throw ObjectStoreError(.permanent, "the object just written is missing from the listing")
                }
            }),
            ("create", { () throws(ObjectStoreError) in try store.create(claim, data: Data("claim".utf8)) }),
            ("create again (must be refused)", { () throws(ObjectStoreError) in
                do throws(ObjectStoreError) {
                    try store.create(claim, data: Data("second".utf8))
                } catch where error.kind == .alreadyExists {
                    return
                }
                throw ObjectStoreError(
                    .permanent, "a second conditional create of the same key succeeded: this store cannot guard slice domains")
            }),
            ("delete", { () throws(ObjectStoreError) in
                try store.delete(key)
                try store.delete(claim)
            }),
            ("get after delete", { () throws(ObjectStoreError) in
                do throws(ObjectStoreError) {
                    _ = try store.get(key)
                } catch where error.kind == .notFound {
                    return
                }
                throw ObjectStoreError(.permanent, "the deleted object can still be read")
            }),
        ]
        let clock = ContinuousClock()
        for (name, step) in steps {
            let start = clock.now
            do throws(ObjectStoreError) {
                try step()
                report(Step(name: name, duration: clock.now - start, failure: nil))
            } catch {
                report(Step(name: name, duration: clock.now - start, failure: error))
                try? store.delete(key)
                try? store.delete(claim)
                return false
            }
        }
        return true
    }
}
