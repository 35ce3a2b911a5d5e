import ChunkStore
import Metadata
import StorageFormat
import VolumeModel

extension VolumeFormat {
    /// The format setting of a new volume, with `Storage`/`Bucket` spelled the way the stock
    /// juicefs client finds the same blocks (docs/FORMAT.md, "The index"). Credentials are never stored:
    /// the published index must not carry them, and juicefs reads them from its environment.
    init(volume descriptor: VolumeDescriptor, uri: StorageURI, environment: [String: String]) {
        let bucket: String
        switch uri.kind {
        case .file:
            bucket = uri.bucket + "/"
        case .s3:
            let region = descriptor.region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
            let endpoint = descriptor.endpoint ?? "https://s3.\(region).amazonaws.com"
            bucket = (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/" + uri.bucket + (uri.prefix.isEmpty ? "" : "/" + uri.prefix.dropLast())
        case .gs:
            bucket = "gs://\(uri.bucket)" + (uri.prefix.isEmpty ? "" : "/" + uri.prefix.dropLast())
        case .wasb:
            bucket = "\(uri.usesTLS ? "https" : "http")://\(uri.host ?? "")/\(uri.bucket)"
        }
        self.init(name: descriptor.chunkPrefix, storage: uri.kind.rawValue, bucket: bucket)
    }
}

extension ChunkStoreConfiguration {
    /// The chunk store of `volume` with its blocks laid out and sized as its format says.
    init(volume: VolumeDescriptor, format: VolumeFormat) {
        self.init(chunkPrefix: volume.chunkPrefix, hashPrefix: format.hashPrefix ?? false, blockSize: format.blockBytes)
    }
}
