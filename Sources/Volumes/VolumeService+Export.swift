import Foundation
import Metadata
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
        let dump = try dumpNamespace(of: volume, index: index, from: bucket, in: directory, progress: progress)
        guard format == .sqlite else { return try copy(dump, into: output, as: format, of: volume) }
        let target = try loadNamespace(from: dump, into: .sqlite, in: directory.appending("target"), progress: progress)
        defer { try? target.close() }
        let snapshot: IndexSnapshot
        do {
            snapshot = try target.engine.takeSnapshot(scratchFile: directory.appending("export.db")).0
        } catch {
            throw VolumeError(error, while: "writing the SQLite export of \(volume.name)")
        }
        defer { snapshot.release() }
        return try copy(snapshot.file, into: output, as: format, of: volume)
    }

    private func copy(_ file: FilePath, into output: FileDescriptor, as format: MetadataExportFormat, of volume: VolumeDescriptor) throws(VolumeError) -> MetadataExport {
        do {
            return MetadataExport(format: format, bytes: try FileSystem.copy(file, into: output))
        } catch {
            throw VolumeError(.internalError, "writing the export of \(volume.name): \(error)")
        }
    }
}
