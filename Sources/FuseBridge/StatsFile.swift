import Foundation
import Metadata
import StorageFormat

/// The read-only `.stats` file in a mount's root, as juicefs mounts have one: the mount's
/// figures as `name{labels} value` lines, made when the file is opened so that one read sees
/// one moment. The engines refuse the name in the root, and listings never show it.
final class StatsFile: @unchecked Sendable {
    static let name = Array(".stats".utf8)
    /// juicefs's first internal inode number, which no engine allocates.
    static let inode = Ino(0x7FFF_FFFF_0000_0001)

    private let metrics: FuseMetrics
    private let figures: @Sendable () -> [String]
    private let lock = NSLock()
    private var contents: [UInt64: [UInt8]] = [:]
    /// Handles live in the upper half of the range, apart from the file system's.
    private var nextHandle: UInt64 = 1 << 63

    init(metrics: FuseMetrics, figures: @escaping @Sendable () -> [String]) {
        self.metrics = metrics
        self.figures = figures
    }

    /// Its attributes now: root's, mode 0444, as long as its text would be.
    var attr: Attr {
        Attr(type: .regular, mode: 0o444, uid: 0, gid: 0, time: Timestamp.now(), nlink: 1, length: UInt64(render().count), parent: .root)
    }

    /// Takes a snapshot for one open file.
    func open() -> UInt64 {
        let text = render()
        return lock.withLock {
            nextHandle += 1
            contents[nextHandle] = text
            return nextHandle
        }
    }

    func read(_ handle: UInt64, at offset: Int, count: Int) -> [UInt8] {
        lock.withLock {
            guard let text = contents[handle], offset < text.count else { return [] }
            return Array(text[offset..<min(text.count, offset + count)])
        }
    }

    func release(_ handle: UInt64) {
        _ = lock.withLock { contents.removeValue(forKey: handle) }
    }

    private func render() -> [UInt8] {
        Array(((metrics.lines + figures()).joined(separator: "\n") + "\n").utf8)
    }
}
