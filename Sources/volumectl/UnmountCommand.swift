import ArgumentParser
import VolumeModel

struct UnmountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a volume.",
        discussion: """
            A writable mount with changes since its last version is refused unless --abandon \
            discards them (commit or finalize to keep them), or --keep leaves its working copy \
            for `volumectl recover`. Committed versions are never affected.
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The mount.") var mountPath: String
    @Flag(help: "Discard uncommitted changes and the working copy.") var abandon = false
    @Flag(help: "Stop serving but keep the working copy, uncommitted changes included, for `volumectl recover`.") var keep = false

    func run() async throws {
        let status = try await Failure.reporting { () async throws(VolumeError) in
            try await daemon.client.unmount(RPCParams.MountPath(mountPath: mountPath, abandon: abandon, keep: keep))
        }
        let note = abandon ? " (uncommitted changes discarded)" : keep ? " (working copy kept: volumectl recover \(status.mountPath))" : ""
        Terminal.line("unmounted \(status.volume) from \(status.mountPath)\(note)")
    }
}
