/// A Lua script run server-side to save round trips; loaded once per server with SCRIPT LOAD.
struct RedisScript: Sendable {
    let source: String
}

enum RedisScripts {
    /// KEYS[1] = `d<parent>`, ARGV[1] = name → `{entry, attr}`, `{entry}` when the inode is
    /// too large for Lua's doubles (trash inodes; the caller fetches the attribute), or nil.
    static let lookup = RedisScript(source: """
        local entry = redis.call('HGET', KEYS[1], ARGV[1])
        if not entry then return nil end
        if struct.unpack('>I4', string.sub(entry, 2, 5)) >= 2097152 then return {entry} end
        local inode = struct.unpack('>I8', string.sub(entry, 2))
        return {entry, redis.call('GET', 'i' .. string.format('%.0f', inode))}
        """)
}
