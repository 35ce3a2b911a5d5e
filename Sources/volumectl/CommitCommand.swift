import ArgumentParser
import VolumeModel

struct CommitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commit", abstract: "Publish the mount's current state as a new version; the mount stays writable.")

    @OptionGroup var version: VersionOptions

    func run() async throws {
        try await version.publish(finalizing: false)
    }
}
