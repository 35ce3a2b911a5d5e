import Cryptography
import Foundation
import SystemBridge
import SystemPackage

/// A block file written piece by piece (`BlockFile`'s format): each piece goes straight to
/// a temporary file while its checksum runs, and `finish` appends the trailer and renames
/// the file into place. A streaming writer's block is then never held in memory whole; the
/// temporary file is removed if the writer is dropped unfinished.
final class BlockFileWriter: @unchecked Sendable {
    private let temporary: FilePath
    private var descriptor: FileDescriptor?
    private var checksum: UInt32 = 0
    private(set) var count = 0
    /// Where the descriptor was taken from, if it counts against a budget.
    private let budget: DescriptorBudget?
    /// Whether whole pages go straight to the device (see `FileDescriptor.writeAll`): a
    /// block written for the cache, not read back soon.
    private let bypassesPageCache: Bool

    /// Large blocks start their writeback as soon as they are written, so a long stream
    /// never piles up dirty pages for the final fsync; small ones (small files) are left to
    /// the kernel, which writes many of them back together more cheaply.
    private static let writebackThreshold = 1 << 20

    /// Opens a new temporary file next to where the block will be: `stem` plus a random
    /// suffix, a name no block file has (a crashed run's leftovers are removed by name).
    /// `budget`, when given, has already been charged for the descriptor; it is given back
    /// when the file is closed. `bypassingPageCache` for a block that goes to the cache.
    init(directory: String, stem: String, budget: DescriptorBudget? = nil, bypassingPageCache: Bool = false) throws(Errno) {
        temporary = FilePath("\(directory)/\(stem).tmp-\(UInt32.random(in: .min ... .max))")
        self.budget = budget
        self.bypassesPageCache = bypassingPageCache
        do {
            descriptor = try FileDescriptor.open(temporary, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        } catch {
            budget?.giveBack()
            throw (error as? Errno) ?? .ioError
        }
    }

    deinit {
        guard let descriptor else { return }
        try? descriptor.close()
        budget?.giveBack()
        try? FileSystem.unlink(temporary)
    }

    func append(_ bytes: Data) throws(Errno) {
        guard let descriptor else { throw .badFileDescriptor }
        try descriptor.writeAll(bytes, toAbsoluteOffset: Int64(count), bypassingPageCache: bypassesPageCache)
        checksum = CRC32C.checksum(bytes, continuing: checksum)
        count += bytes.count
    }

    /// Appends the trailer and puts the file at `path`, synced first when `durable`.
    func finish(at path: FilePath, durable: Bool) throws(Errno) {
        guard let descriptor else { throw .badFileDescriptor }
        self.descriptor = nil
        defer { budget?.giveBack() }
        do {
            do {
                try descriptor.writeAll((0..<4).map { UInt8(truncatingIfNeeded: checksum >> (24 - 8 * $0)) }, toAbsoluteOffset: Int64(count))
                if durable {
                    try descriptor.sync()
                } else if count >= Self.writebackThreshold, !bypassesPageCache {
                    descriptor.startWriteback()
                }
            } catch {
                try? descriptor.close()
                throw error
            }
            try descriptor.close()
            try FileSystem.rename(temporary, to: path)
        } catch {
            try? FileSystem.unlink(temporary)
            throw (error as? Errno) ?? .ioError
        }
    }
}
