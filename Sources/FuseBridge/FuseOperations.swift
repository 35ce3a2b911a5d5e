import CFuse
import Foundation
import Glibc
import Metadata
import StorageFormat
import SystemPackage
import VFS

/// The libfuse low-level callbacks: each decodes its request, calls `VolumeFileSystem`
/// and encodes the reply. No file system logic lives here.
enum FuseOperations {
    static let table: fuse_lowlevel_ops = {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, connection in
            guard let userdata, let connection else { return }
            let mount = Unmanaged<FuseMount>.fromOpaque(userdata).takeUnretainedValue()
            connection.pointee.max_write = UInt32(mount.options.maxWrite)
            connection.pointee.max_readahead = UInt32(mount.options.maxReadahead)
            connection.pointee.max_background = 64
            connection.pointee.congestion_threshold = 48
            // Always readdirplus: `ls -l` and `find` then stat from the kernel's cache
            // instead of one lookup round trip per entry after a cold listing.
            connection.pointee.want &= ~UInt32(FUSE_CAP_READDIRPLUS_AUTO)
        }
        ops.lookup = { request, rawParent, name in
            let parent = Ino(rawParent)
            reply(request, .lookup) { mount throws(Errno) in
                let name = bytes(name)
                if parent == .root, name == StatsFile.name {
                    // Never cached: its length changes with every request.
                    var entry = mount.entry(StatsFile.inode, mount.stats.attr)
                    entry.attr_timeout = 0
                    entry.entry_timeout = 0
                    fuse_reply_entry(request, &entry)
                    return
                }
                let (inode, attr) = try mount.fileSystem.lookup(parent: parent, name: name)
                var entry = mount.entry(inode, attr)
                fuse_reply_entry(request, &entry)
            }
        }
        ops.forget = { request, rawInode, count in
            let inode = Ino(rawInode)
            if inode != StatsFile.inode { FuseMount.from(request).fileSystem.forget(inode, count: count) }
            fuse_reply_none(request)
        }
        ops.forget_multi = { request, count, forgets in
            let fileSystem = FuseMount.from(request).fileSystem
            for index in 0..<count where Ino(forgets![index].ino) != StatsFile.inode {
                fileSystem.forget(Ino(forgets![index].ino), count: forgets![index].nlookup)
            }
            fuse_reply_none(request)
        }
        ops.getattr = { request, rawInode, _ in
            let inode = Ino(rawInode)
            reply(request, .getattr) { mount throws(Errno) in
                if inode == StatsFile.inode {
                    var status = stat(mount.stats.attr, inode: inode)
                    fuse_reply_attr(request, &status, 0)
                    return
                }
                var status = stat(try mount.fileSystem.getattr(inode), inode: inode)
                fuse_reply_attr(request, &status, mount.options.attributeTimeout)
            }
        }
        ops.setattr = { request, rawInode, values, fields, _ in
            let inode = Ino(rawInode)
            reply(request, .setattr) { mount throws(Errno) in
                guard inode != StatsFile.inode else { throw .notPermitted }
                var requested = changes(values!.pointee, fields)
                requested.clearsSetID = KernelChannel.currentRequestClearsSetID
                var status = stat(try mount.fileSystem.setattr(inode, requested), inode: inode)
                fuse_reply_attr(request, &status, mount.options.attributeTimeout)
            }
        }
        ops.readlink = { request, rawInode in
            let inode = Ino(rawInode)
            reply(request, .readlink) { mount throws(Errno) in
                let target = try mount.fileSystem.readlink(inode) + [0]
                _ = target.withUnsafeBufferPointer { fuse_reply_readlink(request, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)) }
            }
        }
        ops.mknod = { request, rawParent, name, mode, device in
            let parent = Ino(rawParent)
            reply(request, .mknod) { mount throws(Errno) in
                guard let type = nodeType(mode) else { throw .invalidArgument }
                let (inode, attr) = try mount.fileSystem.mknod(
                    parent: parent, name: bytes(name), type: type, mode: UInt16(mode & 0o7777), rdev: UInt32(truncatingIfNeeded: device), caller: caller(request))
                var entry = mount.entry(inode, attr)
                fuse_reply_entry(request, &entry)
            }
        }
        ops.mkdir = { request, rawParent, name, mode in
            let parent = Ino(rawParent)
            reply(request, .mkdir) { mount throws(Errno) in
                let (inode, attr) = try mount.fileSystem.mknod(
                    parent: parent, name: bytes(name), type: .directory, mode: UInt16(mode & 0o7777), rdev: 0, caller: caller(request))
                var entry = mount.entry(inode, attr)
                fuse_reply_entry(request, &entry)
            }
        }
        ops.unlink = { request, rawParent, name in
            let parent = Ino(rawParent)
            reply(request, .unlink) { mount throws(Errno) in
                try mount.fileSystem.unlink(parent: parent, name: bytes(name))
                fuse_reply_err(request, 0)
            }
        }
        ops.rmdir = { request, rawParent, name in
            let parent = Ino(rawParent)
            reply(request, .rmdir) { mount throws(Errno) in
                try mount.fileSystem.rmdir(parent: parent, name: bytes(name))
                fuse_reply_err(request, 0)
            }
        }
        ops.symlink = { request, target, rawParent, name in
            let parent = Ino(rawParent)
            reply(request, .symlink) { mount throws(Errno) in
                let (inode, attr) = try mount.fileSystem.symlink(parent: parent, name: bytes(name), target: bytes(target), caller: caller(request))
                var entry = mount.entry(inode, attr)
                fuse_reply_entry(request, &entry)
            }
        }
        ops.rename = { request, rawParent, name, rawNewParent, newName, flags in
            let parent = Ino(rawParent)
            let newParent = Ino(rawNewParent)
            reply(request, .rename) { mount throws(Errno) in
                try mount.fileSystem.rename(parent: parent, name: bytes(name), newParent: newParent, newName: bytes(newName), flags: RenameFlags(rawValue: flags))
                fuse_reply_err(request, 0)
            }
        }
        ops.link = { request, rawInode, rawNewParent, newName in
            let inode = Ino(rawInode)
            let newParent = Ino(rawNewParent)
            reply(request, .link) { mount throws(Errno) in
                var entry = mount.entry(inode, try mount.fileSystem.link(inode, parent: newParent, name: bytes(newName)))
                fuse_reply_entry(request, &entry)
            }
        }
        ops.open = { request, rawInode, info in
            let inode = Ino(rawInode)
            reply(request, .open) { mount throws(Errno) in
                let flags = info!.pointee.flags
                if inode == StatsFile.inode {
                    guard flags & O_ACCMODE == O_RDONLY else { throw .permissionDenied }
                    info!.pointee.fh = mount.stats.open()
                    info!.pointee.direct_io = 1
                    fuse_reply_open(request, info)
                    return
                }
                let clearingSetID = KernelChannel.currentRequestClearsSetID
                info!.pointee.fh = try mount.fileSystem.open(
                    inode, write: flags & O_ACCMODE != O_RDONLY, truncate: flags & O_TRUNC != 0, append: flags & O_APPEND != 0,
                    clearingSetID: clearingSetID
                ).rawValue
                // The kernel keeps the mode it cached across an O_TRUNC open.
                if clearingSetID { mount.invalidateAttributes(inode) }
                info!.pointee.keep_cache = 1
                fuse_reply_open(request, info)
            }
        }
        ops.create = { request, rawParent, name, mode, info in
            let parent = Ino(rawParent)
            reply(request, .create) { mount throws(Errno) in
                let (inode, attr, handle) = try mount.fileSystem.create(
                    parent: parent, name: bytes(name), mode: UInt16(mode & 0o7777), caller: caller(request), append: info!.pointee.flags & O_APPEND != 0)
                info!.pointee.fh = handle.rawValue
                var entry = mount.entry(inode, attr)
                fuse_reply_create(request, &entry, info)
            }
        }
        ops.read = { request, rawInode, size, offset, info in
            reply(request, .read) { mount throws(Errno) in
                if Ino(rawInode) == StatsFile.inode {
                    let text = mount.stats.read(info!.pointee.fh, at: Int(offset), count: size)
                    text.withUnsafeBytes { _ = fuse_reply_buf(request, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
                    return
                }
                let data = try mount.fileSystem.read(handle(info), at: UInt64(offset), count: size)
                mount.metrics.read(data.count)
                data.withUnsafeBytes { _ = fuse_reply_buf(request, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
            }
        }
        ops.write = { request, rawInode, buffer, size, offset, info in
            let inode = Ino(rawInode)
            reply(request, .write) { mount throws(Errno) in
                if KernelChannel.currentRequestClearsSetID, try mount.fileSystem.clearSetIDForWrite(handle(info)) {
                    mount.invalidateAttributes(inode)
                }
                // libfuse's request buffer, not a copy of it: the writer copies what it keeps
                // before returning, once, on its way to a block.
                let bytes = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: buffer!), count: size, deallocator: .none)
                let written = try mount.fileSystem.write(handle(info), at: UInt64(offset), bytes)
                mount.metrics.wrote(written)
                fuse_reply_write(request, written)
            }
        }
        ops.flush = { request, rawInode, info in
            reply(request, .flush) { mount throws(Errno) in
                // `.stats` has nothing to flush, and a close must not fail on it.
                if Ino(rawInode) != StatsFile.inode { try mount.fileSystem.flush(handle(info)) }
                fuse_reply_err(request, 0)
            }
        }
        ops.fsync = { request, rawInode, _, info in
            reply(request, .fsync) { mount throws(Errno) in
                if Ino(rawInode) != StatsFile.inode { try mount.fileSystem.fsync(handle(info)) }
                fuse_reply_err(request, 0)
            }
        }
        ops.release = { request, rawInode, info in
            reply(request, .release) { mount throws(Errno) in
                if Ino(rawInode) == StatsFile.inode {
                    mount.stats.release(info!.pointee.fh)
                    fuse_reply_err(request, 0)
                    return
                }
                try mount.fileSystem.release(handle(info))
                fuse_reply_err(request, 0)
            }
        }
        ops.fallocate = { request, _, mode, offset, length, info in
            reply(request, .fallocate) { mount throws(Errno) in
                try mount.fileSystem.fallocate(handle(info), mode: mode, offset: UInt64(offset), length: UInt64(length))
                fuse_reply_err(request, 0)
            }
        }
        ops.copy_file_range = { request, _, sourceOffset, sourceInfo, _, destinationOffset, destinationInfo, length, _ in
            reply(request, .copy_file_range) { mount throws(Errno) in
                let copied = try mount.fileSystem.copyRange(
                    from: handle(sourceInfo), at: UInt64(sourceOffset), to: handle(destinationInfo), at: UInt64(destinationOffset), length: UInt64(length))
                fuse_reply_write(request, Int(copied))
            }
        }
        ops.opendir = { request, rawInode, info in
            let inode = Ino(rawInode)
            reply(request, .opendir) { mount throws(Errno) in
                let handle = try mount.fileSystem.opendir(inode)
                info!.pointee.fh = handle.rawValue
                fuse_reply_open(request, info)
                mount.fileSystem.readAhead(handle, from: 0)
            }
        }
        ops.readdir = { request, _, size, offset, info in
            reply(request, .readdir) { mount throws(Errno) in try directoryPage(request, mount, handle(info), size: size, offset: offset, plus: false) }
        }
        ops.readdirplus = { request, _, size, offset, info in
            reply(request, .readdirplus) { mount throws(Errno) in try directoryPage(request, mount, handle(info), size: size, offset: offset, plus: true) }
        }
        ops.releasedir = { request, _, info in
            FuseMount.from(request).fileSystem.releasedir(handle(info))
            fuse_reply_err(request, 0)
        }
        ops.fsyncdir = { request, _, _, _ in fuse_reply_err(request, 0) }
        ops.statfs = { request, _ in
            reply(request, .statfs) { mount throws(Errno) in
                let statistics = try mount.fileSystem.statfs()
                var result = statvfs()
                result.f_bsize = 4096
                result.f_frsize = 4096
                result.f_blocks = fsblkcnt_t(statistics.totalSpace / 4096)
                result.f_bfree = fsblkcnt_t(statistics.availableSpace / 4096)
                result.f_bavail = result.f_bfree
                result.f_files = fsfilcnt_t(statistics.usedInodes + statistics.availableInodes)
                result.f_ffree = fsfilcnt_t(statistics.availableInodes)
                result.f_favail = result.f_ffree
                result.f_namemax = 255
                fuse_reply_statfs(request, &result)
            }
        }
        ops.setxattr = { request, rawInode, name, value, size, flags in
            let inode = Ino(rawInode)
            reply(request, .setxattr) { mount throws(Errno) in
                guard inode != StatsFile.inode else { throw .notPermitted }
                let bytes = size == 0 ? [] : Array(UnsafeRawBufferPointer(start: value, count: size))
                try mount.fileSystem.setxattr(inode, name: String(cString: name!), value: bytes, flags: XattrFlags(rawValue: flags))
                fuse_reply_err(request, 0)
            }
        }
        ops.getxattr = { request, rawInode, name, size in
            let inode = Ino(rawInode)
            reply(request, .getxattr) { mount throws(Errno) in
                guard inode != StatsFile.inode else { throw .noData }
                try sized(request, try mount.fileSystem.getxattr(inode, name: String(cString: name!)), size)
            }
        }
        ops.listxattr = { request, rawInode, size in
            let inode = Ino(rawInode)
            reply(request, .listxattr) { mount throws(Errno) in
                let names = inode == StatsFile.inode ? [] : try mount.fileSystem.listxattr(inode)
                try sized(request, names.flatMap { Array($0.utf8) + [0] }, size)
            }
        }
        ops.removexattr = { request, rawInode, name in
            let inode = Ino(rawInode)
            reply(request, .removexattr) { mount throws(Errno) in
                guard inode != StatsFile.inode else { throw .notPermitted }
                try mount.fileSystem.removexattr(inode, name: String(cString: name!))
                fuse_reply_err(request, 0)
            }
        }
        return ops
    }()

    // MARK: - Encoding

    /// Runs a request's handler, timed as `operation`; a thrown errno becomes the error reply.
    private static func reply(_ request: fuse_req_t?, _ operation: FuseMetrics.Operation, _ body: (FuseMount) throws(Errno) -> Void) {
        let mount = FuseMount.from(request)
        let started = DispatchTime.now().uptimeNanoseconds
        var failed = false
        do {
            try body(mount)
        } catch {
            failed = true
            fuse_reply_err(request, error.rawValue)
        }
        mount.metrics.record(operation, nanoseconds: DispatchTime.now().uptimeNanoseconds - started, failed: failed)
    }

    private static func bytes(_ name: UnsafePointer<CChar>?) -> [UInt8] {
        guard let name else { return [] }
        return Array(UnsafeRawBufferPointer(start: name, count: strlen(name)))
    }

    private static func caller(_ request: fuse_req_t?) -> VolumeFileSystem.Caller {
        let context = fuse_req_ctx(request)!.pointee
        return VolumeFileSystem.Caller(uid: context.uid, gid: context.gid, umask: UInt16(context.umask & 0o7777))
    }

    /// The handle an open or opendir reply stored in the request's file info.
    static func handle(_ info: UnsafeMutablePointer<fuse_file_info>?) -> FileHandleID {
        FileHandleID(rawValue: info!.pointee.fh)
    }

    static func stat(_ attr: Attr, inode: Ino) -> stat {
        var status = Glibc.stat()
        status.st_ino = UInt(inode.rawValue)
        status.st_mode = attr.statMode
        status.st_nlink = UInt(attr.nlink)
        status.st_uid = attr.uid
        status.st_gid = attr.gid
        status.st_rdev = UInt(attr.rdev)
        status.st_size = Int(attr.length)
        status.st_blksize = 1 << 16
        status.st_blocks = Int((attr.length + 511) / 512)
        status.st_atim = timespec(tv_sec: Int(attr.atime.seconds), tv_nsec: Int(attr.atime.nanoseconds))
        status.st_mtim = timespec(tv_sec: Int(attr.mtime.seconds), tv_nsec: Int(attr.mtime.nanoseconds))
        status.st_ctim = timespec(tv_sec: Int(attr.ctime.seconds), tv_nsec: Int(attr.ctime.nanoseconds))
        return status
    }

    private static func nodeType(_ mode: mode_t) -> NodeType? {
        switch mode & S_IFMT {
        case S_IFREG, 0: .regular
        case S_IFIFO: .fifo
        case S_IFSOCK: .socket
        case S_IFCHR: .charDevice
        case S_IFBLK: .blockDevice
        default: nil
        }
    }

    private static func changes(_ values: Glibc.stat, _ fields: Int32) -> AttrChanges {
        var changes = AttrChanges()
        if fields & FUSE_SET_ATTR_MODE != 0 { changes.mode = UInt16(values.st_mode & 0o7777) }
        if fields & FUSE_SET_ATTR_UID != 0 { changes.uid = values.st_uid }
        if fields & FUSE_SET_ATTR_GID != 0 { changes.gid = values.st_gid }
        if fields & FUSE_SET_ATTR_SIZE != 0 { changes.size = UInt64(values.st_size) }
        if fields & FUSE_SET_ATTR_ATIME_NOW != 0 {
            changes.atime = .now
        } else if fields & FUSE_SET_ATTR_ATIME != 0 {
            changes.atime = .set(Timestamp(seconds: Int64(values.st_atim.tv_sec), nanoseconds: UInt32(values.st_atim.tv_nsec)))
        }
        if fields & FUSE_SET_ATTR_MTIME_NOW != 0 {
            changes.mtime = .now
        } else if fields & FUSE_SET_ATTR_MTIME != 0 {
            changes.mtime = .set(Timestamp(seconds: Int64(values.st_mtim.tv_sec), nanoseconds: UInt32(values.st_mtim.tv_nsec)))
        }
        return changes
    }

    /// getxattr/listxattr: the size when asked for it, ERANGE when the buffer is too small.
    private static func sized(_ request: fuse_req_t?, _ value: [UInt8], _ size: Int) throws(Errno) {
        if size == 0 {
            fuse_reply_xattr(request, value.count)
        } else if value.count > size {
            throw .outOfRange
        } else {
            value.withUnsafeBytes { _ = fuse_reply_buf(request, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        }
    }

    /// One page of entries. A readdirplus entry with attributes gives the kernel a reference
    /// (as a lookup does), except `.` and `..`; the references of a page are counted at once.
    private static func directoryPage(_ request: fuse_req_t?, _ mount: FuseMount, _ handle: FileHandleID, size: Int, offset: Int, plus: Bool) throws(Errno) {
        var buffer = [CChar](repeating: 0, count: size)
        var name = [CChar](repeating: 0, count: 256)
        var referenced: [Ino] = []
        var used = 0
        var index = offset
        for entry in try mount.fileSystem.readdir(handle, offset: offset) {
            let count = min(entry.name.count, name.count - 1)
            for position in 0..<count { name[position] = CChar(bitPattern: entry.name[position]) }
            name[count] = 0
            let referencing = plus && entry.attr != nil && entry.name != dot && entry.name != dotDot
            let needed: Int = buffer.withUnsafeMutableBufferPointer { target in
                let start = target.baseAddress! + used
                if plus {
                    var parameters = referencing ? mount.entry(entry.inode, entry.attr!) : fuse_entry_param()
                    if !referencing { parameters.attr = stat(entry.attr ?? placeholder(entry), inode: entry.inode) }
                    return fuse_add_direntry_plus(request, start, size - used, name, &parameters, off_t(index + 1))
                }
                var status = stat(entry.attr ?? placeholder(entry), inode: entry.inode)
                return fuse_add_direntry(request, start, size - used, name, &status, off_t(index + 1))
            }
            guard used + needed <= size else { break }
            used += needed
            index += 1
            if referencing { referenced.append(entry.inode) }
        }
        mount.fileSystem.rememberEntries(referenced)
        buffer.withUnsafeBufferPointer { _ = fuse_reply_buf(request, $0.baseAddress, used) }
        mount.fileSystem.readAhead(handle, from: index)
    }

    private static let dot = Array(".".utf8)
    private static let dotDot = Array("..".utf8)

    private static func placeholder(_ entry: DirectoryEntry) -> Attr {
        Attr(type: entry.type, mode: 0, uid: 0, gid: 0, time: Timestamp(seconds: 0, nanoseconds: 0), nlink: 1, length: 0, parent: 0)
    }
}

extension FuseMount {
    /// A lookup reply with this mount's cache lifetimes.
    func entry(_ inode: Ino, _ attr: Attr) -> fuse_entry_param {
        var entry = fuse_entry_param()
        entry.ino = inode.rawValue
        entry.generation = 1
        entry.attr = FuseOperations.stat(attr, inode: inode)
        entry.attr_timeout = options.attributeTimeout
        entry.entry_timeout = attr.type == .directory ? options.directoryEntryTimeout : options.entryTimeout
        return entry
    }
}
