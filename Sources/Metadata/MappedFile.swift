import Foundation
import SQLite
import SystemPackage

/// A local file's bytes, mapped rather than read: the RDB a snapshot reorders is read
/// once in file order and once in key order, and mapping lets the kernel's page cache
/// serve both without a copy in the daemon's heap.
final class MappedFile: ByteSource, @unchecked Sendable {
    let data: Data

    init(_ path: FilePath) throws(MetaError) {
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path.string), options: .alwaysMapped)
        } catch {
            throw MetaError(.ioError, "cannot map \(path): \(error)")
        }
    }

    var size: Int64 { Int64(data.count) }

    func bytes(at offset: Int64, count: Int) throws -> Data {
        let start = data.startIndex + Int(min(max(offset, 0), size))
        return data[start..<min(start + count, data.endIndex)]
    }
}
