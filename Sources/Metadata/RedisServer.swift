import Foundation
import Redis
import SystemBridge
import SystemPackage

/// A private `redis-server` for one volume: it listens only on a Unix socket in the mount's
/// meta directory, persists to an RDB file there, refuses to evict, and is restarted
/// whenever it dies until `stop` is called. When the process that started it dies, the
/// server gets SIGTERM, saves its RDB and exits (see `ChildLauncher`); the next `start` in
/// the same directory loads that file.
public final class RedisServer: @unchecked Sendable {
    public let directory: FilePath
    private let executable: String
    private let databases: Int
    private let lock = NSLock()
    private var process: ChildProcess?
    private var stopping = false
    private var restartCount = 0
    private var launchedAt = Date()
    private var quickFailures = 0

    /// `databases` only matters when an RDB file from a shared server is reopened here.
    public init(directory: FilePath, executable: String = "redis-server", databases: Int = 16) {
        self.directory = directory
        self.executable = executable
        self.databases = databases
    }

    public var socket: FilePath { directory.appending("redis.sock") }
    public var rdbFile: FilePath { directory.appending("dump.rdb") }
    public func address(database: Int = 0) -> RedisAddress { RedisAddress(connection: .unix(path: socket.string), database: database) }

    /// How often the server died and was started again.
    public var restarts: Int { lock.withLock { restartCount } }

    /// The server's process id while it runs.
    public var processID: Int32? { lock.withLock { process?.isRunning == true ? process?.processID : nil } }

    /// Starts the server (loading `dump.rdb` when present) and waits until it answers.
    public func start() throws(MetaError) {
        guard socket.string.utf8.count < 108 else {
            throw MetaError(.fileNameTooLong, "the Redis socket path \(socket) is longer than a Unix socket allows (107 bytes)")
        }
        Self.shutDownLeftover(socket: socket, save: true)
        lock.lock()
        stopping = false
        do {
            try launch()
        } catch {
            lock.unlock()
            throw error
        }
        lock.unlock()
        try waitUntilReady()
    }

    /// Stops a server an earlier, killed process left running in `directory` (saving its
    /// data first when `save`), so that its database can be reopened or thrown away.
    public static func shutDownLeftover(in directory: FilePath, save: Bool) {
        shutDownLeftover(socket: directory.appending("redis.sock"), save: save)
    }

    private static func shutDownLeftover(socket: FilePath, save: Bool) {
        guard let connection = try? RedisConnection(address: .unix(path: socket.string), timeoutSeconds: 30) else { return }
        _ = try? connection.command("SHUTDOWN", save ? "SAVE" : "NOSAVE")
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, (try? RedisConnection(address: .unix(path: socket.string), timeoutSeconds: 1)) != nil {
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Saves the database and stops the server; it is not restarted.
    public func stop() throws(MetaError) {
        let running = lock.withLock { () -> ChildProcess? in
            stopping = true
            return process
        }
        guard let running, running.isRunning else { return }
        if let connection = try? RedisConnection(address: .unix(path: socket.string), timeoutSeconds: 30) {
            _ = try? connection.command("SHUTDOWN", "SAVE")
        }
        let deadline = Date().addingTimeInterval(30)
        while running.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        running.send(SIGTERM)
        guard case .exited(let status) = running.waitUntilExit(), status != 0 else { return }
        throw MetaError(.ioError, "redis-server in \(directory) exited with status \(status); see redis.log there")
    }

    private func launch() throws(MetaError) {
        let arguments = [
            "--port", "0", "--unixsocket", socket.string, "--unixsocketperm", "700", "--dir", directory.string,
            "--dbfilename", "dump.rdb", "--save", "300 1 60 1000", "--appendonly", "no", "--maxmemory-policy", "noeviction",
            "--daemonize", "no", "--databases", String(databases), "--logfile", directory.appending("redis.log").string,
        ]
        do {
            process = try ChildProcess.start(try resolvedExecutable(), arguments) { [weak self] exited in self?.exited(exited) }
        } catch {
            throw MetaError(.ioError, "cannot start \(executable): \(error)")
        }
        launchedAt = Date()
    }

    /// Restarts a server that died; one that keeps dying at once is retried with backoff
    /// (up to 5 s) rather than in a tight loop.
    private func exited(_ exited: ChildProcess) {
        let delay: TimeInterval? = lock.withLock {
            guard !stopping, exited === process else { return nil }
            quickFailures = Date().timeIntervalSince(launchedAt) < 1 ? quickFailures + 1 : 0
            return quickFailures == 0 ? 0 : min(5, 0.05 * pow(2, Double(quickFailures)))
        }
        guard let delay else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in
            guard let self else { return }
            lock.withLock {
                guard !stopping, exited === process else { return }
                restartCount += 1
                try? launch()
            }
        }
    }

    private func resolvedExecutable() throws(MetaError) -> String {
        let candidates = executable.contains("/")
            ? [executable]
            : (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/\(executable)" }
        guard let found = candidates.first(where: { FileSystem.isExecutable(FilePath($0)) }) else {
            throw MetaError(.noSuchFileOrDirectory, "\(executable) not found on PATH (install the Debian package redis-server)")
        }
        return found
    }

    private func waitUntilReady() throws(MetaError) {
        let deadline = Date().addingTimeInterval(20)
        var lastError = "not started"
        while Date() < deadline {
            let (current, failures) = lock.withLock { (process, quickFailures) }
            if let process = current, !process.isRunning, failures > 2 {
                throw MetaError(.ioError, "redis-server in \(directory) keeps exiting at start (\(process.termination.map(\.description) ?? "running")); see redis.log there")
            }
            do {
                let connection = try RedisConnection(address: .unix(path: socket.string), timeoutSeconds: 2)
                if case .status("PONG") = try connection.command("PING") { return }
            } catch {
                lastError = error.description
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw MetaError(.timedOut, "redis-server in \(directory) did not answer within 20 s (\(lastError)); see redis.log there")
    }
}
