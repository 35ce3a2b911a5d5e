import Foundation
import ObjectStorage
import SystemPackage
import Testing

/// One behavioural suite, run unchanged against every backend and its real peer.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case file, s3, gcs, azureSharedKey, azureSAS

    var testDescription: String { rawValue }

    /// A store under a fresh prefix, so runs never see each other's objects.
    func makeStore() throws -> any ObjectStore {
        let prefix = "behaviour-\(UUID().uuidString.lowercased())"
        switch self {
        case .file: return try FileObjectStore(root: try TestServices.temporaryDirectory())
        case .s3: return try TestServices.s3Store(prefix: prefix)
        case .gcs: return try TestServices.gcsStore(prefix: prefix)
        case .azureSharedKey: return try TestServices.azureSharedKeyStore(prefix: prefix)
        case .azureSAS: return try TestServices.azureSASStore(prefix: prefix)
        }
    }
}

func randomBytes(_ count: Int, seed: UInt64) -> Data {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    var bytes = [UInt8](repeating: 0, count: count)
    for index in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[index] = UInt8(truncatingIfNeeded: state)
    }
    return Data(bytes)
}

@Suite struct ObjectStoreBehaviourTests {
    @Test(arguments: Backend.allCases)
    func putGetHeadDeleteRoundTrip(backend: Backend) throws {
        let store = try backend.makeStore()
        let payload = randomBytes(100_000, seed: 1)
        try store.put("dir/object", data: payload)
        #expect(try store.get("dir/object") == payload)
        #expect(try store.head("dir/object").size == 100_000)
        try store.put("dir/object", data: Data("replaced".utf8))
        #expect(try store.get("dir/object") == Data("replaced".utf8))
        try store.delete("dir/object")
        #expect(throws: ObjectStoreError.self) { try store.get("dir/object") }
        try store.delete("dir/object")  // deleting a missing object succeeds
    }

