/// How a volume is served to the kernel.
public struct FuseMountOptions: Sendable {
    /// Kernel cache lifetimes, in seconds (`attr_cache`, `entry_cache`, `dir_entry_cache`).
    public var attributeTimeout: Double
    public var entryTimeout: Double
    public var directoryEntryTimeout: Double
    public var readOnly: Bool
    /// Shown as the file system source in the mount table.
    public var name: String
    public var maxWrite: Int
    /// The kernel's read-ahead window for this mount. Linux starts a FUSE mount at 128 KiB,
    /// one request in flight behind a sequential reader; a wider window keeps several
    /// requests in flight for the worker threads to serve at once.
    public var maxReadahead: Int
    public var threads: Int
    /// Figures of the layers below, as `name value` lines, shown after the FUSE ones in the
    /// mount's `.stats` file.
    public var statistics: @Sendable () -> [String]

    public init(
        name: String, readOnly: Bool = false, attributeTimeout: Double = 60, entryTimeout: Double = 60, directoryEntryTimeout: Double = 60,
        maxWrite: Int = 1 << 20, maxReadahead: Int = 4 << 20, threads: Int = 16, statistics: @escaping @Sendable () -> [String] = { [] }
    ) {
        self.name = name
        self.readOnly = readOnly
        self.attributeTimeout = attributeTimeout
        self.entryTimeout = entryTimeout
        self.directoryEntryTimeout = directoryEntryTimeout
        self.maxWrite = maxWrite
        self.maxReadahead = maxReadahead
        self.threads = threads
        self.statistics = statistics
    }
}
