/// The daemon-wide bounds on object-store requests that every mount shares, as
/// `daemon.status` shows them.
public struct TransferStatus: Codable, Sendable, Equatable {
    /// One bound: requests running and queued behind it now, and the most that ever ran at once.
    public struct Bound: Codable, Sendable, Equatable {
        /// `nil` when unbounded.
        public var limit: Int?
        public var inFlight: Int
        public var waiting: Int
        public var peak: Int

        enum CodingKeys: String, CodingKey {
            case limit, inFlight = "in_flight", waiting, peak
        }

        public init(limit: Int?, inFlight: Int, waiting: Int, peak: Int) {
            self.limit = limit
            self.inFlight = inFlight
            self.waiting = waiting
            self.peak = peak
        }
    }

    public var uploads: Bound
    public var downloads: Bound
    /// The upload bandwidth bound, when one is set.
    public var uploadBytesPerSecond: Int64?

    enum CodingKeys: String, CodingKey {
        case uploads, downloads, uploadBytesPerSecond = "upload_bytes_per_second"
    }

    public init(uploads: Bound, downloads: Bound, uploadBytesPerSecond: Int64?) {
        self.uploads = uploads
        self.downloads = downloads
        self.uploadBytesPerSecond = uploadBytesPerSecond
    }
}
