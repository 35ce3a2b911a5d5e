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

/// JuiceFS geometry: 64 MiB chunks of file address space.
public enum ChunkGeometry {
    public static let chunkSize: UInt64 = 1 << 26
    public static let inodeBatch: UInt64 = 1024
    public static let sliceBatch: UInt64 = 4096

    /// 4096 for 0, else `n` rounded up to a multiple of 4096 (the space accounting unit).
    public static func align4K(_ length: UInt64) -> Int64 {
        length == 0 ? 4096 : Int64((length + 4095) / 4096 * 4096)
    }
}
