import Foundation
import SystemPackage

/// Fresh temporary directories for tests, under `$TMPDIR` (which `scripts/test.sh` points
/// at a directory it removes after the run). Names stay short: Unix socket paths inside
/// them must fit in 107 bytes.
public enum Scratch {
    public static func directory(_ label: String = "test") throws -> FilePath {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("volumed-\(label)-\(UUID().uuidString.prefix(13))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return FilePath(path)
    }
}
