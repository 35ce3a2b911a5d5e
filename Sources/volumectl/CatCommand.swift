import ArgumentParser
import Foundation
import VolumeModel

struct CatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat", abstract: "Print a file of a committed version on stdout, without mounting it.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A descriptor file, - for stdin, or a locator URI.") var volume: String
    @Argument(help: "A file in the version.") var path: String

    func run() async throws {
        let data = try await Failure.reporting { () async throws(VolumeError) in
            try await daemon.client.read(try await VolumeArgument.resolve(volume, with: daemon.client), path: path)
        }
        FileHandle.standardOutput.write(data)
    }
}
