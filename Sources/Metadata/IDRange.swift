import StorageFormat

/// A run of ids reserved from a counter, handed out one at a time.
struct IDRange {
    private(set) var next: UInt64 = 0
    private(set) var end: UInt64 = 0

    var isEmpty: Bool { next >= end }

    mutating func reset(_ range: Range<UInt64>) {
        next = range.lowerBound
        end = range.upperBound
    }

    mutating func take() -> UInt64? {
        guard next < end else { return nil }
        defer { next += 1 }
        return next
    }
}

/// Where slice ids come from: the store's counter, or a claimed domain `[n·2^32, (n+1)·2^32)`.
struct SliceAllocator {
    var range = IDRange()
    var domain: Range<UInt64>?
    /// The next id of the domain not yet reserved.
    var domainCursor: UInt64 = 0

    mutating func enter(domain number: UInt32) {
        let start = UInt64(number) << 32
        domain = start..<(start + (1 << 32))
        domainCursor = start
        range = IDRange()
    }

    /// The next batch within the domain, or `nil` when there is no domain.
    mutating func nextDomainBatch() -> Range<UInt64>? {
        guard let domain else { return nil }
        let batch = domainCursor..<min(domainCursor + ChunkGeometry.sliceBatch, domain.upperBound)
        domainCursor = batch.upperBound
        return batch.isEmpty ? nil : batch
    }
}
