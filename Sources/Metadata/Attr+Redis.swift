import StorageFormat

extension Attr {
    /// The binary attribute of Redis `i<ino>` values (docs/FORMAT.md, "The index"), with the
    /// trailing zero byte juicefs itself leaves.
    var redisEncoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(81)
        bytes.append(flags)
        bytes.appendBigEndian(UInt16(type.rawValue) << 12 | (mode & 0x0FFF))
        bytes.appendBigEndian(uid)
        bytes.appendBigEndian(gid)
        for time in [atime, mtime, ctime] {
            bytes.appendBigEndian(time.seconds)
            bytes.appendBigEndian(time.nanoseconds)
        }
        bytes.appendBigEndian(nlink)
        bytes.appendBigEndian(length)
        bytes.appendBigEndian(rdev)
        bytes.appendBigEndian(parent.rawValue)
        if accessACL != 0 || defaultACL != 0 {
            bytes.appendBigEndian(accessACL)
            bytes.appendBigEndian(defaultACL)
        }
        if tier != 0 { bytes.append(tier) }
        bytes.append(0)
        return bytes
    }

    /// Decodes by the reader rules juicefs uses: parent, ACL ids and tier only when enough
    /// bytes remain, so the pad byte reads as tier 0.
    init?(redisEncoded bytes: [UInt8]) {
        guard bytes.count >= 63 else { return nil }
        var reader = BigEndianReader(bytes: bytes, offset: 0)
        let flags: UInt8 = reader.read()
        let typeAndMode: UInt16 = reader.read()
        guard let type = NodeType(rawValue: UInt8(typeAndMode >> 12)) else { return nil }
        let uid: UInt32 = reader.read()
        let gid: UInt32 = reader.read()
        var times: [Timestamp] = []
        for _ in 0..<3 {
            let seconds: Int64 = reader.read()
            let nanoseconds: UInt32 = reader.read()
            times.append(Timestamp(seconds: seconds, nanoseconds: nanoseconds))
        }
        let nlink: UInt32 = reader.read()
        let length: UInt64 = reader.read()
        let rdev: UInt32 = reader.read()
        let parent = Ino(reader.remaining >= 8 ? reader.read() : 0)
        self.init(type: type, mode: typeAndMode & 0x0FFF, uid: uid, gid: gid, time: times[0], nlink: nlink, length: length, parent: parent, rdev: rdev)
        self.flags = flags
        mtime = times[1]
        ctime = times[2]
        if reader.remaining >= 8 {
            accessACL = reader.read()
            defaultACL = reader.read()
        }
        if reader.remaining >= 1 { tier = reader.read() }
    }
}
