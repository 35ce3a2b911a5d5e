import Foundation
import ObjectStorage
import StorageFormat
import VolumeModel

extension VolumeService {
    /// The versions published in `bucket`, newest first, each with its id and the live mounts
    /// (on any machine, by their leases) based on it; `name` keeps one volume name's.
    /// Descriptors are read in parallel: a bucket of a hundred versions is a listing and a
    /// hundred small GETs.
    public func versions(inBucket bucket: String, endpoint: String? = nil, region: String? = nil, name: String? = nil) throws(VolumeError)
        -> [(id: String, volume: VolumeDescriptor, heldBy: [String])]
    {
        let opened = try openBucket(uri: bucket, endpoint: endpoint, region: region)
        let holders = Dictionary(grouping: try opened.liveLeases().filter { $0.base != nil }, by: { $0.base! }).mapValues { $0.map(\.holder).sorted() }
        return try opened.publishedVersions().sorted { $0.0.id > $1.0.id }.compactMap { locator, volume in
            guard name == nil || volume.name == name else { return nil }
            return (locator.id, volume, holders[locator.description] ?? [])
        }
    }

    /// Removes versions from the catalogue: each one's descriptor first (it is gone from
    /// listings and locators at once), then its manifest or one-file index unless a remaining
    /// version (a fork of it) names that index too. Blocks and index pieces stay for the
    /// garbage collector, which knows what other versions still share.
    /// Every version is checked before any is removed: one that is not published, or that a
    /// live mount on any machine is based on, refuses the whole call.
    public func delete(_ versions: [VolumeDescriptor]) throws(VolumeError) -> [String] {
        var doomed: [(VolumeBucket, VersionLocator)] = []
        // Each bucket is opened, and its leases listed, once for all the versions it holds.
        var buckets: [String: (bucket: VolumeBucket, leases: [MountLease], versions: [(VersionLocator, VolumeDescriptor)])] = [:]
        for version in versions {
            try version.validate()
            guard let text = version.producedBy?.locator else {
                throw VolumeError(.invalidParams, "\(version.name) was never published: there is no version to delete", data: ["name": version.name])
            }
            let locator = try VersionLocator.parse(text)
            let place = "\(locator.bucket) \(version.endpoint ?? "")"
            if buckets[place] == nil {
                let opened = try openBucket(uri: locator.bucket, endpoint: version.endpoint, region: version.region)
                buckets[place] = (opened, try opened.liveLeases(), try opened.publishedVersions())
            }
            let (bucket, leases, published) = buckets[place]!
            guard published.contains(where: { $0.0.descriptorKey == locator.descriptorKey }) else {
                throw VolumeError(.notFound, "\(text) is not a published version of \(bucket.uri): it was deleted, or never published there", data: ["locator": text])
            }
            if let holder = leases.first(where: { $0.base == text }) {
                throw VolumeError(
                    .busy, "\(text) is the base of a live mount at \(holder.holder); unmount or finalize it first, then delete the version",
                    data: ["locator": text, "held_by": holder.holder])
            }
            doomed.append((bucket, locator))
        }
        let doomedKeys = Set(doomed.map(\.1.descriptorKey))
        let named = Set(
            buckets.values.flatMap { place in
                place.versions.filter { !doomedKeys.contains($0.0.descriptorKey) }.compactMap { $0.1.index.flatMap { try? place.bucket.key(of: $0) } }
            })
        for (bucket, locator) in doomed {
            let keys = [locator.descriptorKey, locator.manifestKey, locator.indexKey(fileExtension: "db"), locator.indexKey(fileExtension: "rdb")]
            for key in keys where !named.contains(key) {
                do {
                    try bucket.store.delete(key)
                } catch where error.kind == .notFound {
                    continue
                } catch {
                    throw VolumeError(error, while: "deleting \(locator)")
                }
            }
        }
        return doomed.map(\.1.description)
    }
}
