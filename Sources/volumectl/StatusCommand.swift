import ArgumentParser
import Foundation
import VolumeModel

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the daemon's mounts (or one), including stale ones a stopped daemon left behind.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "One mount.") var mountPath: String?
    @Flag(help: "Print JSON on stdout (a daemon.status object, or one mount's status).") var json = false

    func run() async throws {
        if let mountPath {
            let status = try await Failure.reporting { () async throws(VolumeError) in try await daemon.client.status(of: mountPath) }
            if json { Terminal.json(status) } else { Terminal.output(Self.table([status])) }
            return
        }
        let status = try await Failure.reporting { () async throws(VolumeError) in try await daemon.client.daemonStatus() }
        if json {
            Terminal.json(status)
            return
        }
        Terminal.output("volumed \(status.version), pid \(status.pid), up \(Int(status.uptimeSeconds)) s, default bucket \(status.defaultBucket)")
        if let transfers = status.transfers {
            func bound(_ name: String, _ bound: TransferStatus.Bound) -> String {
                "\(name) \(bound.inFlight) of \(bound.limit.map(String.init) ?? "unbounded") running, \(bound.waiting) waiting"
            }
            Terminal.output("\(bound("uploads", transfers.uploads)); \(bound("downloads", transfers.downloads))")
        }
        Terminal.output(status.mounts.isEmpty ? "no mounts" : Self.table(status.mounts))
    }

    static func table(_ mounts: [MountStatus]) -> String {
        let header = ["VOLUME", "MOUNT PATH", "OWNER", "MODE", "STATE", "STAGED", "UPLOAD", "CACHE"]
        let rows = mounts.map { mount in
            [
                mount.volume, mount.mountPath, mount.ownerUID.map { "uid \($0)" } ?? "-", mount.mode.rawValue, mount.state.rawValue,
                "\(mount.stagedBlocks) blocks / \(Terminal.byteCount(mount.stagedBytes))",
                "\(Terminal.byteCount(Int64(mount.uploadBytesPerSecond)))/s",
                "\(Terminal.byteCount(mount.cacheBytes)) of \(Terminal.byteCount(mount.cacheBudgetBytes))",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }
}
