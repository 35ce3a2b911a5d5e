import Foundation
import SystemPackage

/// A stock `juicefs mount` running in the foreground as our child.
///
/// Not `mount -d`: a daemonised grandchild inherits the descriptor Foundation's `Process`
/// watches for the child's exit, so waiting on the launcher would never return.
public final class JuiceFSMount {
    public let mountpoint: FilePath
    private let process = Process()
    private let log: FilePath

    /// `environment` adds to this process's (object-store credentials, for instance).
    public init(metaURL: String, logDirectory: FilePath, options: [String] = [], environment: [String: String] = [:]) throws {
        mountpoint = try Scratch.directory("jfs-mount")
        log = logDirectory.appending("juicefs-mount.log")
        FileManager.default.createFile(atPath: log.string, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log.string))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["juicefs", "mount", "--no-usage-report"] + options + [metaURL, mountpoint.string]
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        try process.run()
        try waitUntilMounted()
    }

    deinit {
        if process.isRunning { try? unmount() }
    }

    /// Unmounts and reaps the client; an unclean exit is an error carrying its log. A mount
    /// the kernel still holds busy (its last files' releases in flight) is retried for ten
    /// seconds, then detached: a failed unmount never leaves the test waiting for an exit.
    public func unmount() throws {
        var refusal = ""
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Self.isMountpoint(mountpoint) {
            let attempt = try Command.run(["juicefs", "umount", mountpoint.string])
            if attempt.succeeded { break }
            refusal = attempt.output
            guard Date() < deadline else {
                _ = try Command.run(["umount", "-l", mountpoint.string])
                break
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let exitDeadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < exitDeadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw failure("did not exit within 30 s of its unmount: \(refusal)")
        }
        guard process.terminationStatus == 0 else { throw failure("exited \(process.terminationStatus): \(refusal)") }
    }

    private func waitUntilMounted() throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if Self.isMountpoint(mountpoint) { return }
            guard process.isRunning else { throw failure("exited \(process.terminationStatus) before mounting") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.terminate()
        process.waitUntilExit()
        throw failure("did not mount within 30 s")
    }

    private func failure(_ what: String) -> Command.Failed {
        let output = (try? String(contentsOfFile: log.string, encoding: .utf8)) ?? ""
        return Command.Failed(arguments: process.arguments ?? [], result: .init(status: process.isRunning ? -1 : process.terminationStatus, stdout: "", stderr: "\(what)\n\(output)"))
    }

    /// True when `path` appears as a mount point in this process's mount table.
    public static func isMountpoint(_ path: FilePath) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4] == path.string
        }
    }
}
