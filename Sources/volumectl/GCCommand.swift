import ArgumentParser
import VolumeModel

struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Delete what no version, fork or live mount of a bucket can reach.",
        discussion: """
            Reads every version's index and every mount lease in the bucket, then deletes blocks, \
            index pieces, indexes, slice-domain claims and lapsed leases that nothing reaches. \
            Nothing younger than the grace period is deleted, and a live mount on any machine \
            keeps every block it wrote. --keep-last N first retires all but the newest N versions \
            of each line (never one a live mount is based on, nor one another line was forked \
            from). Run it from a timer: systemd/volumed-gc.timer.
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A bucket URI: s3://…, gs://…, wasbs://…, file:///….") var bucket: String
    @Flag(help: "Report what would be deleted; delete nothing.") var dryRun = false
    @Option(help: "Keep whatever is younger than this (24h by default; 30m, 7d…).") var grace: String?
    @Option(help: "Retire all but the newest N versions of each line first.") var keepLast: Int?
    @Option(help: "The S3 endpoint, for a bucket the environment does not describe.") var endpoint: String?
    @Option(help: "The S3 region.") var region: String?
    @Flag(help: "Print the report as JSON on stdout.") var json = false

    func run() async throws {
        let display = ProgressDisplay()
        let report = try await Failure.reporting { () async throws(VolumeError) in
            defer { display.finish() }
            return try await daemon.client.collectGarbage(
                RPCParams.GC(bucket: bucket, endpoint: endpoint, region: region, dryRun: dryRun, grace: grace, keepLast: keepLast), progress: display.update)
        }
        if json {
            Terminal.json(report)
            return
        }
        let verb = report.dryRun ? "would delete" : "deleted"
        Terminal.output("examined \(Self.tally(report.examined)) in \(report.bucket) (\(report.versions) indexes read)")
        Terminal.output("kept \(Self.tally(report.kept)); garbage \(Self.tally(report.garbage)); \(verb) \(Self.tally(report.dryRun ? report.garbage : report.deleted))")
        for (kind, tally) in report.kinds.sorted(by: { $0.key < $1.key }) { Terminal.output("  \(kind): \(Self.tally(tally))") }
        if !report.retired.isEmpty { Terminal.output("\(report.dryRun ? "would retire" : "retired") \(report.retired.count) version(s): \(report.retired.joined(separator: " "))") }
        if !report.heldBy.isEmpty { Terminal.output("live mounts holding blocks: \(report.heldBy.joined(separator: ", "))") }
        if !report.skippedPrefixes.isEmpty { Terminal.output("left alone (not volumed's): \(report.skippedPrefixes.joined(separator: ", "))") }
    }

    private static func tally(_ tally: GCReport.Tally) -> String {
        "\(tally.objects) objects, \(Terminal.byteCount(tally.bytes))"
    }
}
