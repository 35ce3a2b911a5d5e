/// One key's record in an RDB.
struct RDBRecord {
    /// Where the record starts: its expiry or eviction opcode if it has one, else its type.
    let start: Int64
    /// Where the next record or marker starts.
    let end: Int64
    let key: [UInt8]
    /// The number of the database the key is in.
    let database: Int
    let type: UInt8
    /// Where the value starts, after the key.
    let valueOffset: Int64
}
