import CSQLite
import Foundation

/// A read-only SQLite VFS whose files are `ByteSource`s: how a read-only mount queries
/// a committed index page by page, fetching only the pieces its queries touch instead of
/// the whole file first. Files are opened `immutable`, so SQLite takes no locks and opens no
/// journal; anything but a main database is refused. The C callbacks and the raw pointers
/// SQLite hands them stay in this file.
enum SQLiteSourceVFS {
    static let name = "volumed-source"

    /// The sources of open connections, by the token in their file names.
    private static let sources = Registry()

    /// The methods of every open file, allocated once and never written after (hence the
    /// `nonisolated(unsafe)` on an immutable pointer).
    nonisolated(unsafe) private static let fileMethods: UnsafePointer<sqlite3_io_methods> = {
        let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
        methods.initialize(to: sqlite3_io_methods())
        methods.pointee.iVersion = 1
        methods.pointee.xClose = { _ in SQLITE_OK }
        methods.pointee.xRead = { file, buffer, amount, offset in
            guard let file, let buffer, let source = SQLiteSourceVFS.source(of: file) else { return ioError(1) }
            let count = Int(amount)
            let data: Data
            do {
                data = try source.bytes(at: offset, count: count)
            } catch {
                return ioError(1)  // SQLITE_IOERR_READ
            }
            let copied = min(data.count, count)
            data.copyBytes(to: buffer.assumingMemoryBound(to: UInt8.self), count: copied)
            guard copied == count else {
                (buffer + copied).initializeMemory(as: UInt8.self, repeating: 0, count: count - copied)
                return ioError(2)  // SQLITE_IOERR_SHORT_READ
            }
            return SQLITE_OK
        }
        methods.pointee.xWrite = { _, _, _, _ in SQLITE_READONLY }
        methods.pointee.xTruncate = { _, _ in SQLITE_READONLY }
        methods.pointee.xSync = { _, _ in SQLITE_OK }
        methods.pointee.xFileSize = { file, size in
            guard let file, let size, let source = SQLiteSourceVFS.source(of: file) else { return ioError(7) }  // SQLITE_IOERR_FSTAT
            size.pointee = source.size
            return SQLITE_OK
        }
        methods.pointee.xLock = { _, _ in SQLITE_OK }
        methods.pointee.xUnlock = { _, _ in SQLITE_OK }
        methods.pointee.xCheckReservedLock = { _, reserved in
            reserved?.pointee = 0
            return SQLITE_OK
        }
        methods.pointee.xFileControl = { _, _, _ in SQLITE_NOTFOUND }
        methods.pointee.xSectorSize = { _ in 4096 }
        methods.pointee.xDeviceCharacteristics = { _ in SQLITE_IOCAP_IMMUTABLE }
        return UnsafePointer(methods)
    }()

    /// Registers the VFS with SQLite on first use; SQLite keeps the pointer for the
    /// process's life.
    private static let registered: Int32 = {

        // Time, randomness and sleeping come from the platform's VFS, kept in pAppData.
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: sqlite3_vfs())
        vfs.pointee.iVersion = 2
        vfs.pointee.szOsFile = Int32(MemoryLayout<csqlite_source_file>.size)
        vfs.pointee.mxPathname = 512
        vfs.pointee.zName = UnsafePointer(strdup(name))
        vfs.pointee.pAppData = UnsafeMutableRawPointer(sqlite3_vfs_find(nil))
        vfs.pointee.xOpen = { _, path, file, flags, outFlags in
            guard let file else { return SQLITE_CANTOPEN }
            file.pointee.pMethods = nil
            guard flags & SQLITE_OPEN_MAIN_DB != 0, let path, let token = SQLiteSourceVFS.token(in: String(cString: path)),
                SQLiteSourceVFS.sources.source(token) != nil
            else { return SQLITE_CANTOPEN }
            let opened = UnsafeMutableRawPointer(file).assumingMemoryBound(to: csqlite_source_file.self)
            opened.pointee.token = token
            opened.pointee.base.pMethods = SQLiteSourceVFS.fileMethods
            outFlags?.pointee = SQLITE_OPEN_READONLY
            return SQLITE_OK
        }
        vfs.pointee.xDelete = { _, _, _ in SQLITE_READONLY }
        vfs.pointee.xAccess = { _, _, _, exists in
            exists?.pointee = 0  // no journal, no WAL: the database is all there is
            return SQLITE_OK
        }
        vfs.pointee.xFullPathname = { _, path, capacity, output in
            guard let path, let output, strlen(path) < Int(capacity) else { return SQLITE_CANTOPEN }
            strcpy(output, path)
            return SQLITE_OK
        }
        vfs.pointee.xRandomness = { vfs, count, output in platform(vfs).pointee.xRandomness(platform(vfs), count, output) }
        vfs.pointee.xSleep = { vfs, microseconds in platform(vfs).pointee.xSleep(platform(vfs), microseconds) }
        vfs.pointee.xCurrentTime = { vfs, now in platform(vfs).pointee.xCurrentTime(platform(vfs), now) }
        vfs.pointee.xGetLastError = { vfs, count, output in platform(vfs).pointee.xGetLastError(platform(vfs), count, output) }
        vfs.pointee.xCurrentTimeInt64 = { vfs, now in platform(vfs).pointee.xCurrentTimeInt64(platform(vfs), now) }
        return sqlite3_vfs_register(vfs, 0)
    }()

    /// The file name a connection opens to read `source` (as a URI, with the `vfs` and
    /// `immutable` parameters) and the token to `detach` once the connection is closed.
    static func attach(_ source: any ByteSource) throws(SQLiteError) -> (uri: String, token: UInt64) {
        guard registered == SQLITE_OK else { throw SQLiteError(code: registered, message: "cannot register the \(name) VFS") }
        let token = sources.add(source)
        return ("file:/\(name)/\(token)?vfs=\(name)&immutable=1", token)
    }

    static func detach(_ token: UInt64) { sources.remove(token) }

    private static func token(in path: String) -> UInt64? {
        guard path.hasPrefix("/\(name)/") else { return nil }
        return UInt64(path.dropFirst(name.utf8.count + 2))
    }

    private static func source(of file: UnsafeMutablePointer<sqlite3_file>) -> (any ByteSource)? {
        sources.source(UnsafeMutableRawPointer(file).assumingMemoryBound(to: csqlite_source_file.self).pointee.token)
    }

    private static func platform(_ vfs: UnsafeMutablePointer<sqlite3_vfs>?) -> UnsafeMutablePointer<sqlite3_vfs> {
        vfs!.pointee.pAppData.assumingMemoryBound(to: sqlite3_vfs.self)
    }

    /// SQLITE_IOERR with an extended code (SQLite's macros are casts Swift cannot import).
    private static func ioError(_ extended: Int32) -> Int32 { SQLITE_IOERR | (extended << 8) }

    private final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var sources: [UInt64: any ByteSource] = [:]
        private var next: UInt64 = 0

        func add(_ source: any ByteSource) -> UInt64 {
            lock.withLock {
                next += 1
                sources[next] = source
                return next
            }
        }

        func remove(_ token: UInt64) { _ = lock.withLock { sources.removeValue(forKey: token) } }

        func source(_ token: UInt64) -> (any ByteSource)? { lock.withLock { sources[token] } }
    }
}
