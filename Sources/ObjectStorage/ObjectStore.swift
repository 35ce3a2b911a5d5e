import Cryptography
import Foundation
import SystemPackage

/// A flat namespace of immutable-by-convention objects under one bucket prefix.
///
/// Everything above this layer (blocks, indexes, descriptors, slice-domain claims) is
/// expressed in these eight calls, so a backend is complete when it passes the shared
/// behavioural suite. Calls block the calling thread; every implementation is safe to
/// use from many threads at once. Keys are relative to the store's prefix and are
/// validated by `ObjectKey` before they reach a URL or a path.
public protocol ObjectStore: Sendable {
    /// Where the objects live, for messages: never contains credentials.
    var location: String { get }

    func put(_ key: String, data: Data) throws(ObjectStoreError)
    /// Uploads a file's current contents without loading it into memory; `digest`, when the
    /// caller has it, spares a backend that signs payloads (S3) reading the file twice.
    func put(_ key: String, contentsOf file: FilePath, digest: FileDigest?) throws(ObjectStoreError)
    /// Creates the object only if no object has the key; otherwise fails with
    /// `.alreadyExists` and leaves the existing object untouched. An existing object holding
    /// exactly `data` is this call's own (an attempt whose answer was lost, then retried), so
    /// the call succeeds: callers make `data` unique to each call (a holder id, a nonce).
    func create(_ key: String, data: Data) throws(ObjectStoreError)

    func get(_ key: String) throws(ObjectStoreError) -> Data
    /// The bytes of `range` that exist: a range reaching past the end is cut short, one
    /// starting at or past the end is empty.
    func get(_ key: String, range: Range<Int64>) throws(ObjectStoreError) -> Data
    func head(_ key: String) throws(ObjectStoreError) -> ObjectInfo

    /// One page of keys that start with `prefix`, in ascending byte order, after
    /// `startAfter` when given. Pass the returned `continuation` back to get the next page.
    func list(prefix: String, startAfter: String?, continuation: String?, limit: Int) throws(ObjectStoreError) -> ObjectListPage

    /// Removes the object; removing a missing object succeeds.
    func delete(_ key: String) throws(ObjectStoreError)
}

extension ObjectStore {
    public func put(_ key: String, contentsOf file: FilePath) throws(ObjectStoreError) {
        try put(key, contentsOf: file, digest: nil)
    }

    /// Every key under `prefix`, following pages.
    public func listAll(prefix: String = "", startAfter: String? = nil, pageSize: Int = 1000) throws(ObjectStoreError) -> [ObjectInfo] {
        var objects: [ObjectInfo] = []
        var continuation: String?
        repeat {
            let page = try list(prefix: prefix, startAfter: startAfter, continuation: continuation, limit: pageSize)
            objects += page.objects
            continuation = page.continuation
        } while continuation != nil
        return objects
    }
}

public struct ObjectInfo: Sendable, Equatable {
    public let key: String
    public let size: Int64
    public let modified: Date?

    public init(key: String, size: Int64, modified: Date?) {
        self.key = key
        self.size = size
        self.modified = modified
    }
}

public struct ObjectListPage: Sendable, Equatable {
    public let objects: [ObjectInfo]
    /// `nil` when this is the last page.
    public let continuation: String?

    public init(objects: [ObjectInfo], continuation: String?) {
        self.objects = objects
        self.continuation = continuation
    }
}
