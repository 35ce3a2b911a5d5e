/// How a volume is mounted: the options of the seed API, with its defaults.
public struct MountOptions: Codable, Sendable, Equatable {
    /// Writes land in the local cache and upload in the background.
    public var writeback: Bool
    /// Extra time a written block waits before upload (`"30s"`, `"1h"`); overwritten or
    /// deleted data within the window is never uploaded.
    public var uploadDelay: String?
    /// Concurrent block uploads; `nil` takes the daemon's `max_uploads`.
    public var maxUploads: Int?
    /// Kernel cache lifetimes, in seconds.
    public var attrCache: Double
    public var entryCache: Double
    public var dirEntryCache: Double
    public var readOnly: Bool
    /// A private block cache for this mount instead of the daemon's shared one.
    public var cacheDir: String?
    /// Seconds that mount, drain and unmount may take before they fail.
    public var timeout: Double
    /// `redis://host:port/db`: a writable Redis mount keeps its namespace in this database of
    /// an external Redis the daemon allows, instead of a private redis-server.
    public var metadataURL: String?

    enum CodingKeys: String, CodingKey {
        case writeback, uploadDelay = "upload_delay", maxUploads = "max_uploads", attrCache = "attr_cache", entryCache = "entry_cache"
        case dirEntryCache = "dir_entry_cache", readOnly = "read_only", cacheDir = "cache_dir", timeout, metadataURL = "metadata_url"
    }

    public init(
        writeback: Bool = true, uploadDelay: String? = nil, maxUploads: Int? = nil, attrCache: Double = 60, entryCache: Double = 60,
        dirEntryCache: Double = 60, readOnly: Bool = false, cacheDir: String? = nil, timeout: Double = 3600, metadataURL: String? = nil
    ) {
        self.writeback = writeback
        self.uploadDelay = uploadDelay
        self.maxUploads = maxUploads
        self.attrCache = attrCache
        self.entryCache = entryCache
        self.dirEntryCache = dirEntryCache
        self.readOnly = readOnly
        self.cacheDir = cacheDir
        self.timeout = timeout
        self.metadataURL = metadataURL
    }

    /// Missing keys take the defaults above.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = MountOptions()
        writeback = try container.decodeIfPresent(Bool.self, forKey: .writeback) ?? defaults.writeback
        uploadDelay = try container.decodeIfPresent(String.self, forKey: .uploadDelay)
        maxUploads = try container.decodeIfPresent(Int.self, forKey: .maxUploads)
        attrCache = try container.decodeIfPresent(Double.self, forKey: .attrCache) ?? defaults.attrCache
        entryCache = try container.decodeIfPresent(Double.self, forKey: .entryCache) ?? defaults.entryCache
        dirEntryCache = try container.decodeIfPresent(Double.self, forKey: .dirEntryCache) ?? defaults.dirEntryCache
        readOnly = try container.decodeIfPresent(Bool.self, forKey: .readOnly) ?? defaults.readOnly
        cacheDir = try container.decodeIfPresent(String.self, forKey: .cacheDir)
        timeout = try container.decodeIfPresent(Double.self, forKey: .timeout) ?? defaults.timeout
        metadataURL = try container.decodeIfPresent(String.self, forKey: .metadataURL)
    }

    /// The upload delay as a duration; refuses what a person would not mean.
    public func validated() throws(VolumeError) -> Duration {
        func invalid(_ field: String, _ message: String) -> VolumeError { VolumeError(.invalidParams, message, data: ["field": field]) }
        if let maxUploads, !(1...1024).contains(maxUploads) {
            throw invalid("max_uploads", "max_uploads must be between 1 and 1024, not \(maxUploads)")
        }
        for (field, value) in [("attr_cache", attrCache), ("entry_cache", entryCache), ("dir_entry_cache", dirEntryCache)] {
            guard value.isFinite, value >= 0, value <= 86400 else { throw invalid(field, "\(field) must be between 0 and 86400 seconds, not \(value)") }
        }
        guard timeout.isFinite, timeout > 0 else { throw invalid("timeout", "timeout must be a positive number of seconds, not \(timeout)") }
        if let cacheDir, !cacheDir.hasPrefix("/") { throw invalid("cache_dir", "cache_dir must be an absolute path, not \"\(cacheDir)\"") }
        guard let uploadDelay else { return .zero }
        do {
            return try DurationText.parse(uploadDelay)
        } catch {
            throw invalid("upload_delay", error.description)
        }
    }

    public var timeoutDuration: Duration { .milliseconds(Int64(timeout * 1000)) }
}