    @Test(arguments: Backend.allCases)
    func missingObjectsAreNotFound(backend: Backend) throws {
        let store = try backend.makeStore()
        for call in [{ _ = try store.get("absent") }, { _ = try store.head("absent") }, { _ = try store.get("absent", range: 0..<10) }] {
            do {
                try call()
                Issue.record("\(backend): reading a missing object succeeded")
            } catch let error as ObjectStoreError {
                #expect(error.kind == .notFound, "\(error)")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func emptyObjects(backend: Backend) throws {
        let store = try backend.makeStore()
        try store.put("empty", data: Data())
        #expect(try store.get("empty").isEmpty)
        #expect(try store.head("empty").size == 0)
    }

    @Test(arguments: Backend.allCases)
    func rangedReads(backend: Backend) throws {
        let store = try backend.makeStore()
        let payload = randomBytes(1000, seed: 2)
        try store.put("ranged", data: payload)
        #expect(try store.get("ranged", range: 0..<10) == payload[0..<10])
        #expect(try store.get("ranged", range: 500..<501) == payload[500..<501])
        #expect(try store.get("ranged", range: 990..<1000) == payload[990..<1000])
        #expect(try store.get("ranged", range: 995..<2000) == payload[995..<1000], "a range past the end is cut short")
        #expect(try store.get("ranged", range: 1000..<1010).isEmpty, "a range starting at the end is empty")
        #expect(try store.get("ranged", range: 5000..<6000).isEmpty)
        #expect(try store.get("ranged", range: 10..<10).isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func putFromFileStreamsItsContents(backend: Backend) throws {
        let store = try backend.makeStore()
        let directory = try TestServices.temporaryDirectory()
        let file = directory.appending("upload.bin")
        let payload = randomBytes(5 << 20 | 12345, seed: 3)
        try payload.write(to: URL(fileURLWithPath: file.string))
        try store.put("from-file", contentsOf: file)
        #expect(try store.head("from-file").size == Int64(payload.count))
        #expect(try store.get("from-file") == payload)
        #expect(try store.get("from-file", range: 4_194_300..<4_194_400) == payload[4_194_300..<4_194_400])
    }

    @Test(arguments: Backend.allCases)
    func conditionalCreateRefusesAnExistingKey(backend: Backend) throws {
        let store = try backend.makeStore()
        try store.create("domains/42", data: Data("first".utf8))
        do {
            try store.create("domains/42", data: Data("second".utf8))
            Issue.record("\(backend): a second create of the same key succeeded")
        } catch {
            #expect(error.kind == .alreadyExists, "\(error)")
        }
        #expect(try store.get("domains/42") == Data("first".utf8), "the existing object is untouched")
        try store.create("domains/43", data: Data())
        // The same bytes again are the caller's own earlier create (a retry whose first
        // answer was lost): it succeeds, and the object stays as it was.
        try store.create("domains/42", data: Data("first".utf8))
        #expect(try store.get("domains/42") == Data("first".utf8))
    }

    @Test(arguments: Backend.allCases)
    func listingPaginatesInByteOrder(backend: Backend) throws {
        let store = try backend.makeStore()
        let keys = (0..<25).map { String(format: "list/k%02d", $0) }
        for key in keys.shuffled() { try store.put(key, data: Data(key.utf8)) }
        try store.put("other/x", data: Data())
        try store.put("list-sibling", data: Data())

        var pages: [[String]] = []
        var continuation: String?
        repeat {
            let page = try store.list(prefix: "list/", startAfter: nil, continuation: continuation, limit: 10)
            pages.append(page.objects.map(\.key))
            continuation = page.continuation
        } while continuation != nil && pages.count < 10
        #expect(pages.flatMap { $0 } == keys)
        #expect(pages.count >= 3, "25 keys in pages of 10 need at least three pages")
        #expect(pages.allSatisfy { $0.count <= 10 })

        #expect(try store.listAll(prefix: "list/", pageSize: 7).map(\.key) == keys)
        #expect(try store.listAll(prefix: "list/", startAfter: "list/k09").map(\.key) == Array(keys[10...]))
        #expect(try store.listAll(prefix: "list/k1").map(\.key) == Array(keys[10..<20]))
        #expect(try store.listAll(prefix: "list/").allSatisfy { $0.size == 8 })
        #expect(try store.listAll(prefix: "").count == 27)
        #expect(try store.listAll(prefix: "nothing/").isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func keysWithReservedCharactersRoundTrip(backend: Backend) throws {
        let store = try backend.makeStore()
        let key = "odd/a b+c&d=e%f~g'h(i)j,k;l:m@n!o$p*q é ü 日本.txt"
        try store.put(key, data: Data("odd".utf8))
        #expect(try store.get(key) == Data("odd".utf8))
        #expect(try store.get(key, range: 1..<3) == Data("dd".utf8))
        #expect(try store.head(key).size == 3)
        #expect(try store.listAll(prefix: "odd/").map(\.key) == [key])
        try store.delete(key)
        #expect(try store.listAll(prefix: "odd/").isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func unsafeKeysAreRefusedBeforeAnyRequest(backend: Backend) throws {
        let store = try backend.makeStore()
        for key in ["", "/absolute", "../escape", "a/../b", "a//b", "a/./b", "trailing/", "back\\slash", "nul\u{0}byte", "new\nline"] {
            do {
                try store.put(key, data: Data())
                Issue.record("\(backend): key \(key.debugDescription) was accepted")
            } catch {
                #expect(error.kind == .invalidArgument, "\(error)")
            }
        }
        #expect(throws: ObjectStoreError.self) { try store.list(prefix: "../", startAfter: nil, continuation: nil, limit: 10) }
    }

    @Test(arguments: Backend.allCases)
    func concurrentWritersAndReaders(backend: Backend) throws {
        let store = try backend.makeStore()
        let failures = AtomicFailures()
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            do {
                let payload = randomBytes(64 * 1024 + index, seed: UInt64(index))
                try store.put("concurrent/\(index)", data: payload)
                if try store.get("concurrent/\(index)") != payload { failures.record("object \(index) read back differently") }
            } catch {
                failures.record("\(index): \(error)")
            }
        }
        #expect(failures.messages.isEmpty, "\(failures.messages)")
        #expect(try store.listAll(prefix: "concurrent/").count == 16)
    }
}

final class AtomicFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    func record(_ message: String) { lock.withLock { stored.append(message) } }
    var messages: [String] { lock.withLock { stored } }
}
