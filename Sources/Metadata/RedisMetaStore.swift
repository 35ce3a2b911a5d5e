import Foundation
import Redis
import StorageFormat
import SystemBridge
import SystemPackage

/// A volume's namespace in Redis, in the juicefs 1.4 key layout: a private `redis-server`
/// in the mount's meta directory (see `RedisServer`) or an external `redis://` database.
final class RedisMetaStore: MetaStore {
    private let redis: RedisConnection
    private(set) var sessionID: Int64?
    private var scriptIDs: [String: [UInt8]] = [:]

    /// Where a snapshot of a database on a server of its own (an external Redis) is taken: a
    /// private server started in this directory, which the keys are copied into. BGSAVE would
    /// write the whole shared server's RDB, and on its machine.
    private let snapshotScratch: (directory: FilePath, executable: String)?

    init(_ address: RedisAddress, snapshotScratch: (directory: FilePath, executable: String)? = nil) throws(MetaError) {
        do {
            redis = try RedisConnection(address: address.connection, database: address.database, password: address.password)
        } catch {
            throw MetaError(redis: error)
        }
        location = address.description
        database = address.database
        self.snapshotScratch = snapshotScratch
    }

    let location: String
    /// The database number on the server: its snapshot holds only this database's keys.
    private let database: Int
    /// One page: a listing reads the directory's whole hash however few entries it keeps
    /// (`RedisTransaction.entries`), so paging would read it again per page.
    var listingPageSize: Int { .max }

    func isEmpty() throws(MetaError) -> Bool {
        try keyCount() == 0
    }

    /// The number of keys in the database (DBSIZE, constant time).
    func keyCount() throws(MetaError) -> Int {
        Int(try command([RedisKey.bytes("DBSIZE")]).integer ?? 0)
    }

    /// Every key matching `pattern`, by a full SCAN of the database (a key may come twice).
    func scan(matching pattern: [UInt8]) throws(MetaError) -> [[UInt8]] {
        var keys: [[UInt8]] = []
        try scan(matching: pattern) { (page) throws(MetaError) in keys += page }
        return keys
    }

    /// Hands over the keys matching `pattern` a SCAN page at a time, so a walk over a million
    /// keys never holds them all (a key may come twice).
    func scan(matching pattern: [UInt8], _ body: ([[UInt8]]) throws(MetaError) -> Void) throws(MetaError) {
        var cursor = RedisKey.bytes("0")
        repeat {
            let reply = try command([RedisKey.bytes("SCAN"), cursor, RedisKey.bytes("MATCH"), pattern, RedisKey.bytes("COUNT"), RedisKey.bytes("10000")])
            guard let parts = reply.array, parts.count == 2, let next = parts[0].bytes, let found = parts[1].array else {
                throw MetaError(.ioError, "SCAN on \(location) gave no cursor and keys")
            }
            try body(found.compactMap(\.bytes))
            cursor = next
        } while cursor != RedisKey.bytes("0")
    }

    /// Redis needs no schema.
    func prepareForLoad() throws(MetaError) {}

    func create(format json: String, nodes: [(Ino, Attr)]) throws(MetaError) {
        if try formatJSON() != nil { throw MetaError(.fileExists, "the store at \(location) is already formatted") }
        var commands = [[RedisKey.bytes("SET"), RedisKey.setting, Array(json.utf8), RedisKey.bytes("NX")]]
        for (inode, attr) in nodes { commands.append([RedisKey.bytes("SET"), RedisKey.attr(inode), attr.redisEncoded]) }
        let replies = try pipeline([[RedisKey.bytes("MULTI")]] + commands + [[RedisKey.bytes("EXEC")]])
        guard let results = replies.last?.array, results.first?.isNull == false else {
            throw MetaError(.fileExists, "the store at \(location) was formatted concurrently")
        }
    }

