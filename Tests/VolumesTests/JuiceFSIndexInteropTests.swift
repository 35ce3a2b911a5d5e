import Foundation
import ObjectStorage
import SystemPackage
import TestSupport
import Testing
import VolumeModel
import Volumes

/// A published SQLite index is a juicefs volume: the stock client mounts it as downloaded.
@Suite(.serialized) struct JuiceFSIndexInteropTests {
    @Test func juicefsMountsACommittedVersionFromItsIndex() throws {
        let fixture = try VolumeFixture()
        let live = try fixture.mount(try fixture.newVolume(.sqlite))
        try VolumeFixture.write("hello from volumed\n", to: "docs/readme.txt", in: live)
        try VolumeFixture.write(String(repeating: "0123456789", count: 1_000_000), to: "data/ten-megabytes.txt", in: live)
        let version = try live.finalize(message: "for juicefs")
        let expected = try fixture.files(of: version)
        #expect(expected.count == 2)

        let directory = try Scratch.directory("jfs-index")
        let indexKey = String(version.index!.path.dropFirst(fixture.bucketURI.count + 1))
        let index = directory.appending("index.db")
        try fixture.objects().get(indexKey).write(to: URL(fileURLWithPath: index.string))
        let credentials = [
            "AWS_ACCESS_KEY_ID": fixture.environment["AWS_ACCESS_KEY_ID"]!, "AWS_SECRET_ACCESS_KEY": fixture.environment["AWS_SECRET_ACCESS_KEY"]!,
        ]
        let theirs = try JuiceFSMount(metaURL: "sqlite3://\(index)", logDirectory: directory, options: ["--read-only"], environment: credentials)
        defer { try? theirs.unmount() }
        let seen = try VolumeFixture.files(under: theirs.mountpoint)
        let identical = seen == expected
        #expect(identical, "juicefs sees \(seen.mapValues(\.count)), we wrote \(expected.mapValues(\.count))")
        try theirs.unmount()
    }
}
