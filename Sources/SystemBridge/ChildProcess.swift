import CLinux
import Foundation
import Synchronization
import SystemPackage

/// A child process tied to this one's life: the kernel sends it a signal when this process
/// dies, however it dies (kill -9 included), so no private server outlives its daemon.
///
/// The parent-death signal fires when the *thread* that forked the child exits, so each
/// child is forked by a thread of its own that then waits for it: that thread lives exactly
/// as long as the child, or until the process dies. The child also starts with an empty
/// signal mask, since a daemon (or whatever started it) may block signals it then inherits.
public final class ChildProcess: Sendable {
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        public var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signalled(let signal): "killed by signal \(signal)"
            }
        }
    }

    public let processID: Int32
    private let ended = Mutex<Termination?>(nil)
    private let done = DispatchSemaphore(value: 0)

    private init(processID: Int32) {
        self.processID = processID
    }

    /// Starts `executable` (a path) with `arguments`, stdio on /dev/null; it receives
    /// `deathSignal` when this process exits. `onExit` runs once the child has been reaped.
    public static func start(
        _ executable: String, _ arguments: [String], deathSignal: Int32 = SIGTERM, onExit: @escaping @Sendable (ChildProcess) -> Void = { _ in }
    ) throws(Errno) -> ChildProcess {
        let started = Handoff()
        let thread = Thread {
            let argv = ([executable] + arguments).map { strdup($0) } + [nil]
            let pid = clinux_spawn_tied(executable, argv, deathSignal)
            let spawnError = errno
            argv.forEach { free($0) }
            guard pid > 0 else {
                started.result = .failure(Errno(rawValue: spawnError))
                started.ready.signal()
                return
            }
            let child = ChildProcess(processID: pid)
            started.result = .success(child)
            started.ready.signal()
            child.reap()
            onExit(child)
        }
        thread.name = "child \(URL(fileURLWithPath: executable).lastPathComponent)"
        thread.start()
        started.ready.wait()
        return try started.result!.get()
    }

    /// How the child ended, or `nil` while it runs.
    public var termination: Termination? { ended.withLock { $0 } }
    public var isRunning: Bool { termination == nil }

    /// Sends `signal` while the child runs (once reaped, its id may belong to another process).
    public func send(_ signal: Int32) {
        ended.withLock { if $0 == nil { _ = kill(processID, signal) } }
    }

    @discardableResult
    public func waitUntilExit() -> Termination {
        done.wait()
        done.signal()
        return termination!
    }

    /// Waits for the child's exit without reaping it, then reaps it under the same lock that
    /// `send` takes, so a signal never reaches a process that took over the id.
    private func reap() {
        var info = siginfo_t()
        while waitid(P_PID, id_t(processID), &info, WEXITED | WNOWAIT) < 0, errno == EINTR {}
        ended.withLock { ended in
            var status: Int32 = 0
            while waitpid(processID, &status, 0) < 0, errno == EINTR {}
            let signal = status & 0x7f
            ended = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        }
        done.signal()
    }

    /// The start's outcome, handed from the child's thread to the caller.
    private final class Handoff: @unchecked Sendable {
        let ready = DispatchSemaphore(value: 0)
        var result: Result<ChildProcess, Errno>?
    }
}
