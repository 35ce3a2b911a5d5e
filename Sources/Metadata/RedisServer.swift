import Foundation
import Redis
import SystemPackage

/// A private `redis-server` for one volume: it listens only on a Unix socket in the mount's
/// meta directory, persists to an RDB file there, refuses to evict, and is restarted
/// whenever it dies until `stop` is called.
public final class RedisServer: @unchecked Sendable {
    public let directory: FilePath
    private let executable: String
    private let databases: Int
    private let lock = NSLock()
    private var process: Process?
    private var stopping = false
    private var restartCount = 0

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
    public var processID: Int32? { lock.withLock { process?.isRunning == true ? process?.processIdentifier : nil } }

    /// Starts the server (loading `dump.rdb` when present) and waits until it answers.
    public func start() throws(MetaError) {
        guard socket.string.utf8.count < 108 else {
            throw MetaError(.fileNameTooLong, "the Redis socket path \(socket) is longer than a Unix socket allows (107 bytes)")
        }
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

    /// Saves the database and stops the server; it is not restarted.
    public func stop() throws(MetaError) {
        let running = lock.withLock { () -> Process? in
            stopping = true
            return process
        }
        guard let running, running.isRunning else { return }
        if let connection = try? RedisConnection(address: .unix(path: socket.string), timeoutSeconds: 30) {
            _ = try? connection.command("SHUTDOWN", "SAVE")
        }
        let deadline = Date().addingTimeInterval(30)
        while running.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if running.isRunning {
            running.terminate()
            running.waitUntilExit()
        }
        guard running.terminationStatus == 0 || running.terminationReason == .uncaughtSignal else {
            throw MetaError(.ioError, "redis-server in \(directory) exited with status \(running.terminationStatus); see redis.log there")
        }
    }

    private func launch() throws(MetaError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            executable, "--port", "0", "--unixsocket", socket.string, "--unixsocketperm", "700", "--dir", directory.string,
            "--dbfilename", "dump.rdb", "--save", "300 1 60 1000", "--appendonly", "no", "--maxmemory-policy", "noeviction",
            "--daemonize", "no", "--databases", String(databases), "--logfile", directory.appending("redis.log").string,
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.terminationHandler = { [weak self] exited in self?.exited(exited) }
        do {
            try process.run()
        } catch {
            throw MetaError(.noSuchFileOrDirectory, "cannot start \(executable) (install the Debian package redis-server): \(error)")
        }
        self.process = process
    }

    private func exited(_ exited: Process) {
        lock.withLock {
            guard !stopping, exited === process else { return }
            restartCount += 1
            try? launch()
        }
    }

    private func waitUntilReady() throws(MetaError) {
        let deadline = Date().addingTimeInterval(20)
        var lastError = "not started"
        while Date() < deadline {
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