    func formatJSON() throws(MetaError) -> String? {
        try command([RedisKey.bytes("GET"), RedisKey.setting]).bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Runs `body` and commits its queued writes atomically, running it again when another
    /// client changed a key it read in between.
    func write<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        for _ in 0..<100 {
            let transaction = RedisTransaction(redis: redis, store: self, watches: true)
            let result: Result
            do {
                result = try body(transaction)
            } catch {
                _ = try? pipeline([[RedisKey.bytes("UNWATCH")]])
                throw error
            }
            if transaction.commands.isEmpty {
                _ = try pipeline([[RedisKey.bytes("UNWATCH")]])
                return result
            }
            let replies = try pipeline([[RedisKey.bytes("MULTI")]] + transaction.commands + [[RedisKey.bytes("EXEC")]])
            guard let exec = replies.last else { throw MetaError(.ioError, "no EXEC reply from \(location)") }
            if exec.isNull { continue }  // a watched key changed: run again on fresh reads
            for reply in [replies.first!] + (exec.array ?? [exec]) {
                if case .error(let message) = reply { throw MetaError(.ioError, "Redis at \(location) refused part of a transaction: \(message)") }
            }
            return result
        }
        throw MetaError(.resourceTemporarilyUnavailable, "too much contention on \(location)")
    }

