import Foundation
import SystemPackage
import Testing

@testable import ObjectStorage

@Suite struct FileObjectStoreTests {
    @Test func objectsAreFilesUnderTheRootInTheJuiceFSLayout() throws {
        let root = try TestServices.temporaryDirectory()
        let store = try FileObjectStore(root: root)
        try store.put("vol/chunks/0/0/1_0_4", data: Data("abcd".utf8))
        #expect(FileManager.default.contents(atPath: root.appending("vol/chunks/0/0/1_0_4").string) == Data("abcd".utf8))
    }

    @Test func writesInFlightAreNeverVisibleUnderTheirKey() throws {
        let root = try TestServices.temporaryDirectory()
        let store = try FileObjectStore(root: root)
        try store.put("dir/real", data: Data("x".utf8))
        // What a crash mid-put leaves behind: a hidden temporary file beside the key.
        let leftover = root.appending("dir/.torn.tmp-1234")
        try Data("partial".utf8).write(to: URL(fileURLWithPath: leftover.string))
        #expect(try store.listAll().map(\.key) == ["dir/real"])
        #expect(throws: ObjectStoreError.self) { try store.get("dir/torn") }
        #expect { try store.put("dir/.torn.tmp-1234", data: Data()) } throws: { ($0 as? ObjectStoreError)?.kind == .invalidArgument }
        let names = try FileManager.default.contentsOfDirectory(atPath: root.appending("dir").string).sorted()
        #expect(names == [".torn.tmp-1234", "real"], "a successful put leaves no temporary file")
    }

    @Test func createRacesHaveExactlyOneWinner() throws {
        let store = try FileObjectStore(root: try TestServices.temporaryDirectory())
        let winners = AtomicFailures()
        DispatchQueue.concurrentPerform(iterations: 32) { index in
            do throws(ObjectStoreError) {
                try store.create("domains/7", data: Data("\(index)".utf8))
                winners.record("\(index)")
            } catch {
                if error.kind != .alreadyExists { winners.record("unexpected \(error)") }
            }
        }
        #expect(winners.messages.count == 1)
        #expect(try store.get("domains/7") == Data(winners.messages[0].utf8))
    }

    @Test func aRootThatCannotBeCreatedIsAnError() {
        #expect(throws: ObjectStoreError.self) { try FileObjectStore(root: "/proc/volumed-cannot-exist") }
    }
}
