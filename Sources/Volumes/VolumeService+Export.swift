import Foundation
import SystemBridge
import SystemPackage
import VolumeModel

extension VolumeService {
    /// Writes a committed version's namespace into `output`, an empty file open for writing
    /// that the caller opened (the daemon never picks a path for it): a juicefs SQLite
    /// database, or the JSON of `juicefs dump`. The stock juicefs client mounts the one and
    /// loads the other; a volume's own pieces and manifest are volumed's business.
    public func exportMetadata(
        _ volume: VolumeDescriptor, into output: FileDescriptor, as format: MetadataExportFormat, progress: (VolumeProgress) -> Void = { _ in }
    ) throws(VolumeError) -> MetadataExport {
        try volume.validate()
        guard FileSystem.isEmptyWritableFile(output) else {
            throw VolumeError(.invalidParams, "an export is written into an empty regular file open for writing", data: ["field": "descriptor"])
        }
        guard let index = volume.index else {
            throw VolumeError(.notFound, "\(volume.name) was never committed, so it has no metadata to export", data: ["name": volume.name])
        }
        let bucket = try openBucket(of: volume)
        if format == .sqlite, volume.metadataStoreType == .sqlite {
            let manifest = try bucket.download(index, into: output, named: "the export of \(volume.name)", progress: progress)
            return MetadataExport(format: format, bytes: manifest?.size ?? index.size)
        }
        let directory = configuration.stateDirectory.appending("exports").appending(Self.randomID())
        defer { try? FileSystem.removeTree(directory) }
        var file = try dumpNamespace(of: volume, index: index, from: bucket, in: directory, progress: progress)
        if format == .sqlite {
            let target = try loadNamespace(from: file, into: .sqlite, in: directory.appending("target"), progress: progress)
            defer { try? target.close() }
            file = directory.appending("export.db")
            do {
                _ = try target.engine.takeSnapshot(to: file)
            } catch {
                throw VolumeError(error, while: "writing the SQLite export of \(volume.name)")
            }
        }
        do {
            return MetadataExport(format: format, bytes: try FileSystem.copy(file, into: output))
        } catch {
            throw VolumeError(.internalError, "writing the export of \(volume.name): \(error)")
        }
    }
}
