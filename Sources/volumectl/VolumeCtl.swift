import ArgumentParser

struct VolumeCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volumectl",
        abstract: "Drive volumed: versioned, forkable POSIX volumes on object storage.",
        discussion: """
            VOLUME arguments are a descriptor file, - for stdin, or a version locator \
            (<bucket>/versions/<id>/volume.json). Commands that produce a volume print its \
            descriptor JSON, and only that, on stdout; everything for people goes to stderr.

            Exit status: \(Failure.exitCodeTable)
            """,
        subcommands: [
            NewCommand.self, MountCommand.self, CommitCommand.self, FinalizeCommand.self, ForkCommand.self, UnmountCommand.self,
            MigrateCommand.self, StatusCommand.self, LsCommand.self, CatCommand.self, LogCommand.self, VersionsCommand.self, DeleteCommand.self, GCCommand.self, RecoverCommand.self,
            WarmupCommand.self, StorageCommand.self, ExportMetadataCommand.self,
        ])
}
