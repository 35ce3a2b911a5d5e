import Metadata
import StorageFormat

/// A set of at most `capacity` inodes that lets go of the earliest inserted first: a memory
/// of what a mount did lately, kept without a bound on what it did overall.
struct RecentInodes {
    let capacity: Int
    private var members: Set<Ino> = []
    /// Insertion order, as a ring: `order[next]` is the earliest once the ring is full.
    private var order: [Ino] = []
    private var next = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a memory of nothing")
        self.capacity = capacity
        order.reserveCapacity(capacity)
    }

    func contains(_ inode: Ino) -> Bool { members.contains(inode) }

    mutating func insert(_ inode: Ino) {
        guard members.insert(inode).inserted else { return }
        if order.count < capacity {
            order.append(inode)
            return
        }
        members.remove(order[next])
        order[next] = inode
        next = (next + 1) % capacity
    }

    /// Forgets `inode`; its place in the ring lapses when its turn comes.
    mutating func remove(_ inode: Ino) {
        members.remove(inode)
    }
}
