import Foundation
import Metadata
import SystemBridge
import SystemPackage
import VolumeModel

/// A volume's namespace hosted in a local directory: a SQLite file, or a private
/// `redis-server` whose RDB lives there. Mounts and migrations run on one of these.
final class LocalMetadata: @unchecked Sendable {
    let type: MetadataStoreType
    let directory: FilePath
    let engine: any MetaEngine
    private let redis: RedisServer?
    /// The pieces an index read in place comes from; its failure explains an engine's I/O error.
    let source: IndexPieceSource?
    /// The team's Redis the namespace lives in, if not a private server or a file.
    private var external: (redis: ExternalRedis, engine: NamespaceEngine)?

    /// Where a downloaded index goes before the store opens it.
    static func indexFile(type: MetadataStoreType, in directory: FilePath) -> FilePath {
        switch type {
        case .sqlite: directory.appending("meta.db")
        case .redis: directory.appending("dump.rdb")
        }
    }

    /// Opens the store in `directory`: the index already placed at `indexFile`, or empty.
    init(type: MetadataStoreType, directory: FilePath, redisExecutable: String) throws(VolumeError) {
        self.type = type
        self.directory = directory
        source = nil
        do {
            try FileSystem.createDirectories(directory)
        } catch {
            throw VolumeError(.internalError, "cannot create the metadata directory \(directory): \(error)")
        }
        switch type {
        case .sqlite:
            redis = nil
            do {
                engine = try NamespaceEngine.open(.sqlite(Self.indexFile(type: type, in: directory)), persistWithin: NamespaceEngine.mountPersistWindow)
            } catch {
                throw VolumeError(error, while: "opening the SQLite store in \(directory)")
            }
        case .redis:
            let server = RedisServer(directory: directory, executable: redisExecutable)
            do {
                try server.start()
                engine = try NamespaceEngine.open(.redis(server.address()))
            } catch {
                try? server.stop()
                throw VolumeError(error, while: "starting the private redis-server in \(directory)")
            }
            redis = server
        }
    }

    /// Keeps the namespace in an external Redis database. A new working copy needs the
    /// database empty (the mount owns it until finalize or abandon) and fills it from the index
    /// downloaded to `indexFile`, if any, through a private server that only loads it; a
    /// resumed one finds its keys there.
    init(external: ExternalRedis, directory: FilePath, redisExecutable: String, resumed: Bool) throws(VolumeError) {
        type = .redis
        self.directory = directory
        redis = nil
        source = nil
        let opened: NamespaceEngine
        do {
            opened = try NamespaceEngine.open(externalRedis: external.address, scratch: directory.appending("snapshot"), redisExecutable: redisExecutable)
        } catch {
            throw VolumeError(.metadataError, "cannot reach the external Redis \(external.url): \(error)", data: ["metadata_url": external.url])
        }
        engine = opened
        self.external = (external, opened)
        guard !resumed else { return }
        do {
            guard try opened.storeIsEmpty() else {
                throw VolumeError(
                    .notEmpty, "\(external.url) already holds keys; a mount needs an empty database of its own (another database number, or FLUSHDB it first)",
                    data: ["metadata_url": external.url])
            }
            let index = Self.indexFile(type: .redis, in: directory)
            if FileSystem.exists(index) {
                let loader = RedisServer(directory: directory, executable: redisExecutable)
                defer {
                    try? loader.stop()
                    try? FileSystem.unlink(index)
                }
                try loader.start()
                try opened.copyRedisDatabase(from: loader.address())
            }
        } catch let error as VolumeError {
            throw error
        } catch {
            throw VolumeError(wrapping: error, while: "loading the index into \(external.url)")
        }
    }

    /// Reads a committed index in place from its pieces, for a read-only mount or a browse:
    /// nothing is downloaded up front and nothing is written.
    init(reading source: IndexPieceSource, of index: IndexRef, directory: FilePath) throws(VolumeError) {
        type = source.manifest.engine
        self.directory = directory
        redis = nil
        self.source = source
        do {
            engine =
                if let fences = source.manifest.keyFences {
                    try NamespaceEngine.open(readingRDBFrom: source, fences: fences, shownAs: index.path)
                } else {
                    try NamespaceEngine.open(readingFrom: source, shownAs: index.path)
                }
        } catch {
            throw source.failure ?? VolumeError(error, while: "opening the index \(index.path)")
        }
    }

    /// The working copy is over (published or abandoned): an external database is emptied,
    /// given back to whoever lent it. A private store goes with its directory.
    func discard() throws(VolumeError) {
        guard let external else { return }
        do {
            try external.engine.emptyRedisDatabase()
        } catch {
            throw VolumeError(error, while: "emptying \(external.redis.url)")
        }
    }

    /// Persists every change and stops the private server, if any, saving its database.
    func close() throws(VolumeError) {
        defer { try? redis?.stop() }
        do {
            try engine.persist()
        } catch {
            throw VolumeError(error, while: "saving the metadata")
        }
    }
}
