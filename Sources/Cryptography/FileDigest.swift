import SystemBridge
import SystemPackage

/// A file's length and SHA-256, read in pieces so that a file of any size is hashed without
/// being loaded: an index is hashed once and the digest travels with it (its descriptor
/// promises it; S3 signs its upload with it).
public struct FileDigest: Sendable, Equatable {
    public let size: Int64
    /// Lower-case hex.
    public let sha256: String

    public init(size: Int64, sha256: String) {
        self.size = size
        self.sha256 = sha256
    }

    public static func of(_ path: FilePath) throws(Errno) -> FileDigest {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch {
            throw (error as? Errno) ?? .ioError
        }
        defer { try? descriptor.close() }
        let hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var size: Int64 = 0
        while true {
            let count = try descriptor.read(into: &buffer)
            if count == 0 { break }
            hasher.update(buffer[..<count])
            size += Int64(count)
        }
        return FileDigest(size: size, sha256: Hex.encode(hasher.finalize()))
    }
}
