import ArgumentParser
import VolumeModel

struct RecoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Re-mount a mount a stopped daemon left behind and continue where it was, or --abandon it.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The left-behind mount (volumectl status shows it as stale).") var mountPath: String
    @Flag(help: "Discard its working copy instead.") var abandon = false

    func run() async throws {
        let status = try await Failure.reporting { () async throws(VolumeError) in
            try await daemon.client.recover(mountPath, abandon: abandon)
        }
        Terminal.line(abandon ? "abandoned \(status.volume) at \(status.mountPath)" : "recovered \(status.volume) at \(status.mountPath)")
    }
}
