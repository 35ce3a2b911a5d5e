import Foundation
import SystemPackage

/// Read descriptors kept open between reads of the same immutable file (a block file, a
/// block log segment).
///
/// A random read asks for a few KiB of a 4 MiB block: opening its file for each read (a
/// path built, six directories walked) and closing it again costs more than the read when
/// the page is cached. What these files hold never changes while
/// they exist, so a descriptor stays right until its file is deleted; the owner then calls
/// `forget`, so that a deleted file's space is not held. A descriptor is closed only once
/// no read uses it: a number closed under a reader could be reused by the next open.
final class OpenFiles<Key: Hashable>: @unchecked Sendable {
    private final class Entry {
        let descriptor: FileDescriptor
        var readers = 1
        /// No longer findable: closed by the last reader to check it in.
        var forgotten = false

        init(_ descriptor: FileDescriptor) {
            self.descriptor = descriptor
        }
    }

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private let capacity: Int
    /// Counts `forget` calls: a descriptor opened while one ran may be of a deleted file,
    /// and is used for its read only.
    private var forgets: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    deinit {
        for entry in entries.values { try? entry.descriptor.close() }
    }

    /// `body` run on the file's descriptor, opened by `open` unless held; `nil` when it
    /// cannot be opened.
    func withDescriptor<Result>(_ key: Key, open: () -> FileDescriptor?, _ body: (FileDescriptor) -> Result?) -> Result? {
        guard let entry = checkOut(key, open: open) else { return nil }
        defer { checkIn(entry) }
        return body(entry.descriptor)
    }

    /// The file is about to be deleted: its descriptor closes once its readers are done.
    func forget(_ key: Key) {
        let idle = lock.withLock { () -> Entry? in
            forgets += 1
            guard let entry = entries.removeValue(forKey: key) else { return nil }
            entry.forgotten = true
            return entry.readers == 0 ? entry : nil
        }
        try? idle?.descriptor.close()
    }

    private func checkOut(_ key: Key, open: () -> FileDescriptor?) -> Entry? {
        let (held, forgetsBefore) = lock.withLock { () -> (Entry?, UInt64) in
            entries[key]?.readers += 1
            return (entries[key], forgets)
        }
        if let held { return held }
        guard let descriptor = open() else { return nil }
        let opened = Entry(descriptor)
        let (entry, evicted) = lock.withLock { () -> (Entry, Entry?) in
            if let raced = entries[key] {
                raced.readers += 1
                opened.forgotten = true
                return (raced, nil)
            }
            guard forgets == forgetsBefore else {
                opened.forgotten = true
                return (opened, nil)
            }
            var evicted: Entry?
            if entries.count >= capacity, let victim = entries.first {
                entries[victim.key] = nil
                victim.value.forgotten = true
                evicted = victim.value.readers == 0 ? victim.value : nil
            }
            entries[key] = opened
            return (opened, evicted)
        }
        try? evicted?.descriptor.close()
        if entry !== opened { checkIn(opened) }
        return entry
    }

    private func checkIn(_ entry: Entry) {
        let close = lock.withLock { () -> Bool in
            entry.readers -= 1
            return entry.forgotten && entry.readers == 0
        }
        if close { try? entry.descriptor.close() }
    }
}
