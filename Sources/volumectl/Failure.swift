import ArgumentParser
import VolumeModel

/// How a failed request ends the process: the message on stderr, and an exit status a
/// script can branch on.
enum Failure {
    static let exitCodeTable = """
        0 success; 1 the operation failed (storage, drain, integrity, internal); \
        2 not found or not mounted; 3 conflict (already mounted, busy, not writable, not empty, \
        uncommitted changes, unchanged); 64 invalid arguments or params; 69 volumed unreachable; \
        77 permission denied.
        """

    static func exitCode(for error: VolumeError) -> ExitCode {
        if error.data["socket"] != nil { return ExitCode(69) }
        switch error.code {
        case .parseError, .invalidRequest, .invalidParams, .methodNotFound: return ExitCode(64)
        case .notFound, .notMounted: return ExitCode(2)
        case .alreadyMounted, .notWritable, .notEmpty, .uncommittedChanges, .unchanged, .busy: return ExitCode(3)
        case .permissionDenied: return ExitCode(77)
        default: return ExitCode(1)
        }
    }

    /// Runs a request, turning its failure into the message and exit status above.
    static func reporting<Value>(_ body: () async throws(VolumeError) -> Value) async throws -> Value {
        do {
            return try await body()
        } catch {
            Terminal.error("\(error.message) [\(error.code.name)]")
            throw exitCode(for: error)
        }
    }
}
