import ArgumentParser
import SystemBridge
import SystemPackage
import VolumeModel

struct ForkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fork", abstract: "Branch a live mount (snapshot now) or a committed version, without copying data.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A mount path, or a VOLUME (descriptor file, - or locator URI).") var source: String
    @Option(help: "The branch's name (else generated).") var name: String?
    @Option(name: .customLong("as"), help: "rw for a new writable line, ro for a sibling version.") var access: VolumeDescriptor.Access = .rw

    func run() async throws {
        let display = ProgressDisplay()
        let branch = try await Failure.reporting { () async throws(VolumeError) in
            var request = RPCParams.Fork(name: name, access: access)
            // A mount is a directory; a descriptor is a file, stdin or a locator.
            if FileSystem.isDirectory(FilePath(source)) {
                request.mountPath = source
            } else {
                request.volume = try await VolumeArgument.resolve(source, with: daemon.client)
            }
            defer { display.finish() }
            return try await daemon.client.fork(request, progress: display.update)
        }
        Terminal.json(branch)
    }
}
