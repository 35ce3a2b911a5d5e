import ArgumentParser
import Foundation
import VolumeModel

struct VersionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "versions", abstract: "List the versions of a bucket, or of one volume's line, newest first.",
        discussion: """
            BUCKET_OR_VOLUME is a bucket URI (s3://…, gs://…, file:///…), or a descriptor file, - or \
            a locator, whose volume name and bucket are listed. MOUNTED names this daemon's mounts \
            that started from a version.
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A bucket URI, or a descriptor file, - for stdin, or a locator URI.") var bucketOrVolume: String
    @Option(help: "Only the versions of this volume name.") var name: String?
    @Flag(help: "Print the entries as a JSON array on stdout.") var json = false

    func run() async throws {
        let entries = try await Failure.reporting { () async throws(VolumeError) in
            let isBucket = bucketOrVolume.contains("://") && !bucketOrVolume.hasSuffix("/volume.json")
            let params =
                isBucket
                ? RPCParams.Versions(bucket: bucketOrVolume, name: name)
                : RPCParams.Versions(volume: try await VolumeArgument.resolve(bucketOrVolume, with: daemon.client), name: name)
            return try await daemon.client.versions(params)
        }
        if json {
            Terminal.json(entries)
            return
        }
        guard !entries.isEmpty else { return Terminal.line("no versions") }
        for entry in entries {
            let volume = entry.volume
            let parent = volume.parentProducedBy?.locator.flatMap { $0.split(separator: "/").dropLast().last.map(String.init) }
            var line = "\(entry.id)  \(volume.name)  \(volume.inodeCount ?? 0) inodes  \(Terminal.byteCount(volume.usedBytes ?? 0))"
            line += "  parent \(parent ?? "-")"
            if !entry.mountedHere.isEmpty { line += "  mounted at \(entry.mountedHere.joined(separator: ", "))" }
            if !entry.heldBy.isEmpty { line += "  held by \(entry.heldBy.joined(separator: ", "))" }
            if let message = volume.message { line += "  \"\(message)\"" }
            Terminal.output(line)
        }
    }
}
