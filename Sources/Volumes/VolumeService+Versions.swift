import Foundation
import ObjectStorage
import StorageFormat
import VolumeModel

extension VolumeService {
    /// The versions published in `bucket`, newest first, each with its id; `name` keeps one
    /// volume name's. Descriptors are read in parallel: a bucket of a hundred versions is a
    /// listing and a hundred small GETs.
    public func versions(inBucket bucket: String, endpoint: String? = nil, region: String? = nil, name: String? = nil) throws(VolumeError)
        -> [(id: String, volume: VolumeDescriptor)]
    {
        let opened = try openBucket(uri: bucket, endpoint: endpoint, region: region)
        let locators = try opened.versionLocators().sorted { $0.id > $1.id }
        let found = FoundVersions(count: locators.count)
        let work = ParallelWork()
        for (index, locator) in locators.enumerated() {
            work.submit { () throws(VolumeError) in found.set(index, try opened.descriptor(at: locator)) }
        }
        try work.finish()
        return zip(locators, found.all).compactMap { locator, volume in
            guard let volume, name == nil || volume.name == name else { return nil }
            return (locator.id, volume)
        }
    }
}

/// Descriptors read by parallel work, each into its own place.
private final class FoundVersions: @unchecked Sendable {
    private let lock = NSLock()
    private var volumes: [VolumeDescriptor?]

    init(count: Int) { volumes = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ volume: VolumeDescriptor) { lock.withLock { volumes[index] = volume } }

    var all: [VolumeDescriptor?] { lock.withLock { volumes } }
}
