import Foundation
import FuseBridge
import Glibc
import SystemPackage
import TestSupport
import Testing

@Suite(.serialized) struct FuseMountTests {
    @Test func filesWrittenThroughTheMountReadBack() throws {
        let fixture = try MountFixture()
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: fixture.path("hello.txt")))
        #expect(FileManager.default.contents(atPath: fixture.path("hello.txt")) == Data("hello\n".utf8))
        try FileManager.default.createDirectory(atPath: fixture.path("a/b"), withIntermediateDirectories: true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.root).sorted() == ["a", "hello.txt"])
        try fixture.finish()
    }

    /// `.stats` in the root: the mount's request figures, hidden from listings, read-only,
    /// and a name no real file may take.
    @Test func theStatsFileShowsTheMountsRequestsAndStaysOutOfTheWay() throws {
        let fixture = try MountFixture()
        for index in 0..<5 { try Data("x".utf8).write(to: URL(fileURLWithPath: fixture.path("f\(index)"))) }
        let stats = try String(contentsOfFile: fixture.path(".stats"), encoding: .utf8)
        let lines = Set(stats.split(separator: "\n").map(String.init))
        #expect(lines.contains { $0.hasPrefix("volumed_fuse_requests_total{op=\"create\"} ") && Int($0.split(separator: " ").last!)! >= 5 }, "\(stats)")
        #expect(lines.contains("volumed_fuse_written_bytes_total 5"), "\(stats)")
        let handle = try #require(FileHandle(forReadingAtPath: fixture.path(".stats")))
        #expect(try handle.readToEnd().map { String(decoding: $0, as: UTF8.self) }?.contains("volumed_fuse_requests_total") == true)
        #expect(throws: Never.self, "closing it succeeds") { try handle.close() }
        let later = try String(contentsOfFile: fixture.path(".stats"), encoding: .utf8)
        #expect(later.contains("op=\"open\""), "every open takes a new snapshot")
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.root).sorted() == ["f0", "f1", "f2", "f3", "f4"], "listings never show it")
        #expect(FileHandle(forWritingAtPath: fixture.path(".stats")) == nil, "it is read-only")
        #expect(chmod(fixture.path(".stats"), 0o666) != 0 && errno == EPERM)
        let listed = try Command.run(["ls", "-l", fixture.path(".stats")])
        #expect(listed.status == 0 && listed.stderr.isEmpty, "ls -l asks for its xattrs: \(listed.output)")
        let attributes = try Command.run(["getfattr", "-d", fixture.path(".stats")])
        #expect(attributes.status == 0 && attributes.stdout.isEmpty, "\(attributes.output)")
        #expect(mkdir(fixture.path(".stats"), 0o755) != 0, "the name is taken in the root")
        #expect(mkdir(fixture.path("f0.d"), 0o755) == 0 && mkdir(fixture.path("f0.d/.stats"), 0o755) == 0, "and only there")
        try fixture.finish()
    }

    /// Several engine pages (SQLite; Redis lists in one), read while the kernel takes in
    /// earlier replies: every name once, in readdir and readdirplus, each with its attributes.
    @Test(arguments: [MetaKind.sqlite, .redis])
    func aDirectoryOfThousandsOfFilesListsEachFileOnce(meta: MetaKind) throws {
        let fixture = try MountFixture(meta: meta)
        let many = fixture.path("many")
        try fixture.sh("mkdir '\(many)' && cd '\(many)' && seq -f 'f%05g' 0 4999 | xargs touch && printf 12345 > f03210")
        let names = try fixture.sh("ls -f '\(many)'").stdout.split(separator: "\n").map(String.init)
        #expect(names.count == 5002)
        #expect(Set(names) == Set([".", ".."] + (0..<5000).map { String(format: "f%05d", $0) }))
        let longListing = try fixture.sh("ls -ln '\(many)'").stdout.split(separator: "\n")
        #expect(longListing.count == 5001, "a total line and one line per file")
        let sized = longListing.map { $0.split(separator: " ") }.filter { $0.count > 4 && $0[4] != "0" }
        #expect(sized.map { "\($0.last!) \($0[4])" } == ["f03210 5"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: many).count == 5000)
        try fixture.finish()
    }

    @Test(arguments: [(MetaKind.sqlite, BucketKind.file), (.redis, .s3)])
    func copyArchiveAndDiffASourceTree(meta: MetaKind, bucket: BucketKind) throws {
        let fixture = try MountFixture(meta: meta, bucket: bucket)
        let source = FileManager.default.currentDirectoryPath + "/Sources"
        try fixture.sh("cp -a '\(source)' '\(fixture.path("copy"))' && diff -r '\(source)' '\(fixture.path("copy"))'")
        try fixture.sh("cd '\(fixture.root)' && tar cf '\(fixture.directory)/tree.tar' copy && mkdir again && tar xf '\(fixture.directory)/tree.tar' -C again && diff -r copy again/copy")
        try fixture.finish()
    }
}
