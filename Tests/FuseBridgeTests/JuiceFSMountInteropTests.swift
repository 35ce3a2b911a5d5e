import Foundation
import Metadata
import ObjectStorage
import SystemPackage
import TestSupport
import Testing

/// Volumes written through our mount read by the stock juicefs client, and the reverse.
@Suite(.serialized) struct JuiceFSMountInteropTests {
    /// A tree with small and large files, a hard link and a symlink, written under `root`.
    private static let populate = """
        cp -a "$SOURCE" tree
        head -c 70000000 /dev/urandom > big.bin
        printf 'small' > small.txt && ln small.txt hard.txt && ln -s small.txt soft.txt
        dd if=/dev/urandom of=big.bin bs=1000 count=3 seek=30000 conv=notrunc status=none
        """

    /// Every file's md5 and every symlink's target; juicefs's virtual files in the root
    /// (`.accesslog`, `.stats`, …) are left out.
    private static func checksums(_ root: String) throws -> String {
        try Command.check(["bash", "-c", "cd '\(root)' && find . -path './.*' -prune -o -type f -print0 | sort -z | xargs -0 md5sum && find . -path './.*' -prune -o -type l -printf '%p -> %l\\n' | sort"]).stdout
    }

    @Test(arguments: [(MetaKind.sqlite, BucketKind.s3), (.redis, .s3), (.sqlite, .file)])
    func juicefsReadsWhatOurMountWrote(meta: MetaKind, bucket: BucketKind) throws {
        let fixture = try MountFixture(meta: meta, bucket: bucket)
        try fixture.sh("cd '\(fixture.root)' && \(Self.populate)", environment: ["SOURCE": FileManager.default.currentDirectoryPath + "/Sources"])
        let ours = try Self.checksums(fixture.root)
        try fixture.finish()

        let theirs = try JuiceFSMount(metaURL: fixture.metaURL, logDirectory: fixture.directory, options: ["--read-only"])
        #expect(try Self.checksums(theirs.mountpoint.string) == ours)
        try theirs.unmount()
        let fsck = try Command.run(["juicefs", "fsck", fixture.metaURL, "--path", "/", "--recursive"])
        #expect(fsck.succeeded, "\(fsck.output.suffix(2000))")
    }

    /// `--hash-prefix` spreads block keys over 256 folders and `--block-size` changes every
    /// block's length: both reach our block keys through the format.
    @Test(arguments: [(MetaKind.sqlite, [String]()), (.redis, []), (.sqlite, ["--hash-prefix", "--block-size", "1024"])])
    func ourMountReadsWhatJuicefsWrote(meta: MetaKind, formatOptions: [String]) throws {
        let (metaURL, directory) = try Self.juicefsVolume(meta, formatOptions)
        let theirs = try JuiceFSMount(metaURL: metaURL, logDirectory: directory)
        try Command.check(["bash", "-c", "cd '\(theirs.mountpoint)' && \(Self.populate)"], environment: ["SOURCE": FileManager.default.currentDirectoryPath + "/Sources"])
        let expected = try Self.checksums(theirs.mountpoint.string)
        try theirs.unmount()

        let fixture = try MountFixture(existing: metaURL, objects: try FileObjectStore(root: directory.appending("bucket")), directory: directory, readOnly: true)
        #expect(try Self.checksums(fixture.root) == expected)
        try fixture.finish()
    }

    /// Blocks we write into a juicefs volume formatted with `--hash-prefix` sit where juicefs
    /// looks for them: it reads every file back and its fsck finds every block.
    @Test func juicefsReadsWhatWeWroteIntoAHashPrefixVolume() throws {
        let (metaURL, directory) = try Self.juicefsVolume(.sqlite, ["--hash-prefix", "--trash-days", "0"])
        let objects = try FileObjectStore(root: directory.appending("bucket"))
        let fixture = try MountFixture(existing: metaURL, objects: objects, directory: directory)
        try fixture.sh("cd '\(fixture.root)' && \(Self.populate)", environment: ["SOURCE": FileManager.default.currentDirectoryPath + "/Sources"])
        let ours = try Self.checksums(fixture.root)
        try fixture.finish()
        let name = try fixture.engine.loadFormat().name
        let keys = try objects.listAll(prefix: "\(name)/chunks/").map(\.key)
        #expect(!keys.isEmpty && keys.allSatisfy { $0.split(separator: "/")[2].count == 2 }, "hash-prefixed keys: \(keys.prefix(3))")

        let theirs = try JuiceFSMount(metaURL: metaURL, logDirectory: directory, options: ["--read-only"])
        #expect(try Self.checksums(theirs.mountpoint.string) == ours)
        try theirs.unmount()
        let fsck = try Command.run(["juicefs", "fsck", metaURL])
        #expect(fsck.succeeded, "\(fsck.output.suffix(2000))")
    }

    /// A format feature volumed does not implement is refused by name, never served wrong.
    @Test func compressedVolumesAreRefusedNamingTheSetting() throws {
        let (metaURL, directory) = try Self.juicefsVolume(.sqlite, ["--compress", "lz4"])
        do {
            _ = try MountFixture(existing: metaURL, objects: try FileObjectStore(root: directory.appending("bucket")), directory: directory, readOnly: true)
            Issue.record("an lz4-compressed volume was mounted")
        } catch let error as MetaError {
            #expect(error.errno == .notSupported && error.detail.contains("Compression \"lz4\""), "\(error)")
        }
    }

    /// A fresh juicefs volume on a `file` bucket in a scratch directory.
    private static func juicefsVolume(_ meta: MetaKind, _ options: [String]) throws -> (metaURL: String, directory: FilePath) {
        let directory = try Scratch.directory("jfs-volume")
        let metaURL = meta == .sqlite ? "sqlite3://\(directory.appending("meta.db"))" : try RedisTestDatabase.url()
        let name = "jfs-" + UUID().uuidString.prefix(8).lowercased()
        try Command.check(
            ["juicefs", "format", "--no-update", metaURL, name, "--storage", "file", "--bucket", directory.appending("bucket").string + "/"] + options)
        return (metaURL, directory)
    }
}
