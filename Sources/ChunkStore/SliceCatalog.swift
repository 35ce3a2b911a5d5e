import StorageFormat

/// The metadata layer as the chunk store sees it: where slice ids come from, where a
/// chunk's records are read and where sealed slices are recorded. The layer that combines
/// the two adapts its failures to `ChunkStoreError`, keeping their errno.
public protocol SliceCatalog: AnyObject, Sendable {
    /// A fresh id inside the writer's slice domain.
    func newSliceID() throws(ChunkStoreError) -> SliceID
    /// A chunk's records in append order.
    func records(inode: Ino, chunk: UInt32) throws(ChunkStoreError) -> [SliceRecord]
    /// Appends a sealed slice's record and grows the file to cover it.
    func append(_ record: SliceRecord, inode: Ino, chunk: UInt32) throws(ChunkStoreError)
    /// Replaces the chunk's leading `replaced` records by `replacement`, if the chunk still
    /// starts with them; `false` when it changed meanwhile. Old slices lose a reference.
    func replace(_ replaced: [SliceRecord], with replacement: SliceRecord, inode: Ino, chunk: UInt32) throws(ChunkStoreError) -> Bool
}
