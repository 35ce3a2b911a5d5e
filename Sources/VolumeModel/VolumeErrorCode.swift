/// The stable error codes of the volume API and the daemon protocol. Numbers and names
/// never change meaning; new failures get new codes.
public enum VolumeErrorCode: Int, Codable, Sendable, CaseIterable {
    // JSON-RPC's own.
    case parseError = -32700
    case invalidRequest = -32600
    case methodNotFound = -32601
    case invalidParams = -32602
    case internalError = -32603

    // Volumes.
    case notFound = 1001
    case alreadyMounted = 1002
    case notMounted = 1003
    case notWritable = 1004
    case notEmpty = 1005
    case drainFailed = 1006
    case storageError = 1007
    case metadataError = 1008
    case permissionDenied = 1009
    case uncommittedChanges = 1010
    case integrityError = 1011
    case mountFailed = 1012
    case unchanged = 1013
    case busy = 1014
    case leaseLost = 1015

    /// The snake_case name carried beside the number.
    public var name: String {
        switch self {
        case .parseError: "parse_error"
        case .invalidRequest: "invalid_request"
        case .methodNotFound: "method_not_found"
        case .invalidParams: "invalid_params"
        case .internalError: "internal_error"
        case .notFound: "not_found"
        case .alreadyMounted: "already_mounted"
        case .notMounted: "not_mounted"
        case .notWritable: "not_writable"
        case .notEmpty: "not_empty"
        case .drainFailed: "drain_failed"
        case .storageError: "storage_error"
        case .metadataError: "metadata_error"
        case .permissionDenied: "permission_denied"
        case .uncommittedChanges: "uncommitted_changes"
        case .integrityError: "integrity_error"
        case .mountFailed: "mount_failed"
        case .unchanged: "unchanged"
        case .busy: "busy"
        case .leaseLost: "lease_lost"
        }
    }
}
