import ChunkStore
import Foundation
import Metadata
import StorageFormat
import SystemBridge
import SystemPackage
import VFS
import VolumeModel

extension VolumeService {
    /// The largest file `read` returns; bigger ones are for a mount.
    public static let readLimit = 64 << 20

    /// The entries of a directory of a committed version, read from its index without a mount;
    /// `caller` needs what `ls -l` would need on a mount of it.
    public func list(_ volume: VolumeDescriptor, path: String = "/", as caller: Caller = .process) throws(VolumeError) -> [BrowseEntry] {
        try browsing(volume) { (engine, _) throws(VolumeError) -> [BrowseEntry] in
            let (inode, attr) = try Self.resolve(path, in: engine, as: caller)
            guard attr.type == .directory else {
                return [Self.entry(name: path.split(separator: "/").last.map(String.init) ?? path, attr)]
            }
            try Self.require([.read, .search], on: attr, at: path, for: caller, to: "list")
            var entries: [BrowseEntry] = []
            var after: [UInt8]?
            repeat {
                let page: [DirectoryEntry]
                do {
                    page = try engine.readdir(inode, after: after, limit: 1000, attributes: true)
                } catch {
                    throw VolumeError(wrapping: error, while: "listing \(path)")
                }
                entries += page.compactMap { entry in entry.attr.map { Self.entry(name: String(decoding: entry.name, as: UTF8.self), $0) } }
                after = page.count == 1000 ? page.last?.name : nil
            } while after != nil
            return entries
        }
    }

    /// The bytes of a regular file of a committed version, without a mount, if `caller` may
    /// read it there.
    public func read(_ volume: VolumeDescriptor, path: String, as caller: Caller = .process) throws(VolumeError) -> Data {
        try browsing(volume) { (engine, chunks) throws(VolumeError) -> Data in
            let (inode, attr) = try Self.resolve(path, in: engine, as: caller)
            guard attr.type == .regular else { throw VolumeError(.invalidParams, "\(path) is not a regular file", data: ["field": "path"]) }
            try Self.require(.read, on: attr, at: path, for: caller, to: "read")
            guard attr.length <= UInt64(Self.readLimit) else {
                throw VolumeError(.invalidParams, "\(path) is \(attr.length) bytes, more than cat returns (\(Self.readLimit)); mount the version to read it")
            }
            do {
                return try chunks.reader(inode: inode).read(at: 0, count: Int(attr.length), fileLength: attr.length)
            } catch {
                throw VolumeError(wrapping: error, while: "reading \(path)")
            }
        }
    }

    private func browsing<Result>(_ volume: VolumeDescriptor, _ body: (any MetaEngine, ChunkStore) throws(VolumeError) -> Result) throws(VolumeError) -> Result {
        try volume.validate()
        let bucket = try openBucket(of: volume)
        return try readingIndex(of: volume, in: bucket) { (engine) throws(VolumeError) -> Result in
            let format: VolumeFormat
            do throws(MetaError) {
                format = try engine.loadFormat()
            } catch {
                throw VolumeError(error, while: "reading the format of \(volume.name)")
            }
            var chunkConfiguration = ChunkStoreConfiguration(volume: volume, format: format)
            chunkConfiguration.downloadGate = downloadGate
            let chunks = ChunkStore(configuration: chunkConfiguration, catalog: EngineCatalog(engine), store: bucket.store, cache: sharedCache)
            defer { chunks.close() }
            return try body(engine, chunks)
        }
    }

    /// The slices a committed version's index references: the blocks gc keeps for it.
    func referencedSlices(of volume: VolumeDescriptor, in bucket: VolumeBucket) throws(VolumeError) -> Set<SliceID> {
        try readingIndex(of: volume, in: bucket) { (engine) throws(VolumeError) -> Set<SliceID> in
            var found: Set<SliceID> = []
            do throws(MetaError) {
                try engine.forEachReferencedSlice { found.insert($0) }
            } catch {
                throw VolumeError(error, while: "reading the slices of \(volume.producedBy?.locator ?? volume.name)")
            }
            return found
        }
    }

