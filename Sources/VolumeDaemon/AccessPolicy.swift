import Foundation
import SystemBridge
import SystemPackage
import VolumeModel
import Volumes

/// Who may call the daemon, what a caller may manage, and where mounts may go.
struct AccessPolicy: Sendable {
    let allowedUIDs: Set<UInt32>
    let allowedGIDs: Set<UInt32>
    /// The user the daemon runs as, which manages every mount as root does.
    let daemonUID = getuid()
    /// The mount root with symlinks resolved.
    let mountRoot: FilePath

    init(configuration: DaemonConfiguration, socketGroup: UInt32?) {
        allowedUIDs = Set(configuration.allowedUIDs + [0, getuid()])
        allowedGIDs = Set(configuration.allowedGIDs + (socketGroup.map { [$0] } ?? []))
        mountRoot = FileSystem.resolvingSymlinks(configuration.mountRoot)
    }

    /// The caller on the other end of a connection, supplementary groups included.
    static func caller(pid: Int32, uid: UInt32, gid: UInt32) -> Caller {
        Caller(uid: uid, gid: gid, groups: supplementaryGroups(of: pid))
    }

    /// Root, the daemon's own user, allowed users, and members (primary or supplementary)
    /// of an allowed group.
    func admits(_ caller: Caller) -> Bool {
        allowedUIDs.contains(caller.uid) || allowedGIDs.contains(caller.gid) || !caller.groups.isDisjoint(with: allowedGIDs)
    }

    /// Refuses a caller other than root and the daemon's user, for what reaches past one's own
    /// files: a directory of the daemon's choosing, a version's whole namespace.
    func requireAdministrator(_ caller: Caller, to verb: String) throws(VolumeError) {
        guard caller.uid != 0, caller.uid != daemonUID else { return }
        throw VolumeError(.permissionDenied, "\(caller) may not \(verb): only root and the daemon's user may")
    }

    /// Refuses a caller other than the mount's owner, root and the daemon's user: a mount's
    /// working copy and its lifecycle are its maker's.
    func requireManager(_ caller: Caller, ofMountAt path: String, ownedBy owner: UInt32?, to verb: String) throws(VolumeError) {
        guard caller.uid != 0, caller.uid != daemonUID, owner != caller.uid else { return }
        throw VolumeError(
            .permissionDenied,
            "\(caller) may not \(verb) \(path): it belongs to \(owner.map { "uid \($0)" } ?? "the daemon's user"); only its owner, root and the daemon's user may",
            data: ["mount_path": path])
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
        return Set(line.dropFirst("Groups:".count).split(whereSeparator: \.isWhitespace).compactMap { UInt32($0) })
    }
}
