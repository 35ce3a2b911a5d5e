import ArgumentParser
import VolumeModel

struct UnmountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a volume.",
        discussion: """
            A writable mount with changes since its last version is refused unless --abandon \
            discards them (commit or finalize to keep them). Committed versions are never affected.
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The mount.") var mountPath: String
    @Flag(help: "Discard uncommitted changes and the working copy.") var abandon = false

    func run() async throws {
        let status = try await Failure.reporting { () async throws(VolumeError) in
            try await daemon.client.unmount(RPCParams.MountPath(mountPath: mountPath, abandon: abandon))
        }
        Terminal.line("unmounted \(status.volume) from \(status.mountPath)\(abandon ? " (uncommitted changes discarded)" : "")")
    }
}
