import ArgumentParser
import VolumeModel

struct MountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount", abstract: "Mount a volume; returns once the mount is ready.",
        discussion: "Durations take a unit (250ms, 30s, 5m, 1h) or are seconds.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A descriptor file, - for stdin, or a locator URI.") var volume: String
    @Argument(help: "Where to mount (under the daemon's mount root).") var mountPath: String
    @Flag(name: .customLong("read-only"), help: "Mount read-only (required for ro versions).") var readOnly = false
    @Flag(name: .customLong("no-writeback"), help: "Upload each block before write/fsync returns.") var noWriteback = false
    @Option(name: .customLong("upload-delay"), help: "Keep written blocks local this long before uploading.") var uploadDelay: String?
    @Option(name: .customLong("max-uploads"), help: "Concurrent block uploads (else the daemon's default).") var maxUploads: Int?
    @Option(name: .customLong("attr-cache"), help: "Kernel attribute cache lifetime.") var attrCache: String?
    @Option(name: .customLong("entry-cache"), help: "Kernel entry cache lifetime.") var entryCache: String?
    @Option(name: .customLong("dir-entry-cache"), help: "Kernel directory entry cache lifetime.") var dirEntryCache: String?
    @Option(name: .customLong("metadata-url"), help: "redis://host:port/db (rediss:// for TLS): keep a Redis volume's namespace in this allowed Redis.")
    var metadataURL: String?

    func run() async throws {
        var options = MountOptions(writeback: !noWriteback, uploadDelay: uploadDelay, maxUploads: maxUploads, readOnly: readOnly, metadataURL: metadataURL)
        let display = ProgressDisplay()
        let status = try await Failure.reporting { () async throws(VolumeError) in
            options.attrCache = try Self.seconds(attrCache, "--attr-cache") ?? options.attrCache
            options.entryCache = try Self.seconds(entryCache, "--entry-cache") ?? options.entryCache
            options.dirEntryCache = try Self.seconds(dirEntryCache, "--dir-entry-cache") ?? options.dirEntryCache
            let descriptor = try await VolumeArgument.resolve(volume, with: daemon.client)
            let request = RPCParams.Mount(volume: descriptor, mountPath: mountPath, options: options)
            defer { display.finish() }
            return try await daemon.client.mount(request, progress: display.update)
        }
        Terminal.line("mounted \(status.volume) at \(status.mountPath) (\(status.mode.rawValue))")
    }

    private static func seconds(_ text: String?, _ option: String) throws(VolumeError) -> Double? {
        guard let text else { return nil }
        do {
            let duration = try DurationText.parse(text)
            return duration.inSeconds
        } catch {
            throw VolumeError(.invalidParams, "\(option): \(error.description)")
        }
    }
}
