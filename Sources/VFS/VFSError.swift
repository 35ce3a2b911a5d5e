import ChunkStore
import Metadata
import SystemPackage

extension Errno {
    /// The errno a file system call returns for a failure from a layer below.
    init(_ error: any Error) {
        switch error {
        case let error as MetaError: self = error.errno
        case let error as ChunkStoreError: self = error.errno
        case let error as Errno: self = error
        default: self = .ioError
        }
    }
}