    func read<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        try body(RedisTransaction(redis: redis, store: self, watches: false))
    }

    func reserve(_ counter: IDCounter, count: UInt64) throws(MetaError) -> Range<UInt64> {
        let reply = try command([RedisKey.bytes("INCRBY"), RedisKey.counter(counter.rawValue), RedisKey.decimal(count)])
        guard let lastUsed = reply.integer else { throw MetaError(.ioError, "counter \(counter.rawValue) is not a number") }
        let end = UInt64(lastUsed) + 1
        return max(counter.floor, end - count)..<end
    }

    func raiseNextChunk(to bound: UInt64) throws(MetaError) {
        let script = "local v = tonumber(redis.call('GET', KEYS[1]) or '0') if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 0"
        try command([RedisKey.bytes("EVAL"), Array(script.utf8), RedisKey.bytes("1"), RedisKey.counter("nextChunk"), RedisKey.decimal(bound - 1)])
    }

    func counter(_ name: String) throws(MetaError) -> Int64 {
        let value = try command([RedisKey.bytes("GET"), RedisKey.counter(name)]).integer ?? 0
        return RedisKey.storesLastUsed(name) ? value + 1 : value
    }

    func setCounters(_ values: [String: Int64]) throws(MetaError) {
        var arguments = [RedisKey.bytes("MSET")]
        for (name, value) in values {
            arguments += [RedisKey.counter(name), RedisKey.decimal(RedisKey.storesLastUsed(name) ? value - 1 : value)]
        }
        try command(arguments)
    }

    func registerSession() throws(MetaError) -> Int64 {
        guard let id = try command([RedisKey.bytes("INCR"), RedisKey.counter("nextSession")]).integer else {
            throw MetaError(.ioError, "nextsession is not a number")
        }
        let info = #"{"Version":"volumed"}"#
        _ = try pipeline([
            [RedisKey.bytes("ZADD"), RedisKey.allSessions, RedisKey.decimal(Timestamp.now().seconds + 60), RedisKey.decimal(id)],
            [RedisKey.bytes("HSET"), RedisKey.sessionInfos, RedisKey.decimal(id), Array(info.utf8)],
        ])
        sessionID = id
        return id
    }

    /// Every transaction is in the server once it returns.
    var hasUnpersistedWrites: Bool { false }

    func persist() throws(MetaError) {}

    /// Saves the database with BGSAVE and rewrites the RDB file in key order (`RDBSorter`):
    /// only possible when the server's directory is on this machine (always so for the
    /// private server).
    func snapshot(scratchFile: FilePath) throws(MetaError) -> IndexSnapshot {
        let ordered = try saveSnapshot(to: scratchFile)
        return try IndexSnapshot(file: scratchFile, orderedByKey: ordered) { try? FileSystem.removeTree(scratchFile) }
    }

    /// Whether the file written is in key order.
    private func saveSnapshot(to path: FilePath) throws(MetaError) -> Bool {
        guard let snapshotScratch else { return try saveServer(to: path) }
        try? FileSystem.removeTree(snapshotScratch.directory)
        do {
            try FileSystem.createDirectories(snapshotScratch.directory)
        } catch {
            throw MetaError(error, "cannot create \(snapshotScratch.directory): \(error)")
        }
        let server = RedisServer(directory: snapshotScratch.directory, executable: snapshotScratch.executable)
        defer {
            try? server.stop()
            try? FileSystem.removeTree(snapshotScratch.directory)
        }
        try server.start()
        let copy = try RedisMetaStore(server.address())
        try RedisKeyCopier.copy(from: self, to: copy)
        return try copy.saveServer(to: path)
    }

    /// Empties the database (an external one whose namespace was published or abandoned).
    func flush() throws(MetaError) {
        try command([RedisKey.bytes("FLUSHDB")])
    }

    /// BGSAVE, then the server's RDB file in key order, or as it is when the server writes a
    /// format `RDBSorter` does not know (whether it is in key order is returned): the server
    /// must run on this machine.
    private func saveServer(to path: FilePath) throws(MetaError) -> Bool {
        let before = Int(try persistenceField("rdb_saves") ?? "") ?? 0
        let started = Date()
        let reply = try pipeline([[RedisKey.bytes("BGSAVE")]])[0]
        if case .error(let message) = reply, !message.contains("in progress") {
            throw MetaError(.ioError, "BGSAVE on \(location) failed: \(message)")
        }
        while true {
            let inProgress = try persistenceField("rdb_bgsave_in_progress") != "0"
            let saves = Int(try persistenceField("rdb_saves") ?? "") ?? 0
            if !inProgress, saves > before { break }
            if Date().timeIntervalSince(started) > 600 { throw MetaError(.timedOut, "BGSAVE on \(location) did not finish in 10 minutes") }
            Thread.sleep(forTimeInterval: 0.01)
        }
        guard try persistenceField("rdb_last_bgsave_status") == "ok" else { throw MetaError(.ioError, "BGSAVE on \(location) failed") }
        let directory = try configValue("dir")
        let file = try configValue("dbfilename")
        let source = FilePath(directory).appending(file)
        guard FileSystem.exists(source) else {
            throw MetaError(.notSupported, "cannot read the RDB file \(source) of \(location): is the server on another machine?")
        }
        do {
            try RDBSorter.sort(source, database: database, into: path)
            return true
        } catch where error.errno == .notSupported {
            do {
                try FileSystem.copyFile(source, to: path)
            } catch {
                throw MetaError(error, "cannot copy the RDB file \(source) of \(location): \(error)")
            }
            return false
        }
    }

    // MARK: - Helpers

    /// Runs a script by its SHA, loading it first on this server (again after a restart).
    func evaluate(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]]) throws(MetaError) -> RedisReply {
        for _ in 0..<2 {
            let id: [UInt8]
            if let known = scriptIDs[script.source] {
                id = known
            } else {
                guard let loaded = try command([RedisKey.bytes("SCRIPT"), RedisKey.bytes("LOAD"), Array(script.source.utf8)]).bytes else {
                    throw MetaError(.ioError, "SCRIPT LOAD returned no id on \(location)")
                }
                scriptIDs[script.source] = loaded
                id = loaded
            }
            let reply = try pipeline([[RedisKey.bytes("EVALSHA"), id, RedisKey.decimal(keys.count)] + keys + arguments])[0]
            if case .error(let message) = reply {
                if message.hasPrefix("NOSCRIPT") {
                    scriptIDs[script.source] = nil
                    continue
                }
                throw MetaError(redis: RedisError(.server, message))
            }
            return reply
        }
        throw MetaError(.ioError, "\(location) keeps forgetting a loaded script")
    }

    func pipeline(_ commands: [[[UInt8]]]) throws(MetaError) -> [RedisReply] {
        do {
            return try redis.pipeline(commands)
        } catch {
            throw MetaError(redis: error)
        }
    }

    @discardableResult
    private func command(_ arguments: [[UInt8]]) throws(MetaError) -> RedisReply {
        let reply = try pipeline([arguments])[0]
        if case .error(let message) = reply { throw MetaError(redis: RedisError(.server, message)) }
        return reply
    }

    private func persistenceField(_ name: String) throws(MetaError) -> String? {
        let info = String(decoding: try command([RedisKey.bytes("INFO"), RedisKey.bytes("persistence")]).bytes ?? [], as: UTF8.self)
        return info.split(whereSeparator: \.isNewline).first { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)) }
    }

    private func configValue(_ name: String) throws(MetaError) -> String {
        let pair = try command([RedisKey.bytes("CONFIG"), RedisKey.bytes("GET"), RedisKey.bytes(name)]).array ?? []
        guard pair.count == 2, let value = pair[1].bytes else { throw MetaError(.ioError, "CONFIG GET \(name) failed on \(location)") }
        return String(decoding: value, as: UTF8.self)
    }
}

extension MetaError {
    init(redis: RedisError) {
        let errno: Errno = redis.kind == .server && redis.message.hasPrefix("OOM") ? .noSpace : .ioError
        self.init(errno, redis.description)
    }
}
