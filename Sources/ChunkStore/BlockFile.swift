import Cryptography
import Foundation
import SystemBridge
import SystemPackage

/// A block on local disk: its bytes followed by a 4-byte CRC-32C, written to a temporary
/// name and renamed into place, so a reader either finds a whole, verifiable block or
/// nothing it would serve.
enum BlockFile {
    /// `bypassingPageCache` for a block that is not read back soon (see `BlockFileWriter`).
    static func write(_ data: Data, to path: FilePath, durable: Bool, bypassingPageCache: Bool = false) throws(Errno) {
        let writer = try BlockFileWriter(
            directory: path.removingLastComponent().string, stem: path.lastComponent?.string ?? "block", bypassingPageCache: bypassingPageCache)
        try writer.append(data)
        try writer.finish(at: path, durable: durable)
    }

    /// Exactly `count` bytes at `offset` of an open block file or log segment (pread(2));
    /// `nil` when the file is shorter.
    static func read(_ descriptor: FileDescriptor, at offset: Int64, count: Int) -> Data? {
        guard let data = try? descriptor.read(count: count, fromAbsoluteOffset: offset), data.count == count else { return nil }
        return data
    }

    /// Makes a block file written without `durable` reach stable storage; `false` when it
    /// is no longer there.
    static func sync(_ path: FilePath) throws(Errno) -> Bool {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly)
        } catch let error as Errno where error == .noSuchFileOrDirectory {
            return false
        } catch {
            throw (error as? Errno) ?? .ioError
        }
        defer { try? descriptor.close() }
        try descriptor.sync()
        return true
    }

    /// The block's bytes, or `nil` when the file is missing, of the wrong size or fails its
    /// checksum (a torn or corrupted file, which the caller drops).
    static func read(_ path: FilePath, expectedSize: Int) -> Data? {
        guard let contents = (try? FileSystem.contents(of: path)) ?? nil, contents.count == expectedSize + 4 else { return nil }
        let data = contents.prefix(expectedSize)
        let stored = contents.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard CRC32C.checksum(data) == stored else { return nil }
        return Data(data)
    }
}
