import ChunkStore
import Metadata
import StorageFormat

/// A metadata engine as the chunk store's slice catalog: the seam where the two data
/// layers meet.
public final class EngineCatalog: SliceCatalog {
    public let engine: any MetaEngine

    public init(_ engine: any MetaEngine) {
        self.engine = engine
    }

    public func newSliceID() throws -> SliceID { try engine.newSliceID() }

    public func records(inode: Ino, chunk: UInt32) throws -> [SliceRecord] { try engine.readChunk(inode, index: chunk) }

    public func append(_ record: SliceRecord, inode: Ino, chunk: UInt32) throws {
        try engine.appendSlice(inode, index: chunk, record: record, mtime: .now())
    }

    public func replace(_ replaced: [SliceRecord], with replacement: SliceRecord, inode: Ino, chunk: UInt32) throws -> Bool {
        try engine.replaceRecords(inode, index: chunk, replaced: replaced, with: replacement)
    }
}
