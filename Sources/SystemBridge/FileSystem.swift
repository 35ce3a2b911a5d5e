#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
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
    public static func directoryEntries(_ path: FilePath) throws(Errno) -> [DirectoryEntry] {
        guard let stream = path.withPlatformString({ opendir($0) }) else { throw Errno(rawValue: errno) }
        defer { closedir(stream) }
        var entries: [DirectoryEntry] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            entries.append(DirectoryEntry(name: name, isDirectory: entry.pointee.d_type == UInt8(DT_DIR)))
        }
        return entries
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

public struct DirectoryEntry: Sendable, Equatable {
    public let name: String
    public let isDirectory: Bool
}
