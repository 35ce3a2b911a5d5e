import ArgumentParser
import VolumeModel

/// What `commit` and `finalize` take, and the publishing they share.
struct VersionOptions: ParsableArguments {
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A writable mount.") var mountPath: String
    @Option(name: [.short, .customLong("message")], help: "What this version holds.") var message: String?

    /// Publishes a version with a progress display and prints its descriptor.
    func publish(finalizing: Bool) async throws {
        let display = ProgressDisplay()
        let request = RPCParams.Commit(mountPath: mountPath, message: message)
        let version = try await Failure.reporting { () async throws(VolumeError) in
            defer { display.finish() }
            return finalizing
                ? try await daemon.client.finalize(request, progress: display.update)
                : try await daemon.client.commit(request, progress: display.update)
        }
        Terminal.json(version)
    }
}
