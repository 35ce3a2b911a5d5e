import StorageFormat
/// What the writes of an open SQLite group changed in the statistics nearly every namespace
/// change touches: the `usedSpace` and `totalInodes` counters and the `jfs_dir_stats` rows.
/// A grouped store sums them here and writes each row once, when the group commits.
struct StatisticsDelta {
    struct Directory: Equatable {
        var length: Int64 = 0
        var space: Int64 = 0
        var inodes: Int64 = 0

        mutating func add(_ other: Directory) {
            length += other.length
            space += other.space
            inodes += other.inodes
        }
    }

    /// The counters held back; the others (inode, chunk and session allocation) are read
    /// back right after they change and always go to their rows at once.
    static let heldCounters: Set<String> = ["usedSpace", "totalInodes"]

    private(set) var counters: [String: Int64] = [:]
    private(set) var directories: [Ino: Directory] = [:]
    /// Directories whose row was deleted: sums held for them before are void.
    private var deletedDirectories: Set<Ino> = []

    mutating func add(counter name: String, _ delta: Int64) {
        counters[name, default: 0] += delta
    }

    mutating func add(directory inode: Ino, _ sums: Directory) {
        directories[inode, default: Directory()].add(sums)
    }

    /// The directory's row was deleted by the write these changes belong to.
    mutating func deleteDirectory(_ inode: Ino) {
        forgetDirectory(inode)
        deletedDirectories.insert(inode)
    }

    mutating func forgetDirectory(_ inode: Ino) {
        directories[inode] = nil
    }

    /// Appends the changes of a later write.
    mutating func merge(_ later: StatisticsDelta) {
        for inode in later.deletedDirectories { directories[inode] = nil }
        for (name, delta) in later.counters { add(counter: name, delta) }
        for (inode, sums) in later.directories { add(directory: inode, sums) }
    }
}
