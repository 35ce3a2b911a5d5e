import Foundation
import Metadata

/// The user and groups a request acts as. The daemon reads them from its socket
/// (SO_PEERCRED, and the supplementary groups in /proc); a mount records its maker's uid so
/// that only the maker manages it, and browsing a version checks modes as the kernel checks
/// a mount's.
public struct Caller: Sendable, Equatable, CustomStringConvertible {
    public let uid: UInt32
    public let gid: UInt32
    /// Supplementary groups.
    public let groups: Set<UInt32>

    public init(uid: UInt32, gid: UInt32, groups: Set<UInt32> = []) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    /// The user this process runs as: what in-process callers (tests, tools) act as.
    public static var process: Caller { Caller(uid: getuid(), gid: getgid()) }

    public var description: String { "uid \(uid)" }

    /// The kinds of access a mode grants, as its bits for "other".
    public struct Access: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let read = Access(rawValue: 0o4)
        public static let search = Access(rawValue: 0o1)
    }

    /// Whether `attr`'s mode grants `wanted`: the owner's bits to the owner, the group's to a
    /// member, the others' to the rest; root may read and search anything (volumes keep no
    /// ACLs, so the mode is the whole answer).
    func may(_ wanted: Access, _ attr: Attr) -> Bool {
        if uid == 0 { return true }
        let shift: UInt16 = attr.uid == uid ? 6 : (attr.gid == gid || groups.contains(attr.gid)) ? 3 : 0
        return (attr.mode >> shift) & wanted.rawValue == wanted.rawValue
    }
}
