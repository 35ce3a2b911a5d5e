import Foundation
import SystemPackage

/// Fresh temporary directories for tests.
public enum Scratch {
    public static func directory(_ label: String = "test") throws -> FilePath {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("volumed-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return FilePath(path)
    }
}
