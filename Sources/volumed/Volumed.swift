import ArgumentParser
import Foundation
import SystemPackage
import VolumeDaemon
import VolumeModel

@main
struct Volumed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volumed", abstract: "Serve versioned, forkable volumes to local task runners over a Unix socket.")

    @Option(help: "The JSON configuration file (see config.example.json).") var config: String?
    @Option(help: "Listen here instead of the configured socket.") var socket: String?
    @Option(name: .customLong("state-dir"), help: "Keep working copies and the default bucket here.") var stateDir: String?
    @Option(name: .customLong("cache-dir"), help: "Keep the shared block cache here.") var cacheDir: String?
    @Option(name: .customLong("log-level"), help: "debug, info, warning or error.") var logLevel: String?

    func run() throws {
        do {
            var settings = try config.map { path throws(VolumeError) in try DaemonConfiguration.load(from: FilePath(path)) } ?? DaemonConfiguration()
            var overrides: [String: Any] = [:]
            if let socket { overrides["socket"] = socket }
            if let stateDir { overrides["state_dir"] = stateDir }
            if let cacheDir { overrides["cache_dir"] = cacheDir }
            if let logLevel { overrides["log_level"] = logLevel }
            if !overrides.isEmpty {
                let flags = try DaemonConfiguration.parse(try JSONSerialization.data(withJSONObject: overrides), source: "command-line flags")
                if socket != nil { settings.socket = flags.socket }
                if stateDir != nil { settings.stateDir = flags.stateDir }
                if cacheDir != nil { settings.cacheDir = flags.cacheDir }
                if logLevel != nil { settings.logLevel = flags.logLevel }
            }
            JournalLogHandler.bootstrap(level: settings.logLevel)
            try Daemon(configuration: settings).run()
        } catch let error as VolumeError {
            FileHandle.standardError.write(Data("volumed: \(error.message)\n".utf8))
            throw ExitCode(error.code == .invalidParams ? 2 : 1)
        }
    }
}
