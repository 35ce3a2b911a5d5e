import Foundation
import SystemBridge
import SystemPackage
import VolumeModel

/// Who may call the daemon and where mounts may go.
struct AccessPolicy: Sendable {
    let allowedUIDs: Set<UInt32>
    let allowedGIDs: Set<UInt32>
    /// The mount root with symlinks resolved.
    let mountRoot: FilePath

    init(configuration: DaemonConfiguration, socketGroup: UInt32?) {
        allowedUIDs = Set(configuration.allowedUIDs + [0, getuid()])
        allowedGIDs = Set(configuration.allowedGIDs + (socketGroup.map { [$0] } ?? []))
        mountRoot = FileSystem.resolvingSymlinks(configuration.mountRoot)
    }

    /// Root, the daemon's own user, allowed users, and members (primary or supplementary)
    /// of an allowed group.
    func admits(pid: Int32, uid: UInt32, gid: UInt32) -> Bool {
        if allowedUIDs.contains(uid) || allowedGIDs.contains(gid) { return true }
        return !Self.supplementaryGroups(of: pid).isDisjoint(with: allowedGIDs)
    }

    /// A mount path from a request, resolved through symlinks (of the parts that exist)
    /// and required to lie strictly under the mount root.
    func mountPath(_ text: String) throws(VolumeError) -> FilePath {
        guard text.hasPrefix("/"), !text.split(separator: "/").contains(".."), !text.contains("\0") else {
            throw VolumeError(.invalidParams, "mount path \"\(text)\" must be absolute and free of '..'", data: ["field": "mount_path"])
        }
        let resolved = FileSystem.resolvingSymlinks(FilePath(text))
        guard resolved.starts(with: mountRoot), resolved != mountRoot else {
            throw VolumeError(
                .permissionDenied, "mount path \(text) is outside the mount root \(mountRoot); mounts must go under it", data: ["mount_path": text])
        }
        return resolved
    }

    private static func supplementaryGroups(of pid: Int32) -> Set<UInt32> {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") })
        else { return [] }
        return Set(line.dropFirst("Groups:".count).split(separator: " ").compactMap { UInt32($0) })
    }
}
