import Foundation
import Redis

/// Copies every key of one Redis database into another by type (strings, hashes, lists, sets,
/// sorted sets) rather than by DUMP/RESTORE, whose payloads a server older than their writer
/// refuses: a team's Redis and volumed's own redis-server need not be the same release. It
/// hosts a namespace in an external Redis (the index loaded into it at mount) and snapshots it
/// (copied into a private server, whose RDB becomes the index).
enum RedisKeyCopier {
    /// Copies a SCAN page at a time, each page in three pipelines (types, values, writes). A
    /// key SCAN hands over twice is written twice, each time whole (DEL first).
    static func copy(from source: RedisMetaStore, to target: RedisMetaStore) throws(MetaError) {
        try source.scan(matching: RedisKey.bytes("*")) { (keys) throws(MetaError) in
            guard !keys.isEmpty else { return }
            let types = try source.pipeline(keys.map { [RedisKey.bytes("TYPE"), $0] })
            var reads: [[[UInt8]]] = []
            var kinds: [(key: [UInt8], type: String)] = []
            for (key, reply) in zip(keys, types) {
                let type = String(decoding: reply.bytes ?? [], as: UTF8.self)
                guard let read = readCommand(type, key) else {
                    if type == "none" { continue }  // deleted since the SCAN
                    throw MetaError(.notSupported, "key \(String(decoding: key, as: UTF8.self)) of \(source.location) is a \(type), which a juicefs namespace never holds")
                }
                reads.append(read)
                kinds.append((key, type))
            }
            var writes: [[[UInt8]]] = []
            for ((key, type), reply) in zip(kinds, try source.pipeline(reads)) {
                writes.append([RedisKey.bytes("DEL"), key])
                if let write = try writeCommand(type, key, reply, from: source) { writes.append(write) }
            }
            for reply in try target.pipeline(writes) {
                if case .error(let message) = reply { throw MetaError(.ioError, "copying into \(target.location): \(message)") }
            }
        }
    }

    private static func readCommand(_ type: String, _ key: [UInt8]) -> [[UInt8]]? {
        switch type {
        case "string": [RedisKey.bytes("GET"), key]
        case "hash": [RedisKey.bytes("HGETALL"), key]
        case "list": [RedisKey.bytes("LRANGE"), key, RedisKey.bytes("0"), RedisKey.bytes("-1")]
        case "set": [RedisKey.bytes("SMEMBERS"), key]
        case "zset": [RedisKey.bytes("ZRANGE"), key, RedisKey.bytes("0"), RedisKey.bytes("-1"), RedisKey.bytes("WITHSCORES")]
        default: nil
        }
    }

    /// The command that recreates a key from its value; `nil` for one emptied since.
    private static func writeCommand(_ type: String, _ key: [UInt8], _ reply: RedisReply, from source: RedisMetaStore) throws(MetaError) -> [[UInt8]]? {
        if case .error(let message) = reply { throw MetaError(.ioError, "reading \(String(decoding: key, as: UTF8.self)) of \(source.location): \(message)") }
        if type == "string" { return reply.bytes.map { [RedisKey.bytes("SET"), key, $0] } }
        let items = (reply.array ?? []).map { $0.bytes ?? [] }
        guard !items.isEmpty else { return nil }
        switch type {
        case "hash": return [RedisKey.bytes("HSET"), key] + items
        case "list": return [RedisKey.bytes("RPUSH"), key] + items
        case "set": return [RedisKey.bytes("SADD"), key] + items
        default:
            // WITHSCORES answers member, score, member, score; ZADD takes score, member.
            var arguments = [RedisKey.bytes("ZADD"), key]
            for pair in stride(from: 0, to: items.count - 1, by: 2) { arguments += [items[pair + 1], items[pair]] }
            return arguments
        }
    }
}
