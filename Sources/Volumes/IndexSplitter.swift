import Foundation
import Metadata
import SystemBridge
import SystemPackage
import VolumeModel

/// Where an index file is cut into pieces. A SQLite database changes in place, page by page,
/// so pieces of a fixed number of whole pages keep every unchanged page's piece. A Redis RDB
/// is written anew by every save, and a change moves everything after it, so its cuts follow
/// its content: a rolling hash over the bytes cuts where it meets a pattern, and an unchanged
/// stretch is cut the same way wherever it moved to.
enum IndexSplitter: Sendable, Equatable {
    case fixed(size: Int)
    case contentDefined(minimum: Int, average: Int, maximum: Int)

    /// 64 KiB: sixteen SQLite pages, or an RDB piece on average. A one-file change then
    /// touches a few pieces of a million-file index, and a full fetch a few thousand GETs.
    static func forEngine(_ type: MetadataStoreType) -> IndexSplitter {
        switch type {
        case .sqlite: .fixed(size: 64 << 10)
        case .redis: .contentDefined(minimum: 16 << 10, average: 64 << 10, maximum: 256 << 10)
        }
    }

    /// Hands each piece of the snapshot's `size` bytes to `piece`, in file order. Fixed pieces
    /// are read one at a time, straight into the buffer handed on.
    func split(_ snapshot: IndexSnapshot, _ piece: (Data) throws(VolumeError) -> Void) throws(VolumeError) {
        let path = snapshot.file
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch {
            throw VolumeError(.internalError, "cannot read the index \(path): \(error)")
        }
        defer { try? descriptor.close() }
        var offset: Int64 = 0
        let read = { (count: Int) throws(VolumeError) -> Data in
            let wanted = Int(min(Int64(count), snapshot.size - offset))
            let data: Data
            do {
                data = try descriptor.read(count: wanted, fromAbsoluteOffset: offset)
            } catch {
                throw VolumeError(.internalError, "cannot read the index \(path): \(error)")
            }
            guard data.count == wanted else {
                throw VolumeError(.internalError, "the index \(path) ended at \(offset + Int64(data.count)) bytes of \(snapshot.size)")
            }
            offset += Int64(wanted)
            return data
        }
        switch self {
        case .fixed(let size):
            while offset < snapshot.size { try piece(try read(size)) }
        case .contentDefined(let minimum, let average, let maximum):
            var pending: [UInt8] = []
            var cuts = ContentCuts()
            while offset < snapshot.size {
                let bytes = [UInt8](try read(4 << 20))
                var start = 0
                for (index, byte) in bytes.enumerated() {
                    let length = pending.count + index + 1 - start
                    guard cuts.cutsAfter(byte, length: length, minimum: minimum, average: average, maximum: maximum) else { continue }
                    try piece(Data(pending + bytes[start...index]))
                    pending = []
                    start = index + 1
                }
                pending += bytes[start...]
            }
            if !pending.isEmpty { try piece(Data(pending)) }
        }
    }
}

/// The rolling hash of content-defined cuts (a gear hash, as FastCDC uses): each byte shifts
/// the hash and adds its entry from a fixed table, so the hash depends on the last 64 bytes
/// only, and a cut falls where its top bits are zero. The table is fixed for all time: every
/// machine and every release must cut the same bytes the same way.
struct ContentCuts {
    private var hash: UInt64 = 0

    private static let gear: [UInt64] = {
        var state: UInt64 = 0x766F_6C75_6D65_6400  // "volumed"
        return (0..<256).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }
    }()

    /// Whether a piece that has grown to `length` bytes, `byte` its last, ends here.
    mutating func cutsAfter(_ byte: UInt8, length: Int, minimum: Int, average: Int, maximum: Int) -> Bool {
        hash = (hash << 1) &+ Self.gear[Int(byte)]
        guard length >= minimum else { return false }
        let bits = UInt64(average.trailingZeroBitCount)
        if length >= maximum || hash >> (64 - bits) == 0 {
            hash = 0
            return true
        }
        return false
    }
}
