import StorageFormat

/// Where each byte of a chunk range comes from, after applying its records in append
/// order (later records win; id 0 and uncovered bytes are zeros).
public struct ChunkSegment: Equatable, Sendable {
    /// Offset within the chunk.
    public var position: UInt32
    public var length: UInt32
    /// `nil` for zeros.
    public var slice: (id: SliceID, size: UInt32, offset: UInt32)?

    public static func == (lhs: ChunkSegment, rhs: ChunkSegment) -> Bool {
        lhs.position == rhs.position && lhs.length == rhs.length && lhs.slice?.id == rhs.slice?.id && lhs.slice?.size == rhs.slice?.size
            && lhs.slice?.offset == rhs.slice?.offset
    }
}

public enum SliceResolution {
    /// The segments covering `[start, end)` of a chunk, in order, with no gaps.
    public static func resolve(_ records: [SliceRecord], from start: UInt32, to end: UInt32) -> [ChunkSegment] {
        guard start < end else { return [] }
        var segments = [ChunkSegment(position: start, length: end - start, slice: nil)]
        for record in records {
            let low = max(record.pos, start)
            let high = min(record.pos &+ record.len, end)
            guard low < high else { continue }
            var next: [ChunkSegment] = []
            next.reserveCapacity(segments.count + 2)
            var inserted = false
            for segment in segments {
                let segmentEnd = segment.position + segment.length
                if segmentEnd <= low || segment.position >= high {
                    next.append(segment)
                    continue
                }
                if segment.position < low { next.append(segment.cut(to: segment.position..<low)) }
                if !inserted {
                    inserted = true
                    let slice = record.id == 0 ? nil : (record.id, record.size, record.off + (low - record.pos))
                    next.append(ChunkSegment(position: low, length: high - low, slice: slice))
                }
                if segmentEnd > high { next.append(segment.cut(to: high..<segmentEnd)) }
            }
            segments = next
        }
        return segments
    }
}

extension ChunkSegment {
    /// The part of this segment over `range` (which it covers).
    func cut(to range: Range<UInt32>) -> ChunkSegment {
        let shift = range.lowerBound - position
        return ChunkSegment(position: range.lowerBound, length: range.upperBound - range.lowerBound, slice: slice.map { ($0.id, $0.size, $0.offset + shift) })
    }
}
