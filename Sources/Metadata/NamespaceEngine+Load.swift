import SystemPackage

extension NamespaceEngine {
    /// Loads a `juicefs dump` JSON file into this engine's empty store, streaming it (see
    /// `DumpLoader`); slice ids are kept, so no block moves. `progress` receives the number
    /// of inodes loaded so far.
    public func load(from path: FilePath, progress: @escaping (Int) -> Void = { _ in }) throws(MetaError) {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly)
        } catch {
            throw MetaError((error as? Errno) ?? .ioError, "cannot open the dump \(path): \(error)")
        }
        defer { try? descriptor.close() }
        try locked { () throws(MetaError) in
            guard try store.isEmpty() else { throw MetaError(.fileExists, "load needs an empty store; \(store.location) has data") }
            try store.prepareForLoad()
            var loader = DumpLoader(store: store, descriptor: descriptor, progress: progress)
            try loader.load()
        }
        _ = try loadFormat()
    }
}
