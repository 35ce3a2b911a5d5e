import Foundation
import Metadata
import SystemBridge
import SystemPackage
import TestSupport

/// The engines the behavioural suite runs against, each formatted fresh.
enum EngineKind: String, CaseIterable, CustomStringConvertible {
    case sqlite
    case redis
    /// SQLite as a mount runs it, its writes grouped until persisted.
    case groupedSQLite

    /// The store kinds (what juicefs reads).
    static var allCases: [EngineKind] { [.sqlite, .redis] }
    /// Every way the daemon opens a store: the POSIX rules must hold in each.
    static let allConfigurations: [EngineKind] = [.sqlite, .groupedSQLite, .redis]

    var description: String { rawValue }

    func makeFormatted(name: String = "testvol") throws -> any MetaEngine {
        let engine = try make()
        try engine.format(VolumeFormat(name: name, storage: "file", bucket: "/tmp/volumed-unused-bucket/"))
        return engine
    }

    func make() throws -> any MetaEngine {
        try NamespaceEngine.open(try MetaLocation(url: try freshURL()), persistWithin: self == .groupedSQLite ? NamespaceEngine.mountPersistWindow : nil)
    }

    /// A meta URL of an empty store of this kind, which juicefs accepts too.
    func freshURL() throws -> String {
        switch self {
        case .sqlite, .groupedSQLite: "sqlite3://\(try Scratch.directory("meta").appending("meta.db"))"
        case .redis: try RedisTestDatabase.url()
        }
    }
}

extension Array where Element == UInt8 {
    init(_ text: String) { self = Array(text.utf8) }
}

let me = Owner(uid: 1000, gid: 1000)

/// Runs `body` and returns the errno it failed with, or nil when it succeeded.
func errno(of body: () throws -> Void) -> Errno? {
    do {
        try body()
        return nil
    } catch let error as MetaError {
        return error.errno
    } catch {
        return .ioError
    }
}

extension NamespaceEngine {
    /// A standalone copy of a snapshot taken now, at `path`, for a test to reopen.
    func snapshotCopy(at path: FilePath) throws {
        let (snapshot, _) = try takeSnapshot(scratchFile: FilePath(path.string + ".scratch"))
        defer { snapshot.release() }
        try FileSystem.copyFile(snapshot.file, to: path)
    }
}
