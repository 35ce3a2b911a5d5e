import SystemPackage

/// Buffered output of a dump file: text goes out in 1 MiB writes.
struct DumpWriter {
    private let descriptor: FileDescriptor
    private var buffer: [UInt8] = []

    init(descriptor: FileDescriptor) {
        self.descriptor = descriptor
        buffer.reserveCapacity(1 << 20)
    }

    mutating func write(_ text: String) throws(MetaError) {
        buffer += text.utf8
        if buffer.count >= 1 << 20 { try flush() }
    }

    mutating func flush() throws(MetaError) {
        do {
            try descriptor.writeAll(buffer)
        } catch {
            throw MetaError(error, "writing the dump: \(error)")
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
