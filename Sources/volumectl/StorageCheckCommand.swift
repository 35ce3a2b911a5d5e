import ArgumentParser
import Foundation
import ObjectStorage
import StorageFormat
import VolumeModel

struct StorageCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check that a bucket supports everything volumes need.",
        discussion: """
            Writes, reads (whole and ranged), lists, conditionally creates (twice: the second \
            must be refused) and deletes objects under testing/ in the bucket, printing each step \
            with its latency. Runs in-process; the daemon is not needed. Credentials come from the \
            environment as for volumes (AWS_*, GOOGLE_APPLICATION_CREDENTIALS, STORAGE_EMULATOR_HOST, \
            AZURE_STORAGE_*).

            Exit status: 0 when every step passed, 1 when a step failed, 64 for bad arguments.
            """)

    @Argument(help: "The bucket: s3://, gs://, abfs(s)://, wasb(s):// or file:///")
    var uri: String

    @Option(help: "S3-compatible endpoint or Azure blob endpoint (else $AWS_ENDPOINT_URL for S3).")
    var endpoint: String?

    @Option(help: "S3 region (else $AWS_REGION / $AWS_DEFAULT_REGION).")
    var region: String?

    @Option(help: "Seconds to keep retrying transient failures of one call.")
    var timeout: Int = 10

    func validate() throws {
        do {
            _ = try StorageURI(parsing: uri)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let factory = ObjectStoreFactory(retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(100), maxDelay: .seconds(2), deadline: .seconds(timeout)))
        let store: any ObjectStore
        do {
            store = try factory.open(uri, endpoint: endpoint, region: region)
        } catch {
            Terminal.error("cannot open \(uri): \(error.message)")
            throw ExitCode.failure
        }
        Terminal.line("checking \(store.location)")
        let passed = StorageCheck(store: store).run { step in
            let milliseconds = String(format: "%8.1f ms", step.duration / .milliseconds(1))
            let name = step.name.padding(toLength: 32, withPad: " ", startingAt: 0)
            if let failure = step.failure {
                Terminal.line("  \(name) FAILED \(milliseconds)")
                Terminal.error("\(step.name) failed: \(failure.message)")
            } else {
                Terminal.line("  \(name) ok     \(milliseconds)")
            }
        }
        guard passed else { throw ExitCode.failure }
        Terminal.line("\(store.location) is ready for volumes")
    }
}
