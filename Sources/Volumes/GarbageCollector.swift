import ChunkStore
import Foundation
import ObjectStorage
import StorageFormat
import VolumeModel

/// Finds what no version, fork or live mount of a bucket can reach any more and deletes it
/// (docs/FORMAT.md, "Garbage collection"). What it keeps is decided from complete listings of
/// the versions and leases, taken before the first deletion and taken again just before it, so
/// a listing that fails deletes nothing and a version published meanwhile keeps what it needs.
/// Anything younger than the grace period is kept whatever refers to it: an upload on its way
/// to a commit, a domain claimed by a mount that has not written its lease yet.
final class GarbageCollector {
    /// Reads which slices a version's index references.
    typealias SliceScanner = (VolumeDescriptor) throws(VolumeError) -> Set<SliceID>

    private let bucket: VolumeBucket
    private let grace: TimeInterval
    private let dryRun: Bool
    private let retention: RetentionPolicy?
    private let scanSlices: SliceScanner
    private let progress: (VolumeProgress) -> Void
    private let now = Date()
    private let started = ContinuousClock.now

    /// Versions by descriptor key: those listed, and the retired ones a lease may still name.
    private var versions: [String: VolumeDescriptor] = [:]
    private var retired: [String: VolumeDescriptor] = [:]
    private var leases: [String: MountLease] = [:]
    /// Index objects already read, by key.
    private var readIndexes: Set<String> = []
    private var pieces: Set<String> = []
    private var slices: [String: Set<SliceID>] = [:]
    private var sliceDomains: [String: Set<UInt32>] = [:]
    private var heldDomains: [String: Set<UInt32>] = [:]
    /// Per chunk prefix: whether volumed ever claimed a domain there.
    private var volumedPrefixes: [String: Bool] = [:]
    /// Domains of blocks kept in this sweep: their claims stay.
    private var keptBlockDomains: [String: Set<UInt32>] = [:]
    private var report: GCReport

    init(
        bucket: VolumeBucket, grace: TimeInterval, dryRun: Bool, retention: RetentionPolicy?, scanSlices: @escaping SliceScanner,
        progress: @escaping (VolumeProgress) -> Void
    ) {
        self.bucket = bucket
        self.grace = grace
        self.dryRun = dryRun
        self.retention = retention
        self.scanSlices = scanSlices
        self.progress = progress
        report = GCReport(bucket: bucket.uri, dryRun: dryRun, graceSeconds: Int64(grace))
    }

    func run() throws(VolumeError) -> GCReport {
        progress(VolumeProgress(phase: "list_versions"))
        try learnLeases()
        try learnVersions(applyingRetention: true)
        try retire()
        // Whatever was published or mounted while the indexes were read keeps what it needs.
        try learnLeases()
        try learnVersions(applyingRetention: false)
        try sweep()
        report.versions = readIndexes.count
        report.heldBy = leases.values.filter { $0.isLive(at: now) }.map(\.holder).sorted()
        report.skippedPrefixes = volumedPrefixes.filter { !$0.value }.map(\.key).sorted()
        let elapsed = (ContinuousClock.now - started).components
        report.seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        return report
    }

    // MARK: - What is reachable

    /// Every lease present holds its slice domains, lapsed or not: a lapsed lease is deleted
    /// once its grace is over, and its domains are free from the next run on, so a mount that
    /// is merely slow to renew never loses a block to a collection already under way. The
    /// second reading reads every lease again: a mount recovered meanwhile names a new domain.
    private func learnLeases() throws(VolumeError) {
        let found = try beforeDeleting { () throws(VolumeError) in try bucket.leases(strict: true) }
        for lease in found {
            leases[MountLease.key(of: lease.mountID)] = lease
            heldDomains[lease.chunkPrefix, default: []].formUnion(lease.sliceDomains)
        }
        // A mount's next commit leans on its base's pieces, even if the base was just retired
        // (reading a version twice costs nothing: `read` skips an index already read).
        for lease in found {
            guard let base = lease.base, let locator = try? VersionLocator(parsing: base), let version = retired[locator.descriptorKey] else { continue }
            try read(version)
        }
    }

    /// Reads every descriptor not yet known and every index they name.
    private func learnVersions(applyingRetention: Bool) throws(VolumeError) {
        let known = Set(versions.keys).union(retired.keys)
        let found = try beforeDeleting { () throws(VolumeError) in try bucket.publishedVersions(skipping: known) }
        var fresh = Dictionary(uniqueKeysWithValues: found.map { ($0.0.descriptorKey, $0.1) })
        if let retention, applyingRetention {
            let bases = Set(leases.values.compactMap(\.base))
            for key in retention.retired(fresh, protecting: bases) {
                retired[key] = fresh.removeValue(forKey: key)
            }
            report.retired = retired.values.compactMap { $0.producedBy?.locator }.sorted()
        }
        versions.merge(fresh) { first, _ in first }
        let unread = fresh.values.filter { version in version.index.map { (try? bucket.key(of: $0)).map { !readIndexes.contains($0) } ?? true } ?? false }
        for (done, version) in unread.enumerated() {
            progress(VolumeProgress(phase: "read_indexes", done: Int64(done), total: Int64(unread.count), unit: "versions"))
            try read(version)
        }
    }

