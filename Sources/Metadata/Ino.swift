/// Ino numbers as JuiceFS stores them.
public typealias Ino = UInt64

extension Ino {
    public static let root: Ino = 1
    /// The virtual `/.trash` directory; present whenever `TrashDays > 0`.
    public static let trash: Ino = 0x7FFF_FFFF_1000_0000
    /// Inodes at and above this are virtual files juicefs serves in `/`.
    public static let firstVirtual: Ino = 0x7FFF_FFFF_0000_0000
}

/// Names JuiceFS serves as virtual files in the root directory; real entries must not use them.
public enum ReservedName {
    public static let all: Set<[UInt8]> = Set([".accesslog", ".config", ".stats", ".control", ".trash"].map { Array($0.utf8) })
}
