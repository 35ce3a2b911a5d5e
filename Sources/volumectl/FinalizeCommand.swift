import ArgumentParser
import VolumeModel

struct FinalizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finalize", abstract: "Commit the mount and unmount it; prints the read-only version.")

    @OptionGroup var version: VersionOptions

    func run() async throws {
        try await version.publish(finalizing: true)
    }
}
