import Foundation
import VolumeModel

extension VolumeService {
    /// The grace period gc uses when none is given: a day, far longer than any commit takes
    /// or any daemon should stay away from its bucket.
    public static let defaultGrace: Duration = .seconds(86_400)

    /// Deletes what no version, fork or live mount of `bucket` can reach and the grace period
    /// no longer protects; with `keepLast`, first retires all but the newest versions of each
    /// line. `dryRun` reports the same figures and deletes nothing.
    public func collectGarbage(
        inBucket bucket: String, endpoint: String? = nil, region: String? = nil, grace: Duration = VolumeService.defaultGrace, dryRun: Bool = false,
        keepLast: Int? = nil, progress: @escaping (VolumeProgress) -> Void = { _ in }
    ) throws(VolumeError) -> GCReport {
        if let keepLast, keepLast < 1 {
            throw VolumeError(.invalidParams, "keep_last must be at least 1 (the newest version of each line always stays), not \(keepLast)", data: ["field": "keep_last"])
        }
        guard grace >= .zero else { throw VolumeError(.invalidParams, "grace must not be negative", data: ["field": "grace"]) }
        let opened = try openBucket(uri: bucket, endpoint: endpoint, region: region)
        let collector = GarbageCollector(
            bucket: opened, grace: TimeInterval(grace.components.seconds), dryRun: dryRun, retention: keepLast.map(RetentionPolicy.init),
            scanSlices: { [self] (version) throws(VolumeError) in try referencedSlices(of: version, in: opened) }, progress: progress)
        return try collector.run()
    }
}
