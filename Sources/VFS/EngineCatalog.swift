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

    public func newSliceID() throws(ChunkStoreError) -> SliceID {
        try adapted { () throws(MetaError) in try engine.newSliceID() }
    }

    public func records(inode: Ino, chunk: UInt32) throws(ChunkStoreError) -> [SliceRecord] {
        try adapted { () throws(MetaError) in try engine.readChunk(inode, index: chunk) }
    }

    public func append(_ record: SliceRecord, inode: Ino, chunk: UInt32) throws(ChunkStoreError) {
        try adapted { () throws(MetaError) in try engine.appendSlice(inode, index: chunk, record: record, mtime: .now()) }
    }

    public func replace(_ replaced: [SliceRecord], with replacement: SliceRecord, inode: Ino, chunk: UInt32) throws(ChunkStoreError) -> Bool {
        try adapted { () throws(MetaError) in try engine.replaceRecords(inode, index: chunk, replaced: replaced, with: replacement) }
    }

    /// An engine failure as the chunk store reports it, errno kept.
    private func adapted<Result>(_ body: () throws(MetaError) -> Result) throws(ChunkStoreError) -> Result {
        do {
            return try body()
        } catch {
            throw ChunkStoreError(error.errno, error.detail)
        }
    }
}
