import ChunkStore
import Metadata
import ObjectStorage
import SystemPackage
import VolumeModel

extension VolumeError {
    /// An object-store failure while doing `what` ("publishing the index", …).
    init(_ error: ObjectStoreError, while what: String) {
        let code: VolumeErrorCode =
            switch error.kind {
            case .notFound: .notFound
            case .accessDenied: .permissionDenied
            case .invalidArgument: .invalidParams
            case .alreadyExists, .transient, .permanent: .storageError
            }
        self.init(code, "\(what): \(error.message)", data: error.status.map { ["status": String($0)] } ?? [:])
    }

    init(_ error: MetaError, while what: String) {
        self.init(.metadataError, "\(what): \(error)")
    }

    init(_ error: Errno, while what: String) {
        self.init(.internalError, "\(what): \(error)")
    }

    /// Any failure of a layer below, classified by its type.
    init(wrapping error: any Error, while what: String) {
        switch error {
        case let error as VolumeError: self = error
        case let error as ObjectStoreError: self.init(error, while: what)
        case let error as MetaError: self.init(error, while: what)
        case let error as ChunkStoreError: self.init(.storageError, "\(what): \(error)")
        case let error as Errno: self.init(error, while: what)
        default: self.init(.internalError, "\(what): \(error)")
        }
    }
}
