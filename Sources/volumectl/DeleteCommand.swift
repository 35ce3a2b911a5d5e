import ArgumentParser
import VolumeModel

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Remove versions from the catalogue (their descriptors and indexes; blocks stay for gc).",
        discussion: """
            Every VERSION is checked before any is removed: one that a live mount on any machine is \
            based on refuses the whole call. Versions forked from a deleted one keep working; their \
            log ends at it. Root and the daemon's user only.
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "Descriptor files, - for stdin, or locator URIs.") var versions: [String]

    func run() async throws {
        let deleted = try await Failure.reporting { () async throws(VolumeError) in
            var descriptors: [VolumeDescriptor] = []
            for version in versions { descriptors.append(try await VolumeArgument.resolve(version, with: daemon.client)) }
            return try await daemon.client.delete(descriptors)
        }
        for locator in deleted { Terminal.line("deleted \(locator)") }
    }
}
