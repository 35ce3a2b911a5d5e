import ArgumentParser
import VolumeModel

struct FinalizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finalize", abstract: "Commit the mount and unmount it; prints the read-only version.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A writable mount.") var mountPath: String
    @Option(name: [.short, .customLong("message")], help: "What this version holds.") var message: String?

    func run() async throws {
        let display = ProgressDisplay()
        let version = try await Failure.reporting { () async throws(VolumeError) in
            defer { display.finish() }
            return try await daemon.client.finalize(RPCParams.Commit(mountPath: mountPath, message: message), progress: display.update)
        }
        Terminal.json(version)
    }
}
