import Cryptography
import Foundation
import SystemBridge
import SystemPackage

/// The embedded default: object `k` is the file `<root>/<k>`, the layout the `juicefs`
/// `file` storage uses, so either client can read the other's blocks.
///
/// Writes go to a hidden temporary file in the same directory, are fsynced, and only
/// then become visible under their key (rename for `put`, link for `create`), so a crash
/// never leaves a torn object under a final name.
public struct FileObjectStore: ObjectStore, RangedReads {
    public let root: FilePath

    public init(root: FilePath) throws(ObjectStoreError) {
        self.root = root
        do {
            try FileSystem.createDirectories(root)
        } catch {
            throw Self.mapped(error, key: nil, doing: "creating the bucket directory \(root)")
        }
    }

    public var location: String { "file://\(root)" }

    public func put(_ key: String, data: Data) throws(ObjectStoreError) {
        let path = try pathForWriting(key)
        let temporary = try writeTemporary(beside: path, key: key) { descriptor in
            try descriptor.writeAll(data)
        }
        try publish(temporary, as: path, key: key, exclusive: false)
    }

    public func put(_ key: String, contentsOf file: FilePath, digest: FileDigest?) throws(ObjectStoreError) {
        let path = try pathForWriting(key)
        let source: FileDescriptor
        do {
            source = try FileDescriptor.open(file, .readOnly, options: [.closeOnExec])
        } catch {
            throw ObjectStoreError(.invalidArgument, "cannot read \(file): \(error)")
        }
        defer { try? source.close() }
        let temporary = try writeTemporary(beside: path, key: key) { descriptor in
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let count = try source.read(into: &buffer)
                if count == 0 { break }
                try descriptor.writeAll(buffer, count: count)
            }
        }
        try publish(temporary, as: path, key: key, exclusive: false)
    }

    public func create(_ key: String, data: Data) throws(ObjectStoreError) {
        let path = try pathForWriting(key)
        let temporary = try writeTemporary(beside: path, key: key) { descriptor in
            try descriptor.writeAll(data)
        }
        do {
            try publish(temporary, as: path, key: key, exclusive: true)
        } catch where error.kind == .alreadyExists {
            // The contract of every backend: an object holding exactly `data` is this call's own.
            guard (try? read(key, range: nil)) == data else { throw error }
        }
    }

    public func head(_ key: String) throws(ObjectStoreError) -> ObjectInfo {
        let path = try self.path(for: key)
        let status: FileStatus?
        do {
            status = try FileSystem.status(path)
        } catch {
            throw Self.mapped(error, key: key, doing: "stat")
        }
        guard let status, status.isRegularFile else { throw ObjectStoreError(.notFound, "no object \(key) in \(location)", status: 404) }
        return ObjectInfo(key: key, size: status.size, modified: Date(timeIntervalSince1970: status.modificationTime))
    }

    public func list(prefix: String, startAfter: String?, continuation: String?, limit: Int) throws(ObjectStoreError) -> ObjectListPage {
        try ObjectKey.validatePrefix(prefix)
        // Walk only the deepest directory the prefix names; a partial last segment filters names.
        let directoryPart = prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) : ""
        var keys: [ObjectInfo] = []
        try collect(directory: directoryPart, into: &keys)
        let after = [startAfter, continuation].compactMap { $0 }.max { $0.precedesInBytes($1) }
        let matching = keys.filter { object in
            object.key.hasPrefix(prefix) && (after.map { $0.precedesInBytes(object.key) } ?? true)
        }.sorted { $0.key.precedesInBytes($1.key) }
        let page = Array(matching.prefix(max(1, limit)))
        return ObjectListPage(objects: page, continuation: matching.count > page.count ? page.last?.key : nil)
    }

    public func delete(_ key: String) throws(ObjectStoreError) {
        let path = try self.path(for: key)
        do {
            try FileSystem.unlink(path)
        } catch where error == .noSuchFileOrDirectory {
            return
        } catch {
            throw Self.mapped(error, key: key, doing: "delete")
        }
    }

    // MARK: - Paths

    private func path(for key: String) throws(ObjectStoreError) -> FilePath {
        try ObjectKey.validate(key)
        if Self.isTemporaryName(String(key.split(separator: "/").last!)) {
            throw ObjectStoreError(.invalidArgument, "invalid object key \"\(key)\": the name is reserved for temporary files")
        }
        return root.appending(key)
    }

    private func pathForWriting(_ key: String) throws(ObjectStoreError) -> FilePath {
        let path = try self.path(for: key)
        do {
            try FileSystem.createDirectories(Self.parent(of: path))
        } catch {
            throw Self.mapped(error, key: key, doing: "creating the parent directory of")
        }
        return path
    }

    /// The directory of an object path, by string: paths here are built from validated keys,
    /// and this runs for every block.
    private static func parent(of path: FilePath) -> FilePath {
        let text = path.string
        return FilePath(String(text[..<(text.lastIndex(of: "/") ?? text.startIndex)]))
    }

    private static let temporaryMarker = ".tmp-"

    private static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(temporaryMarker)
    }

    // MARK: - I/O

    private func writeTemporary(
        beside path: FilePath, key: String, _ write: (FileDescriptor) throws -> Void
    ) throws(ObjectStoreError) -> FilePath {
        let parent = Self.parent(of: path)
        let name = ".\(path.string.dropFirst(parent.string.count + 1))\(Self.temporaryMarker)\(UInt64.random(in: 0...UInt64.max))"
        let temporary = FilePath(parent.string + "/" + name)
        do {
            let descriptor = try FileDescriptor.open(
                temporary, .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec], permissions: [.ownerReadWrite, .groupRead, .otherRead])
            try descriptor.closeAfter {
                try write(descriptor)
                try descriptor.sync()
            }
        } catch {
            try? FileSystem.unlink(temporary)
            throw Self.mapped(error, key: key, doing: "write")
        }
        return temporary
    }

    private func publish(_ temporary: FilePath, as path: FilePath, key: String, exclusive: Bool) throws(ObjectStoreError) {
        defer { if exclusive { try? FileSystem.unlink(temporary) } }
        do {
            if exclusive {
                try FileSystem.link(temporary, to: path)
            } else {
                try FileSystem.rename(temporary, to: path)
            }
            try syncDirectory(Self.parent(of: path))
        } catch where exclusive && error == .fileExists {
            throw ObjectStoreError(.alreadyExists, "object \(key) already exists in \(location)", status: 412)
        } catch {
            if !exclusive { try? FileSystem.unlink(temporary) }
            throw Self.mapped(error, key: key, doing: "publish")
        }
    }

    private func syncDirectory(_ directory: FilePath) throws(Errno) {
        do {
            let descriptor = try FileDescriptor.open(directory, .readOnly, options: [.directory, .closeOnExec])
            try descriptor.closeAfter { try descriptor.sync() }
        } catch {
            throw error as? Errno ?? .ioError
        }
    }

    func read(_ key: String, range: Range<Int64>?) throws(ObjectStoreError) -> Data {
        let path = try self.path(for: key)
        do {
            let descriptor = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
            return try descriptor.closeAfter {
                let size = try descriptor.seek(offset: 0, from: .end)
                let start = min(range?.lowerBound ?? 0, size)
                let end = min(range?.upperBound ?? size, size)
                return try descriptor.read(count: Int(end - start), fromAbsoluteOffset: start)
            }
        } catch let error as Errno where error == .noSuchFileOrDirectory || error == .notDirectory || error == .isDirectory {
            throw ObjectStoreError(.notFound, "no object \(key) in \(location)", status: 404)
        } catch {
            throw Self.mapped(error, key: key, doing: "read")
        }
    }

    private func collect(directory: String, into objects: inout [ObjectInfo]) throws(ObjectStoreError) {
        let path = directory.isEmpty ? root : root.appending(directory)
        let entries: [FileSystem.Entry]
        do {
            entries = try FileSystem.directoryEntries(path)
        } catch where error == .noSuchFileOrDirectory || error == .notDirectory {
            return
        } catch {
            throw Self.mapped(error, key: directory, doing: "list")
        }
        for entry in entries where !Self.isTemporaryName(entry.name) {
            let key = directory.isEmpty ? entry.name : "\(directory)/\(entry.name)"
            if entry.isDirectory {
                try collect(directory: key, into: &objects)
            } else if let status = try? FileSystem.status(root.appending(key)), status.isRegularFile {
                objects.append(ObjectInfo(key: key, size: status.size, modified: Date(timeIntervalSince1970: status.modificationTime)))
            }
        }
    }

    private static func mapped(_ error: any Error, key: String?, doing action: String) -> ObjectStoreError {
        let subject = key.map { "\(action) \($0)" } ?? action
        guard let errno = error as? Errno else { return ObjectStoreError(.permanent, "\(subject): \(error)") }
        switch errno {
        case .permissionDenied, .notPermitted, .readOnlyFileSystem:
            return ObjectStoreError(.accessDenied, "\(subject): \(errno)")
        case .noSpace, .ioError, .tooManyOpenFiles, .tooManyOpenFilesInSystem, .interrupted, .resourceTemporarilyUnavailable:
            return ObjectStoreError(.transient, "\(subject): \(errno)")
        default:
            return ObjectStoreError(.permanent, "\(subject): \(errno)")
        }
    }
}
