import Foundation
import SystemPackage
import VolumeClient
import VolumeModel

/// A real `volumed` process on a temporary socket, state directory and mount root, with
/// the test S3 server's credentials in its environment. `close()` leaves nothing behind.
public final class DaemonFixture: @unchecked Sendable {
    public let root: FilePath
    public let socket: FilePath
    public let mountRoot: FilePath
    public let configPath: FilePath
    public let environment: [String: String]
    private let logURL: URL
    private var process: Process?

    /// Runs the daemon through this command line (`/usr/bin/prlimit ... --`, say), if not empty.
    private let launcher: [String]

    /// `settings` overrides the config keys the fixture writes; `extraEnvironment` joins
    /// the daemon's environment; `launcher` starts it through another program that execs it.
    public init(settings: [String: Any] = [:], s3Bucket: Bool = false, extraEnvironment: [String: String] = [:], launcher: [String] = []) throws {
        self.launcher = launcher
        root = try Scratch.directory("daemon")
        socket = root.appending("volumed.sock")
        mountRoot = root.appending("mnt")
        configPath = root.appending("config.json")
        logURL = URL(fileURLWithPath: root.appending("volumed.log").string)
        environment = try TestStores.s3Environment().merging(["AWS_ENDPOINT_URL": try ServiceEnvironment.value("VOLUMED_TEST_S3_ENDPOINT")]) { $1 }
            .merging(extraEnvironment) { $1 }
        var config: [String: Any] = [
            "socket": socket.string, "socket_group": NSNull(), "state_dir": root.appending("state").string, "mount_root": mountRoot.string,
            "log_level": "debug", "cache_size_mb": 1024,
        ]
        if s3Bucket { config["default_bucket"] = "s3://\(try ServiceEnvironment.value("VOLUMED_TEST_S3_BUCKET"))" }
        config.merge(settings) { $1 }
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: URL(fileURLWithPath: configPath.string))
        try start()
    }

    public var client: VolumeClient { VolumeClient(socket: socket) }
    public var pid: Int32 { process?.processIdentifier ?? 0 }
    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// A fresh mount path under the mount root.
    public func mountPath(_ name: String = "m-\(UUID().uuidString.prefix(8))") -> String { mountRoot.appending(name).string }

    /// Starts `volumed` and waits until it answers `daemon.status`.
    public func start() throws {
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logURL)
        handle.seekToEndOfFile()
        let process = Process()
        let command = launcher + [BuiltProduct.path("volumed"), "--config", configPath.string]
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            guard process.isRunning else { throw Failure("volumed exited with status \(process.terminationStatus) on start:\n\(log)") }
            if (try? client.callBlocking(.daemonStatus, RPCParams.None()) as DaemonStatus) != nil { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw Failure("volumed did not answer within 30 s:\n\(log)")
    }

    /// SIGTERM, then the exit status (after at most `timeout` seconds).
    @discardableResult
    public func stop(timeout: TimeInterval = 120) throws -> Int32 {
        guard let process, process.isRunning else { return process?.terminationStatus ?? 0 }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        guard !process.isRunning else { throw Failure("volumed did not exit within \(timeout) s of SIGTERM:\n\(log)") }
        self.process = nil
        return process.terminationStatus
    }

    /// SIGKILL: the daemon dies with its mounts in place.
    public func kill() throws {
        guard let process else { return }
        try Command.check(["kill", "-KILL", "\(process.processIdentifier)"])
        process.waitUntilExit()
        self.process = nil
    }

    /// Runs the built `volumectl` against this daemon.
    public func volumectl(_ arguments: [String], input: Data? = nil) throws -> Command.Result {
        try Command.run([BuiltProduct.path("volumectl")] + arguments, environment: ["VOLUMED_SOCKET": socket.string], clean: true, input: input)
    }

    /// Stops the daemon and detaches anything still mounted under the mount root.
    public func close() {
        if let process, process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { try? kill() }
        }
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 1, fields[1].hasPrefix(mountRoot.string) { _ = try? Command.run(["umount", "-l", String(fields[1])]) }
        }
        try? FileManager.default.removeItem(atPath: root.string)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}
