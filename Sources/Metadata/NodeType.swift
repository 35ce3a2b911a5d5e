/// Node types with JuiceFS's numbering.
public enum NodeType: UInt8, Sendable, CaseIterable {
    case regular = 1
    case directory = 2
    case symlink = 3
    case fifo = 4
    case blockDevice = 5
    case charDevice = 6
    case socket = 7

    /// The `S_IFMT` bits of `st_mode`.
    public var modeBits: UInt32 {
        switch self {
        case .regular: 0o100000
        case .directory: 0o040000
        case .symlink: 0o120000
        case .fifo: 0o010000
        case .blockDevice: 0o060000
        case .charDevice: 0o020000
        case .socket: 0o140000
        }
    }

    /// The `type` names of `juicefs dump`.
    public var dumpName: String {
        switch self {
        case .regular: "regular"
        case .directory: "directory"
        case .symlink: "symlink"
        case .fifo: "fifo"
        case .blockDevice: "blockdev"
        case .charDevice: "chardev"
        case .socket: "socket"
        }
    }

    public init?(dumpName: String) {
        guard let type = NodeType.allCases.first(where: { $0.dumpName == dumpName }) else { return nil }
        self = type
    }
}
