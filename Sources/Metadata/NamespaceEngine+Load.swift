import Foundation
import SystemPackage

extension NamespaceEngine {
    /// Loads a `juicefs dump` JSON file into this engine's empty store (JUICEFS-FORMAT.md §4):
    /// nodes rebuilt from their attributes, link counts, parents, dir stats, slice references
    /// and counters recomputed, slice ids kept so no block moves. The setting is written
    /// last, so a load cut short leaves a store that is plainly not a volume.
    public func load(from path: FilePath, progress: (Int) -> Void = { _ in }) throws(MetaError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path.string))
        } catch {
            throw MetaError(.noSuchFileOrDirectory, "cannot read the dump \(path): \(error.localizedDescription)")
        }
        let tree = try DumpTree(json: data)
        try locked { () throws(MetaError) in
            guard try store.isEmpty() else { throw MetaError(.fileExists, "load needs an empty store; \(store.location) has data") }
            try store.prepareForLoad()
            try writeNodes(tree, progress: progress)
            try store.setCounters(tree.counters())
            try store.create(format: tree.settingJSON, nodes: tree.specialNodes())
        }
        _ = try loadFormat()
    }

    private func writeNodes(_ tree: DumpTree, progress: (Int) -> Void) throws(MetaError) {
        let ordinary = tree.nodes.keys.filter { $0 != .root && $0 != .trash }.sorted()
        for batch in stride(from: 0, to: ordinary.count, by: 500) {
            try store.write { (tx) throws(MetaError) in
                for inode in ordinary[batch..<min(batch + 500, ordinary.count)] {
                    let node = tree.nodes[inode]!
                    try tx.insertNode(inode, tree.attr(of: inode))
                    if let target = node.symlink { try tx.insertSymlink(inode, target: target) }
                    for (name, value) in node.xattrs { try tx.putXattr(inode, name: name, value: value) }
                    for (index, records) in node.chunks { try tx.appendRecords(inode, index: index, records) }
                    if node.parents.count > 1 {
                        for parent in node.parents { try tx.addLinkParent(inode, parent: parent, delta: 1) }
                    }
                }
            }
            progress(min(batch + 500, ordinary.count))
        }
        for batch in stride(from: 0, to: tree.edges.count, by: 1000) {
            try store.write { (tx) throws(MetaError) in
                for edge in tree.edges[batch..<min(batch + 1000, tree.edges.count)] {
                    try tx.putEdge(edge.parent, edge.name, edge.inode, tree.nodes[edge.inode]!.attr.type)
                }
            }
        }
        let references = Array(tree.sliceReferences())
        for batch in stride(from: 0, to: references.count, by: 1000) {
            try store.write { (tx) throws(MetaError) in
                for (slice, refs) in references[batch..<min(batch + 1000, references.count)] {
                    try tx.setSliceReferences(slice.id, size: slice.size, refs: refs)
                }
            }
        }
        let stats = Array(tree.directoryStatistics())
        for batch in stride(from: 0, to: stats.count, by: 1000) {
            try store.write { (tx) throws(MetaError) in
                for (inode, stat) in stats[batch..<min(batch + 1000, stats.count)] {
                    try tx.addDirStat(inode, length: stat.length, space: stat.space, inodes: stat.inodes)
                }
            }
        }
    }
}
