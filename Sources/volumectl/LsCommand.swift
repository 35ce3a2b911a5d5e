import ArgumentParser
import Foundation
import VolumeModel

struct LsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List a directory of a committed version from its index, without mounting it.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A descriptor file, - for stdin, or a locator URI.") var volume: String
    @Argument(help: "A directory in the version.") var path = "/"
    @Flag(help: "Print the entries as JSON on stdout.") var json = false

    func run() async throws {
        let entries = try await Failure.reporting { () async throws(VolumeError) in
            try await daemon.client.list(try await VolumeArgument.resolve(volume, with: daemon.client), path: path)
        }
        if json {
            Terminal.json(entries)
            return
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        let sizeWidth = entries.map { "\($0.size)".count }.max() ?? 0
        for entry in entries {
            let size = "\(entry.size)"
            let date = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(entry.mtime)))
            Terminal.output("\(Self.modeText(entry)) \(String(repeating: " ", count: sizeWidth - size.count))\(size) \(date) \(entry.name)")
        }
    }

    /// `drwxr-xr-x` as `ls -l` spells it.
    static func modeText(_ entry: BrowseEntry) -> String {
        let kinds = ["directory": "d", "symlink": "l", "fifo": "p", "socket": "s", "char": "c", "block": "b"]
        let letters = Array("rwxrwxrwx")
        let permissions = (0..<9).map { bit in entry.mode & (1 << (8 - bit)) != 0 ? String(letters[bit]) : "-" }.joined()
        return (kinds[entry.type] ?? "-") + permissions
    }
}
