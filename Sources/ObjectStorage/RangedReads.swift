import Foundation

/// A store that reads an object whole or in a range through one call of its own: the two
/// `get`s of `ObjectStore` are that call. An empty range reads nothing and asks for nothing.
protocol RangedReads: ObjectStore {
    /// The whole object (`range` nil), or the bytes of `range` that exist.
    func read(_ key: String, range: Range<Int64>?) throws(ObjectStoreError) -> Data
}

extension RangedReads {
    public func get(_ key: String) throws(ObjectStoreError) -> Data {
        try read(key, range: nil)
    }

    public func get(_ key: String, range: Range<Int64>) throws(ObjectStoreError) -> Data {
        range.isEmpty ? Data() : try read(key, range: range)
    }
}
