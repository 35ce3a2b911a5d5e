import ArgumentParser
import VolumeModel

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Publish a version's namespace in the other metadata engine (no block traffic).")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A descriptor file, - for stdin, or a locator URI.") var volume: String
    @Option(help: "sqlite or redis.") var to: MetadataStoreType

    func run() async throws {
        let display = ProgressDisplay()
        let migrated = try await Failure.reporting { () async throws(VolumeError) in
            let source = try await VolumeArgument.resolve(volume, with: daemon.client)
            defer { display.finish() }
            return try await daemon.client.migrate(RPCParams.Migrate(volume: source, to: to), progress: display.update)
        }
        Terminal.json(migrated)
    }
}
