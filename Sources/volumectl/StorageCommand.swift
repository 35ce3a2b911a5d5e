import ArgumentParser

struct StorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Inspect object storage directly, without the daemon.", subcommands: [StorageCheckCommand.self])
}
