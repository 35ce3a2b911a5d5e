import ArgumentParser
import VolumeModel

struct CommitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commit", abstract: "Publish the mount's current state as a new version; the mount stays writable.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A writable mount.") var mountPath: String
    @Option(name: [.short, .customLong("message")], help: "What this version holds.") var message: String?

    func run() async throws {
        let display = ProgressDisplay()
        let version = try await Failure.reporting { () async throws(VolumeError) in
            defer { display.finish() }
            return try await daemon.client.commit(RPCParams.Commit(mountPath: mountPath, message: message), progress: display.update)
        }
        Terminal.json(version)
    }
}
