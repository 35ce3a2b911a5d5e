import Cryptography
import Foundation
import SystemBridge
import SystemPackage
import VolumeModel

/// Index pieces this machine has fetched or published, by SHA-256, shared by every mount of
/// every version: a machine that mounted version N fetches only the pieces N+1 changed. Held
/// within `budget` bytes, the least recently used going first. A piece is checked against
/// its hash whenever it is read back, so a damaged file is fetched again, never used.
final class IndexPieceCache: @unchecked Sendable {
    let directory: FilePath
    let budget: Int64
    private let lock = NSLock()
    private var pieces: [String: (size: Int64, tick: UInt64)] = [:]
    private var bytes: Int64 = 0
    private var tick: UInt64 = 0

    init(directory: FilePath, budget: Int64) throws(VolumeError) {
        self.directory = directory
        self.budget = budget
        do {
            try FileSystem.createDirectories(directory)
            var found: [(String, Int64, Double)] = []
            for fan in try FileSystem.directoryEntries(directory) where fan.isDirectory {
                for file in try FileSystem.directoryEntries(directory.appending(fan.name)) {
                    let path = directory.appending(fan.name).appending(file.name)
                    guard file.name.utf8.count == 64, let status = try FileSystem.status(path) else {
                        try? FileSystem.unlink(path)
                        continue
                    }
                    found.append((file.name, status.size, status.modificationTime))
                }
            }
            for (name, size, _) in found.sorted(by: { $0.2 < $1.2 }) {
                tick += 1
                pieces[name] = (size, tick)
                bytes += size
            }
        } catch {
            throw VolumeError(.internalError, "cannot open the index piece cache in \(directory): \(error)")
        }
    }

    /// The piece's bytes, or `nil` when it is not here or no longer matches its hash.
    func piece(_ sha256: String) -> Data? {
        guard lock.withLock({ pieces[sha256] != nil }) else { return nil }
        guard let data = (try? FileSystem.contents(of: path(sha256))) ?? nil, Hex.encode(SHA256.hash(data)) == sha256 else {
            forget(sha256)
            return nil
        }
        lock.withLock {
            tick += 1
            pieces[sha256]?.tick = tick
        }
        return data
    }

    func contains(_ sha256: String) -> Bool { lock.withLock { pieces[sha256] != nil } }

    /// Keeps a piece whose hash the caller checked; a cache that cannot write is only slower.
    func keep(_ sha256: String, _ data: Data) {
        guard !contains(sha256) else { return }
        do {
            try FileSystem.createDirectories(directory.appending(String(sha256.prefix(2))))
            try FileSystem.write(data, atomicallyTo: path(sha256), durable: false)
        } catch {
            return
        }
        let victims = lock.withLock { () -> [String] in
            tick += 1
            if pieces.updateValue((Int64(data.count), tick), forKey: sha256) == nil { bytes += Int64(data.count) }
            guard bytes > budget else { return [] }
            var chosen: [String] = []
            for (name, entry) in pieces.sorted(by: { $0.value.tick < $1.value.tick }) where bytes > budget * 9 / 10 {
                chosen.append(name)
                pieces[name] = nil
                bytes -= entry.size
            }
            return chosen
        }
        for name in victims { try? FileSystem.unlink(path(name)) }
    }

    private func forget(_ sha256: String) {
        lock.withLock {
            if let gone = pieces.removeValue(forKey: sha256) { bytes -= gone.size }
        }
        try? FileSystem.unlink(path(sha256))
    }

    private func path(_ sha256: String) -> FilePath {
        directory.appending(String(sha256.prefix(2))).appending(sha256)
    }
}
