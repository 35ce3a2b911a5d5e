import Foundation
import FuseBridge
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

    @Test(arguments: [(MetaKind.sqlite, BucketKind.file), (.redis, .s3)])
    func copyArchiveAndDiffASourceTree(meta: MetaKind, bucket: BucketKind) throws {
        let fixture = try MountFixture(meta: meta, bucket: bucket)
        let source = FileManager.default.currentDirectoryPath + "/Sources"
        try fixture.sh("cp -a '\(source)' '\(fixture.path("copy"))' && diff -r '\(source)' '\(fixture.path("copy"))'")
        try fixture.sh("cd '\(fixture.root)' && tar cf '\(fixture.directory)/tree.tar' copy && mkdir again && tar xf '\(fixture.directory)/tree.tar' -C again && diff -r copy again/copy")
        try fixture.finish()
    }
}