    /// Opens a committed version's index for reading while `body` runs: in place from its
    /// pieces when it can be, else downloaded into a scratch directory removed afterwards. A
    /// piece that fails to arrive is the error, not the engine's I/O error it caused.
    private func readingIndex<Result>(of volume: VolumeDescriptor, in bucket: VolumeBucket, _ body: (any MetaEngine) throws(VolumeError) -> Result)
        throws(VolumeError) -> Result
    {
        guard let index = volume.index else {
            throw VolumeError(.notFound, "\(volume.name) was never committed: there is nothing to browse", data: ["name": volume.name])
        }
        let directory = configuration.stateDirectory.appending("browse").appending(Self.randomID())
        defer { try? FileSystem.removeTree(directory) }
        do {
            try FileSystem.createDirectories(directory)
        } catch {
            throw VolumeError(.internalError, "cannot create \(directory): \(error)")
        }
        let metadata: LocalMetadata
        if let inPlace = try inPlaceIndex(of: volume, readOnly: true, in: bucket) {
            metadata = try LocalMetadata(reading: inPlace, of: index, directory: directory)
        } else {
            try bucket.download(index, to: LocalMetadata.indexFile(type: volume.metadataStoreType, in: directory)) { _ in }
            metadata = try LocalMetadata(type: volume.metadataStoreType, directory: directory, redisExecutable: configuration.redisExecutable)
        }
        defer { try? metadata.close() }
        do {
            return try body(metadata.engine)
        } catch {
            throw metadata.source?.failure ?? error
        }
    }

    /// Follows `path` from the root, `caller` needing search permission on every directory
    /// on the way; `..` is refused rather than interpreted.
    private static func resolve(_ path: String, in engine: any MetaEngine, as caller: Caller) throws(VolumeError) -> (Ino, Attr) {
        var inode = Ino.root
        var walked = ""
        do {
            var attr = try engine.getattr(.root)
            for component in path.split(separator: "/") where component != "." {
                guard component != ".." else { throw VolumeError(.invalidParams, "paths may not contain '..': \(path)", data: ["field": "path"]) }
                if attr.type == .directory { try require(.search, on: attr, at: walked.isEmpty ? "/" : walked, for: caller, to: "search") }
                (inode, attr) = try engine.lookup(parent: inode, name: Array(component.utf8))
                walked += "/\(component)"
            }
            return (inode, attr)
        } catch let error as VolumeError {
            throw error
        } catch let error as MetaError where error.errno == .noSuchFileOrDirectory || error.errno == .notDirectory {
            throw VolumeError(.notFound, "\(path) does not exist in this version", data: ["path": path])
        } catch {
            throw VolumeError(wrapping: error, while: "looking up \(path)")
        }
    }

    private static func require(_ access: Caller.Access, on attr: Attr, at path: String, for caller: Caller, to verb: String) throws(VolumeError) {
        guard !caller.may(access, attr) else { return }
        throw VolumeError(
            .permissionDenied,
            "\(caller) may not \(verb) \(path) (mode \(String(attr.mode & 0o7777, radix: 8)), owner uid \(attr.uid), gid \(attr.gid)), as on a mount of this version",
            data: ["path": path])
    }

    private static func entry(name: String, _ attr: Attr) -> BrowseEntry {
        BrowseEntry(name: name, type: attr.type.browseName, size: attr.length, mode: attr.mode, mtime: attr.mtime.seconds)
    }
}

extension NodeType {
    var browseName: String {
        switch self {
        case .regular: "file"
        case .directory: "directory"
        case .symlink: "symlink"
        case .fifo: "fifo"
        case .socket: "socket"
        case .charDevice: "char"
        case .blockDevice: "block"
        }
    }
}
