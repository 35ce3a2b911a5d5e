import Foundation
import SystemPackage

/// Whole-buffer reads and writes of `Data` and byte arrays, so that the layers above never
/// hold a raw buffer pointer to move bytes between memory and a descriptor.
extension FileDescriptor {
    /// Writes all of `data` at the descriptor's position.
    public func writeAll(_ data: Data) throws(Errno) {
        try errno { _ = try data.withUnsafeBytes { try writeAll($0) } }
    }

    /// Writes all of `data` at `offset`, leaving the position alone.
    public func writeAll(_ data: Data, toAbsoluteOffset offset: Int64) throws(Errno) {
        try errno { _ = try data.withUnsafeBytes { try writeAll(toAbsoluteOffset: offset, $0) } }
    }

    /// Writes the first `count` bytes of `bytes` (all of them by default) at the descriptor's position.
    public func writeAll(_ bytes: [UInt8], count: Int? = nil) throws(Errno) {
        try errno { _ = try bytes.withUnsafeBytes { try writeAll(UnsafeRawBufferPointer(rebasing: $0[..<(count ?? $0.count)])) } }
    }

    /// Writes all of `bytes` at `offset`, leaving the position alone.
    public func writeAll(_ bytes: [UInt8], toAbsoluteOffset offset: Int64) throws(Errno) {
        try errno { _ = try bytes.withUnsafeBytes { try writeAll(toAbsoluteOffset: offset, $0) } }
    }

    /// Reads into `buffer` from the descriptor's position; the bytes read (0 at the end).
    public func read(into buffer: inout [UInt8]) throws(Errno) -> Int {
        try errno { try buffer.withUnsafeMutableBytes { try read(into: $0) } }
    }

    /// Up to `count` bytes at `offset`: fewer only where the file ends.
    public func read(count: Int, fromAbsoluteOffset offset: Int64) throws(Errno) -> Data {
        var data = Data(count: count)
        var filled = 0
        while filled < count {
            let got = try errno {
                try data.withUnsafeMutableBytes { raw in
                    try read(fromAbsoluteOffset: offset + Int64(filled), into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                }
            }
            if got == 0 { break }
            filled += got
        }
        if filled < count { data.removeSubrange(filled...) }
        return data
    }

    private func errno<Result>(_ body: () throws -> Result) throws(Errno) -> Result {
        do {
            return try body()
        } catch {
            throw (error as? Errno) ?? .ioError
        }
    }
}
