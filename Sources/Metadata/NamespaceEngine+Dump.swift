import Foundation
import StorageFormat
import SystemBridge
import SystemPackage

extension NamespaceEngine {
    /// Writes the whole namespace as `juicefs dump` JSON (docs/METADATA.md, "Dump and load") to `path`,
    /// streaming as it walks; the file appears complete or not at all. Secrets in the
    /// setting are replaced by "removed". `progress` receives the number of entries written.
    public func dump(to path: FilePath, progress: (Int) -> Void = { _ in }) throws(MetaError) {
        let partial = FilePath(path.string + ".partial")
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(partial, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        } catch {
            throw MetaError((error as? Errno) ?? .ioError, "cannot create \(partial): \(error)")
        }
        do {
            var writer = DumpWriter(descriptor: descriptor)
            try locked { () throws(MetaError) in
                try store.read { (tx) throws(MetaError) in try writeDump(tx, &writer, progress: progress) }
            }
            try writer.flush()
            try descriptor.sync()
            try descriptor.close()
            try FileSystem.rename(partial, to: path)
        } catch let error as MetaError {
            try? descriptor.close()
            try? FileSystem.unlink(partial)
            throw error
        } catch {
            try? descriptor.close()
            try? FileSystem.unlink(partial)
            throw MetaError((error as? Errno) ?? .ioError, "writing \(path): \(error)")
        }
    }

    private func writeDump(_ tx: any MetaTransaction, _ writer: inout DumpWriter, progress: (Int) -> Void) throws(MetaError) {
        guard let formatJSON = try store.formatJSON() else { throw MetaError(.noSuchFileOrDirectory, "the store at \(store.location) is not formatted") }
        try writer.write("{\n\"Setting\": \(Self.redactedSetting(formatJSON)),\n")
        let counters: [(String, String)] = [
            ("usedSpace", "usedSpace"), ("usedInodes", "totalInodes"), ("nextInodes", "nextInode"), ("nextChunk", "nextChunk"),
            ("nextSession", "nextSession"), ("nextTrash", "nextTrash"),
        ]
        var values: [String] = []
        for (key, name) in counters { values.append("\"\(key)\":\(try store.counter(name))") }
        try writer.write("\"Counters\": {\(values.joined(separator: ","))},\n")
        var written = 0
        try writer.write("\"FSTree\": ")
        try writeEntry(tx, .root, try tx.requireNode(.root), &writer, written: &written, progress: progress)
        if let trash = try tx.node(.trash) {
            try writer.write(",\n\"Trash\": ")
            try writeEntry(tx, .trash, trash, &writer, written: &written, progress: progress)
        }
        try writer.write("\n}\n")
    }

    private func writeEntry(
        _ tx: any MetaTransaction, _ inode: Ino, _ attr: Attr, _ writer: inout DumpWriter, written: inout Int, progress: (Int) -> Void
    ) throws(MetaError) {
        try writer.write("{\"attr\":\(Self.attrJSON(inode, attr))")
        if attr.type == .symlink, let target = try tx.symlinkTarget(inode) {
            try writer.write(",\"symlink\":\"\(DumpEscaping.escape(target))\"")
        }
        let names = try tx.xattrNames(inode).sorted()
        if !names.isEmpty {
            var items: [String] = []
            for name in names {
                let value = try tx.xattr(inode, name: name) ?? []
                items.append("{\"name\":\(DumpEscaping.jsonString(name)),\"value\":\"\(DumpEscaping.escape(value))\"}")
            }
            try writer.write(",\"xattrs\":[\(items.joined(separator: ","))]")
        }
        if attr.type == .regular {
            var chunks: [String] = []
            for chunk in try tx.chunks(of: inode) {
                guard let records = SliceRecord.decodeAll(chunk.records) else {
                    throw MetaError(.ioError, "chunk \(chunk.index) of inode \(inode) is corrupt")
                }
                chunks.append("{\"index\":\(chunk.index),\"slices\":[\(records.map(Self.sliceJSON).joined(separator: ","))]}")
            }
            if !chunks.isEmpty { try writer.write(",\"chunks\":[\(chunks.joined(separator: ","))]") }
        }
        written += 1
        if written % 10_000 == 0 { progress(written) }
        if attr.type == .directory {
            try writer.write(",\"entries\":{")
            // One directory's names at a time: Redis keeps them unordered, so pages would cost
            // a full read each.
            for (position, entry) in try tx.entries(inode, after: nil, limit: Int(Int64.max)).enumerated() {
                try writer.write("\(position == 0 ? "" : ",")\n\"\(DumpEscaping.escape(entry.name))\":")
                try writeEntry(tx, entry.inode, try tx.requireNode(entry.inode), &writer, written: &written, progress: progress)
            }
            try writer.write("}")
        }
        try writer.write("}")
    }

    private static func attrJSON(_ inode: Ino, _ attr: Attr) -> String {
        var fields = ["\"inode\":\(inode)"]
        if attr.flags != 0 { fields.append("\"flags\":\(attr.flags)") }
        fields += [
            "\"type\":\"\(attr.type.dumpName)\"", "\"mode\":\(attr.mode)", "\"uid\":\(attr.uid)", "\"gid\":\(attr.gid)",
            "\"atime\":\(attr.atime.seconds)", "\"mtime\":\(attr.mtime.seconds)", "\"ctime\":\(attr.ctime.seconds)",
        ]
        for (name, time) in [("atimensec", attr.atime), ("mtimensec", attr.mtime), ("ctimensec", attr.ctime)] where time.nanoseconds != 0 {
            fields.append("\"\(name)\":\(time.nanoseconds)")
        }
        fields += ["\"nlink\":\(attr.nlink)", "\"length\":\(attr.type == .regular ? attr.length : 0)"]
        if attr.rdev != 0 { fields.append("\"rdev\":\(attr.rdev)") }
        if attr.tier != 0 { fields.append("\"tier\":\(attr.tier)") }
        return "{\(fields.joined(separator: ","))}"
    }

    private static func sliceJSON(_ record: SliceRecord) -> String {
        var fields = ["\"id\":\(record.id)"]
        if record.pos != 0 { fields.append("\"pos\":\(record.pos)") }
        fields.append("\"size\":\(record.size)")
        if record.off != 0 { fields.append("\"off\":\(record.off)") }
        fields.append("\"len\":\(record.len)")
        return "{\(fields.joined(separator: ","))}"
    }

    /// The stored setting with credentials replaced, as `juicefs dump` does by default.
    private static func redactedSetting(_ json: String) throws(MetaError) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            throw MetaError(.ioError, "the volume's format setting is not a JSON object")
        }
        for key in ["SecretKey", "SessionToken"] {
            if let value = object[key] as? String, !value.isEmpty { object[key] = "removed" }
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw MetaError(.ioError, "the volume's format setting cannot be re-encoded")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
