import ArgumentParser
import SystemPackage
import VolumeClient

/// Where the daemon listens: `--socket`, else `$VOLUMED_SOCKET`, else the default path.
struct DaemonOptions: ParsableArguments {
    @Option(help: "volumed's socket (else $VOLUMED_SOCKET, else /run/volumed/volumed.sock).")
    var socket: String?

    var client: VolumeClient { VolumeClient(socket: socket.map { FilePath($0) }) }

    /// `volumectl --socket PATH COMMAND …` is how scripts spell it; the parser wants
    /// options after the subcommand, so a leading `--socket` moves behind it.
    static func hoistingSocketOption(_ arguments: ArraySlice<String>) -> [String] {
        var arguments = Array(arguments)
        var hoisted: [String] = []
        while let first = arguments.first, first == "--socket" || first.hasPrefix("--socket=") {
            let width = first == "--socket" ? min(2, arguments.count) : 1
            hoisted += arguments.prefix(width)
            arguments.removeFirst(width)
        }
        guard !hoisted.isEmpty, let command = arguments.first else { return arguments + hoisted }
        // `storage check` runs in-process and takes no socket.
        guard command != "storage" else { return arguments }
        let terminator = arguments.firstIndex(of: "--") ?? arguments.endIndex
        arguments.insert(contentsOf: hoisted, at: terminator)
        return arguments
    }
}
