#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import SystemPackage

/// Path operations swift-system does not wrap, with `Errno` failures like the rest of it.
public enum FileSystem {
    /// Atomically replaces `destination` with `source` (rename(2)).
    public static func rename(_ source: FilePath, to destination: FilePath) throws(Errno) {
        try check(source.withPlatformString { s in destination.withPlatformString { d in Glibc.rename(s, d) } })
    }

    /// Creates a hard link; fails with `.fileExists` when `destination` exists, which makes
    /// it a race-free "create if absent" for a fully written file.
    public static func link(_ source: FilePath, to destination: FilePath) throws(Errno) {
        try check(source.withPlatformString { s in destination.withPlatformString { d in Glibc.link(s, d) } })
    }

    public static func unlink(_ path: FilePath) throws(Errno) {
        try check(path.withPlatformString { Glibc.unlink($0) })
    }

    public static func removeDirectory(_ path: FilePath) throws(Errno) {
        try check(path.withPlatformString { Glibc.rmdir($0) })
    }

    /// Creates `path` and any missing parents; an existing directory is not an error.
    public static func createDirectories(_ path: FilePath, permissions: FilePermissions = [.ownerReadWriteExecute, .groupReadExecute, .otherReadExecute]) throws(Errno) {
        if isDirectory(path) { return }
        var parent = path
        if parent.removeLastComponent(), !parent.isEmpty, parent != path {
            try createDirectories(parent, permissions: permissions)
        }
        let result = path.withPlatformString { Glibc.mkdir($0, permissions.rawValue) }
        if result != 0 && Errno(rawValue: errno) != .fileExists { throw Errno(rawValue: errno) }
    }

    /// `path` with every symlink resolved (realpath(3)) in the part that exists; the
    /// missing rest, which cannot hold a symlink yet, is appended as written.
    public static func resolvingSymlinks(_ path: FilePath) -> FilePath {
        var existing = path.lexicallyNormalized()
        var missing: [FilePath.Component] = []
        while !existing.removingRoot().isEmpty {
            if let resolved = existing.withPlatformString({ realpath($0, nil) }) {
                defer { free(resolved) }
                var result = FilePath(platformString: resolved)
                for component in missing.reversed() { result.append(component) }
                return result
            }
            guard let last = existing.lastComponent else { break }
            missing.append(last)
            existing.removeLastComponent()
        }
        return path.lexicallyNormalized()
    }

    /// Whether `descriptor` is a terminal (isatty(3)): progress bars redraw only there.
    public static func isTerminal(_ descriptor: FileDescriptor) -> Bool {
        isatty(descriptor.rawValue) == 1
    }