    /// Learns what one version's index reaches: its manifest's pieces and its slices.
    private func read(_ version: VolumeDescriptor) throws(VolumeError) {
        guard let index = version.index else { return }
        let key = try bucket.key(of: index)
        guard readIndexes.insert(key).inserted else { return }
        if try bucket.isPieced(index) {
            pieces.formUnion(try bucket.manifest(of: index).pieces.map(\.sha256))
        }
        let found = try scanSlices(version)
        slices[version.chunkPrefix, default: []].formUnion(found)
        sliceDomains[version.chunkPrefix, default: []].formUnion(found.map(\.domain))
    }

    /// Takes retired versions out of the catalogue, descriptor first; their indexes are then
    /// garbage like any other that no descriptor names.
    private func retire() throws(VolumeError) {
        guard !dryRun else { return }
        for key in retired.keys.sorted() {
            do {
                try bucket.store.delete(key)
            } catch {
                throw VolumeError(error, while: "retiring \(bucket.uri)/\(key)")
            }
        }
    }

    // MARK: - The sweep

    /// Walks every object of the bucket once, in key order, deleting garbage as it goes. A
    /// prefix's blocks come before its domain claims in that order, so a claim is judged
    /// knowing whether any of its blocks stayed.
    private func sweep() throws(VolumeError) {
        let named = Set(versions.values.compactMap { $0.index.flatMap { try? bucket.key(of: $0) } })
            .union(retired.values.compactMap { version in
                version.index.flatMap { index in (try? bucket.key(of: index)).flatMap { readIndexes.contains($0) ? $0 : nil } }
            })
        let deletions = ParallelWork(limit: 32)
        let deleted = Collected<Int64>()
        var continuation: String?
        repeat {
            let page: ObjectListPage
            do {
                page = try bucket.store.list(prefix: "", startAfter: nil, continuation: continuation, limit: 1000)
            } catch {
                try? deletions.finish()
                throw VolumeError(error, while: "listing \(bucket.uri)")
            }
            for object in page.objects {
                report.examined.add(object.size)
                guard let kind = try garbageKind(object, namedIndexes: named) else {
                    report.kept.add(object.size)
                    continue
                }
                report.garbage.add(object.size)
                report.kinds[kind, default: GCReport.Tally()].add(object.size)
                guard !dryRun else { continue }
                deletions.submit { [bucket] () throws(VolumeError) in
                    do throws(ObjectStoreError) {
                        try bucket.store.delete(object.key)
                    } catch {
                        throw VolumeError(error, while: "deleting \(bucket.uri)/\(object.key)")
                    }
                    deleted.append(object.size)
                }
            }
            progress(VolumeProgress(phase: "sweep", done: report.examined.objects, unit: "objects"))
            continuation = page.continuation
        } while continuation != nil
        let finished = Result { () throws(VolumeError) in try deletions.finish() }
        for size in deleted.all { report.deleted.add(size) }
        try finished.get()
    }

    /// What kind of garbage an object is, or `nil` to keep it.
    private func garbageKind(_ object: ObjectInfo, namedIndexes: Set<String>) throws(VolumeError) -> String? {
        let parts = object.key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let settled = (object.modified ?? now) < now.addingTimeInterval(-grace)
        switch parts.first {
        case "_leases":
            guard let lease = leases[object.key] else { return nil }
            return lease.expiresAt.addingTimeInterval(grace) < now ? "leases" : nil
        case "_pieces":
            return settled && parts.count == 3 && !pieces.contains(parts[2]) ? "pieces" : nil
        case "versions":
            guard parts.count == 3, parts[2] != "volume.json" else { return nil }
            return settled && parts[2].hasPrefix("index.") && !namedIndexes.contains(object.key) ? "indexes" : nil
        case let prefix? where parts.count >= 3 && prefix != "testing":
            guard try isVolumed(prefix) else { return nil }
            if parts[1] == "chunks", let block = BlockKey(name: parts[parts.count - 1]) {
                let id = block.sliceID
                if slices[prefix]?.contains(id) == true || heldDomains[prefix]?.contains(id.domain) == true || !settled {
                    keptBlockDomains[prefix, default: []].insert(id.domain)
                    return nil
                }
                return "blocks"
            }
            if parts[1] == "domains", parts.count == 3, let domain = UInt32(parts[2]) {
                let used = [heldDomains, sliceDomains, keptBlockDomains].contains { $0[prefix]?.contains(domain) == true }
                return settled && !used ? "claims" : nil
            }
            return nil
        default:
            return nil
        }
    }

    /// volumed collects only under prefixes where it claimed a slice domain: blocks of a stock
    /// juicefs volume are accounted for by that volume's own metadata, which gc cannot see.
    private func isVolumed(_ prefix: String) throws(VolumeError) -> Bool {
        if let known = volumedPrefixes[prefix] { return known }
        let claims: ObjectListPage
        do {
            claims = try bucket.store.list(prefix: "\(prefix)/domains/", startAfter: nil, continuation: nil, limit: 1)
        } catch {
            throw VolumeError(error, while: "listing the slice-domain claims of \(bucket.uri)/\(prefix)")
        }
        volumedPrefixes[prefix] = !claims.objects.isEmpty
        return !claims.objects.isEmpty
    }

    /// A reading that everything gc decides rests on: its failure ends the run before the
    /// first deletion, and says so.
    private func beforeDeleting<Result>(_ body: () throws(VolumeError) -> Result) throws(VolumeError) -> Result {
        do {
            return try body()
        } catch {
            throw VolumeError(error.code, "\(error.message); gc needs every version and lease, so it deleted nothing", data: error.data)
        }
    }
}
