import ArgumentParser

/// Runs a parsed subcommand's asynchronous `run`, which an existential would not pick.
func runAsynchronously<Command: AsyncParsableCommand>(_ command: Command) async throws {
    var command = command
    try await command.run()
}

do {
    var command = try VolumeCtl.parseAsRoot(DaemonOptions.hoistingSocketOption(CommandLine.arguments.dropFirst()))
    if let request = command as? any AsyncParsableCommand {
        try await runAsynchronously(request)
    } else {
        try command.run()
    }
} catch {
    VolumeCtl.exit(withError: error)
}