    public static func isDirectory(_ path: FilePath) -> Bool {
        var info = stat()
        return path.withPlatformString { fstatat(AT_FDCWD, $0, &info, 0) } == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Size and modification time of a path, or `nil` when it does not exist.
    public static func status(_ path: FilePath) throws(Errno) -> FileStatus? {
        var info = stat()
        if path.withPlatformString({ fstatat(AT_FDCWD, $0, &info, 0) }) != 0 {
            let error = Errno(rawValue: errno)
            if error == .noSuchFileOrDirectory || error == .notDirectory { return nil }
            throw error
        }
        return FileStatus(
            size: Int64(info.st_size),
            isDirectory: (info.st_mode & S_IFMT) == S_IFDIR,
            isRegularFile: (info.st_mode & S_IFMT) == S_IFREG,
            modificationTime: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }

    /// Names in a directory, without "." and "..", in no particular order.
    public static func directoryEntries(_ path: FilePath) throws(Errno) -> [Entry] {
        guard let stream = path.withPlatformString({ opendir($0) }) else { throw Errno(rawValue: errno) }
        defer { closedir(stream) }
        var entries: [Entry] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            entries.append(Entry(name: name, isDirectory: entry.pointee.d_type == UInt8(DT_DIR)))
        }
        return entries
    }

    /// Removes `path` and, for a directory, everything below it; symlinks are removed, never
    /// followed. A missing path is not an error.
    public static func removeTree(_ path: FilePath) throws(Errno) {
        var info = stat()
        guard path.withPlatformString({ fstatat(AT_FDCWD, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            let error = Errno(rawValue: errno)
            if error == .noSuchFileOrDirectory { return }
            throw error
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return try unlink(path) }
        for entry in try directoryEntries(path) { try removeTree(path.appending(entry.name)) }
        try removeDirectory(path)
    }

    /// The whole contents of a file, or `nil` when it does not exist.
    public static func contents(of path: FilePath) throws(Errno) -> Data? {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch {
            let error = (error as? Errno) ?? .ioError
            if error == .noSuchFileOrDirectory { return nil }
            throw error
        }
        defer { try? descriptor.close() }
        var info = stat()
        guard fstat(descriptor.rawValue, &info) == 0 else { throw Errno(rawValue: errno) }
        // One read for the length it has now, then on until the end if it grew meanwhile.
        var contents = try descriptor.read(count: Int(info.st_size), fromAbsoluteOffset: 0)
        while true {
            let more = try descriptor.read(count: 1 << 16, fromAbsoluteOffset: Int64(contents.count))
            if more.isEmpty { return contents }
            contents.append(more)
        }
    }

    /// Whether anything exists at `path` (a dangling symlink does not count).
    public static func exists(_ path: FilePath) -> Bool {
        ((try? status(path)) ?? nil) != nil
    }

    /// Replaces `path` with `data` all at once: written beside it, synced unless not
    /// `durable` (a cache's file, checked when read back), renamed over it.
    public static func write(_ data: Data, atomicallyTo path: FilePath, durable: Bool = true) throws(Errno) {
        let temporary = FilePath(path.string + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            let descriptor = try FileDescriptor.open(temporary, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite, .groupRead, .otherRead])
            do {
                try descriptor.writeAll(data)
                if durable { try descriptor.sync() }
            } catch {
                try? descriptor.close()
                throw error
            }
            try descriptor.close()
            try rename(temporary, to: path)
        } catch {
            try? unlink(temporary)
            throw (error as? Errno) ?? .ioError
        }
    }

    /// Copies a regular file's contents to `destination`, replacing it.
    public static func copyFile(_ source: FilePath, to destination: FilePath) throws(Errno) {
        let output: FileDescriptor
        do {
            output = try FileDescriptor.open(destination, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw (error as? Errno) ?? .ioError
        }
        defer { try? output.close() }
        _ = try copy(source, into: output)
    }

    /// Appends a file's contents to `output` at its position; the bytes copied.
    public static func copy(_ source: FilePath, into output: FileDescriptor) throws(Errno) -> Int64 {
        do {
            let input = try FileDescriptor.open(source, .readOnly, options: [.closeOnExec])
            defer { try? input.close() }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var copied: Int64 = 0
            while true {
                let count = try input.read(into: &buffer)
                if count == 0 { return copied }
                try output.writeAll(buffer, count: count)
                copied += Int64(count)
            }
        } catch {
            throw (error as? Errno) ?? .ioError
        }
    }

    /// Whether a descriptor someone handed over is an empty regular file open for writing:
    /// the only kind an export may fill.
    public static func isEmptyWritableFile(_ descriptor: FileDescriptor) -> Bool {
        var status = stat()
        guard fstat(descriptor.rawValue, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size == 0 else { return false }
        let flags = fcntl(descriptor.rawValue, F_GETFL)
        return flags >= 0 && (flags & O_ACCMODE == O_WRONLY || flags & O_ACCMODE == O_RDWR)
    }

    /// Bytes free for an unprivileged user on the file system holding `path` (statvfs(3)).
    public static func freeSpace(_ path: FilePath) throws(Errno) -> Int64 {
        var info = statvfs()
        guard path.withPlatformString({ statvfs($0, &info) }) == 0 else { throw Errno(rawValue: errno) }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Whether `path` is a file this process may execute (access(2) X_OK).
    public static func isExecutable(_ path: FilePath) -> Bool {
        path.withPlatformString { access($0, X_OK) } == 0 && !isDirectory(path)
    }

    private static func check(_ result: Int32) throws(Errno) {
        if result != 0 { throw Errno(rawValue: errno) }
    }
}

public struct FileStatus: Sendable, Equatable {
    public let size: Int64
    public let isDirectory: Bool
    public let isRegularFile: Bool
    /// Seconds since the epoch.
    public let modificationTime: Double
}

extension FileSystem {
    /// One name in a directory, from `directoryEntries`.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let isDirectory: Bool
    }
}
