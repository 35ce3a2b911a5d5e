import Foundation
import SystemBridge
import SystemPackage

/// A block on local disk: its bytes followed by a 4-byte CRC-32, written to a temporary
/// name and renamed into place, so a reader either finds a whole, verifiable block or
/// nothing it would serve.
enum BlockFile {
    static func write(_ data: Data, to path: FilePath, durable: Bool) throws(Errno) {
        let temporary = FilePath(path.string + ".tmp-\(UInt32.random(in: .min ... .max))")
        var contents = data
        let crc = data.withUnsafeBytes { CRC32.checksum($0) }
        withUnsafeBytes(of: crc.bigEndian) { contents.append(contentsOf: $0) }
        do {
            let descriptor = try FileDescriptor.open(temporary, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
            do {
                _ = try contents.withUnsafeBytes { try descriptor.writeAll($0) }
                if durable { try descriptor.sync() }
                try descriptor.close()
            } catch {
                try? descriptor.close()
                throw error
            }
            try FileSystem.rename(temporary, to: path)
        } catch {
            try? FileSystem.unlink(temporary)
            throw (error as? Errno) ?? .ioError
        }
    }

    /// The block's bytes, or `nil` when the file is missing, of the wrong size or fails its
    /// checksum (a torn or corrupted file, which the caller drops).
    static func read(_ path: FilePath, expectedSize: Int) -> Data? {
        guard let contents = FileManager.default.contents(atPath: path.string), contents.count == expectedSize + 4 else { return nil }
        let data = contents.prefix(expectedSize)
        let stored = contents.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard data.withUnsafeBytes({ CRC32.checksum($0) }) == stored else { return nil }
        return Data(data)
    }
}
