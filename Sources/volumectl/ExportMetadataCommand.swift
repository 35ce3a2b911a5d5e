import ArgumentParser
import SystemPackage
import VolumeModel

struct ExportMetadataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-metadata",
        abstract: "Write a version's namespace as the stock juicefs client takes it.",
        discussion: """
            FILE becomes a juicefs SQLite database, which `juicefs mount --read-only \
            sqlite3://FILE DIR` serves and `juicefs fsck` checks, or with --redis-dump the JSON \
            of `juicefs dump`, which `juicefs load` puts into Redis or any other engine. The \
            blocks stay in the bucket the format names.
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A descriptor file, - for stdin, or a locator URI.") var volume: String
    @Argument(help: "The file to write (replaced).") var file: String
    @Flag(help: "Write a juicefs dump (JSON) instead of a SQLite database.") var redisDump = false

    func run() async throws {
        let display = ProgressDisplay()
        let export = try await Failure.reporting { () async throws(VolumeError) in
            let source = try await VolumeArgument.resolve(volume, with: daemon.client)
            defer { display.finish() }
            return try await daemon.client.exportMetadata(
                RPCParams.ExportMetadata(volume: source, format: redisDump ? .dump : .sqlite), to: FilePath(file), progress: display.update)
        }
        Terminal.json(export)
    }
}
