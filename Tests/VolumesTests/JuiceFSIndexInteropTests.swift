import Foundation
import SystemBridge
import SystemPackage
import TestSupport
import Testing
import VolumeModel
import Volumes

/// `exportMetadata` writes any version's namespace as the stock juicefs client takes it:
/// a SQLite database it mounts and fscks clean, or a dump it loads into Redis and mounts.
@Suite(.serialized) struct JuiceFSIndexInteropTests {
    /// A committed version of `type` holding a small file and a ten-megabyte one.
    private func version(_ type: MetadataStoreType, in fixture: VolumeFixture) throws -> (VolumeDescriptor, [String: String]) {
        let live = try fixture.mount(try fixture.newVolume(type))
        try VolumeFixture.write("hello from volumed\n", to: "docs/readme.txt", in: live)
        try VolumeFixture.write(String(repeating: "0123456789", count: 1_000_000), to: "data/ten-megabytes.txt", in: live)
        let version = try live.finalize(message: "for juicefs")
        let expected = try fixture.files(of: version)
        #expect(expected.count == 2)
        return (version, expected)
    }

    private func export(_ version: VolumeDescriptor, as format: MetadataExportFormat, to file: FilePath, with fixture: VolumeFixture) throws -> MetadataExport {
        let output = try FileDescriptor.open(file, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        defer { try? output.close() }
        return try fixture.service.exportMetadata(version, into: output, as: format)
    }

    private func credentials(_ fixture: VolumeFixture) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": fixture.environment["AWS_ACCESS_KEY_ID"]!, "AWS_SECRET_ACCESS_KEY": fixture.environment["AWS_SECRET_ACCESS_KEY"]!]
    }

    @Test(arguments: MetadataStoreType.allCases)
    func juicefsMountsAndChecksTheSQLiteExport(of type: MetadataStoreType) throws {
        let fixture = try VolumeFixture()
        let (version, expected) = try version(type, in: fixture)
        let directory = try Scratch.directory("jfs-export")
        let file = directory.appending("export.db")
        let export = try export(version, as: .sqlite, to: file, with: fixture)
        let written = try FileSystem.status(file)?.size
        #expect(export.format == .sqlite && export.bytes == written)

        let fsck = try Command.run(["juicefs", "fsck", "sqlite3://\(file)", "--path", "/", "--recursive"], environment: credentials(fixture))
        #expect(fsck.succeeded, "\(fsck.output.suffix(2000))")
        let theirs = try JuiceFSMount(metaURL: "sqlite3://\(file)", logDirectory: directory, options: ["--read-only"], environment: credentials(fixture))
        defer { try? theirs.unmount() }
        let seen = try VolumeFixture.files(under: theirs.mountpoint)
        #expect(seen == expected, "juicefs sees \(seen.mapValues(\.count)), we wrote \(expected.mapValues(\.count))")
        try theirs.unmount()
    }

    @Test func juicefsLoadsTheDumpExportIntoRedisAndMountsIt() throws {
        let fixture = try VolumeFixture()
        let (version, expected) = try version(.sqlite, in: fixture)
        let directory = try Scratch.directory("jfs-dump")
        let file = directory.appending("export.json")
        #expect(try export(version, as: .dump, to: file, with: fixture).format == .dump)

        let redis = try RedisTestDatabase.url()
        try Command.check(["juicefs", "load", redis, file.string])
        let theirs = try JuiceFSMount(metaURL: redis, logDirectory: directory, options: ["--read-only"], environment: credentials(fixture))
        defer { try? theirs.unmount() }
        #expect(try VolumeFixture.files(under: theirs.mountpoint) == expected)
        try theirs.unmount()
    }

    @Test func anExportNeedsAnEmptyWritableFileAndACommittedVersion() throws {
        let fixture = try VolumeFixture()
        let (version, _) = try version(.sqlite, in: fixture)
        let directory = try Scratch.directory("jfs-refused")
        let full = directory.appending("full")
        try FileSystem.write(Data("something".utf8), atomicallyTo: full)
        let readOnly = try FileDescriptor.open(full, .readOnly)
        defer { try? readOnly.close() }
        expectVolumeError(.invalidParams, "a file open read-only") { _ = try fixture.service.exportMetadata(version, into: readOnly, as: .sqlite) }
        let nonEmpty = try FileDescriptor.open(full, .writeOnly)
        defer { try? nonEmpty.close() }
        expectVolumeError(.invalidParams, "a file that holds data") { _ = try fixture.service.exportMetadata(version, into: nonEmpty, as: .sqlite) }
        expectVolumeError(.notFound, "a volume never committed") {
            _ = try export(try fixture.newVolume(.sqlite), as: .sqlite, to: directory.appending("never"), with: fixture)
        }
        #expect(try FileSystem.contents(of: full) == Data("something".utf8))
    }
}
