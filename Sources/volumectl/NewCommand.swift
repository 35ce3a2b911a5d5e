import ArgumentParser
import VolumeModel

struct NewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Declare a new writable volume (no I/O until its first mount) and print its descriptor.")

    @OptionGroup var daemon: DaemonOptions
    @Option(help: "The volume's name (else generated).") var name: String?
    @Option(help: "The bucket URI (else the daemon's default bucket).") var bucket: String?
    @Option(name: .customLong("metadata-store"), help: "sqlite or redis (else the daemon's default).") var metadataStore: MetadataStoreType?
    @Option(help: "S3 region to pin.") var region: String?
    @Option(help: "S3-compatible endpoint (else $AWS_ENDPOINT_URL of the daemon).") var endpoint: String?

    func run() async throws {
        let request = RPCParams.New(name: name, bucket: bucket, region: region, endpoint: endpoint, metadataStoreType: metadataStore)
        let volume = try await Failure.reporting { () async throws(VolumeError) in try await daemon.client.new(request) }
        Terminal.json(volume)
    }
}

extension MetadataStoreType: ExpressibleByArgument {}
extension VolumeDescriptor.Access: ExpressibleByArgument {}
