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
