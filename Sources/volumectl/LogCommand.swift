import ArgumentParser
import Foundation
import VolumeModel

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Show a version's lineage, newest first, back to the root.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A descriptor file, - for stdin, or a locator URI.") var volume: String
    @Flag(help: "Print the descriptors as a JSON array on stdout.") var json = false

    func run() async throws {
        let lineage = try await Failure.reporting { () async throws(VolumeError) in
            try await daemon.client.lineage(of: try await VolumeArgument.resolve(volume, with: daemon.client))
        }
        if json {
            Terminal.json(lineage)
            return
        }
        for version in lineage {
            let locator = version.producedBy?.locator ?? "(not committed)"
            Terminal.output("\(locator)\n  \(version.name) \(version.access.rawValue) \(version.metadataStoreType.rawValue)"
                + " \(version.inodeCount.map { "\($0) inodes" } ?? "") \(version.usedBytes.map { Terminal.byteCount($0) } ?? "")")
            if let message = version.message { Terminal.output("  \(message)") }
        }
    }
}
