import StorageFormat
import VolumeModel

/// Which versions `gc --keep-last N` retires: all but the newest `keepLast` of each line (the
/// versions sharing a name), except a version a live mount is based on and a version another
/// line was forked from, which its fork's lineage still names.
struct RetentionPolicy: Sendable {
    let keepLast: Int

    /// The descriptor keys (`versions/<id>/volume.json`) to retire; `bases` are the locators
    /// mounts are based on.
    func retired(_ versions: [String: VolumeDescriptor], protecting bases: Set<String>) -> [String] {
        let names = Dictionary(versions.values.compactMap { version in version.producedBy?.locator.map { ($0, version.name) } }) { first, _ in first }
        let forkedFrom = Set(
            versions.values.compactMap { version -> String? in
                guard let parent = version.parentProducedBy?.locator, let origin = names[parent], origin != version.name else { return nil }
                return parent
            })
        var doomed: [String] = []
        for (_, line) in Dictionary(grouping: versions, by: { $0.value.name }) {
            // Keys sort by version id, which sorts by publication time.
            for (key, version) in line.sorted(by: { $0.key > $1.key }).dropFirst(keepLast) {
                let locator = version.producedBy?.locator ?? ""
                if !bases.contains(locator), !forkedFrom.contains(locator) { doomed.append(key) }
            }
        }
        return doomed.sorted()
    }
}
