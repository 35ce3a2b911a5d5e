import Foundation

/// Seals the slices of open files that stopped being written (after `idle`, or once older
/// than `maxAge`), from a thread of its own: a writer that is not flushed still gets its
/// data committed. It holds writers weakly, so a closed file's writer goes with its handle.
final class IdleSealer: @unchecked Sendable {
    private let idle: Duration
    private let maxAge: Duration
    private let lock = NSLock()
    private var writers: [ObjectIdentifier: WeakWriter] = [:]
    private var stopped = false

    private struct WeakWriter {
        weak var writer: FileWriter?
    }

    init(idle: Duration, maxAge: Duration = .seconds(5)) {
        self.idle = idle
        self.maxAge = maxAge
        let thread = Thread { [weak self] in
            // Holds the sealer only while sealing, so that a stopped one goes with its store.
            while let sealer = self, sealer.sealIdleWriters() { Thread.sleep(forTimeInterval: 0.1) }
        }
        thread.name = "volumed-seal"
        thread.start()
    }

    func watch(_ writer: FileWriter) {
        lock.withLock { writers[ObjectIdentifier(writer)] = WeakWriter(writer: writer) }
    }

    func stop() {
        lock.withLock { stopped = true }
    }

    /// One pass; `false` once stopped.
    private func sealIdleWriters() -> Bool {
        guard let live = lock.withLock({ () -> [FileWriter]? in
            guard !stopped else { return nil }
            writers = writers.filter { $0.value.writer != nil }
            return writers.values.compactMap(\.writer)
        }) else { return false }
        for writer in live { writer.sealIdle(idle: idle, maxAge: maxAge) }
        return true
    }
}
