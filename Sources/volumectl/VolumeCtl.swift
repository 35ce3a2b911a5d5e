import ArgumentParser

struct VolumeCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volumectl",
        abstract: "Drive volumed: versioned, forkable POSIX volumes on object storage.",
        subcommands: [StorageCommand.self])
}
