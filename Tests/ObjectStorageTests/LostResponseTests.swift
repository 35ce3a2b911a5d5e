import Foundation
import ObjectStorage
import StorageFormat
import TestSupport
import Testing

/// Conditional creates through a proxy that lets the request reach the server and then cuts
/// the connection before the response is back: the caller still learns the true outcome.
@Suite struct LostResponseTests {
    enum Peer: String, CaseIterable, CustomTestStringConvertible {
        case s3, gcs, azure

        var testDescription: String { rawValue }

        /// A store that reaches its peer through the fault proxy, reporting to `events`.
        func store(events: StorageEvents) throws -> (any ObjectStore, FaultProxy) {
            let prefix = "lost-\(UUID().uuidString.lowercased())"
            let retry = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50), deadline: .seconds(20)).reporting(to: events)
            switch self {
            case .s3:
                let proxy = try FaultProxy.s3()
                return (try TestServices.s3Store(prefix: prefix, endpoint: proxy.url, retry: retry), proxy)
            case .gcs:
                let proxy = try FaultProxy.gcs()
                let uri = try StorageURI(parsing: "gs://\(try TestServices.value("VOLUMED_TEST_GCS_BUCKET"))/\(prefix)")
                return (try GCSObjectStore(uri: uri, environment: ["STORAGE_EMULATOR_HOST": proxy.url, "HOME": "/nonexistent"], retry: retry, client: TestServices.client), proxy)
            case .azure:
                let proxy = try FaultProxy.azure()
                let connection = "DefaultEndpointsProtocol=http;AccountName=\(try TestServices.value("VOLUMED_TEST_AZURE_ACCOUNT"));AccountKey=\(try TestServices.value("VOLUMED_TEST_AZURE_KEY"));BlobEndpoint=\(proxy.url);"
                let store = try AzureBlobObjectStore(
                    uri: try TestServices.azureURI(prefix: prefix), environment: ["AZURE_STORAGE_CONNECTION_STRING": connection], retry: retry, client: TestServices.client)
                return (store, proxy)
            }
        }

        /// The method of a create: GCS uploads by POST.
        var createMethod: String { self == .gcs ? "POST" : "PUT" }
    }

    @Test(arguments: Peer.allCases)
    func aCreateWhoseResponseIsLostSucceedsOnceAndAConflictStaysAConflict(peer: Peer) throws {
        let events = StorageEvents()
        let (store, proxy) = try peer.store(events: events)
        // The key's last part alone: GCS sends the name inside a JSON body, with '/' escaped.
        let name = UUID().uuidString.lowercased()
        let key = "claims/\(name)"
        try proxy.inject(.cutResponse, method: peer.createMethod, containing: name)
        try store.create(key, data: Data("mine \(name)".utf8))
        #expect(try proxy.pending(containing: name) == 0, "the response was cut")
        #expect(try store.get(key) == Data("mine \(name)".utf8))
        // The retry that met the object is libcurl's own (a request on a reused connection
        // that died before any answer is sent again at once), or ours after a reset.
        #expect(events.resolvedOutcomes == 1)

        // Another writer's object: the lost answer was a refusal, and it stays one.
        try proxy.inject(.cutResponse, method: peer.createMethod, containing: name)
        do {
            try store.create(key, data: Data("theirs \(name)".utf8))
            Issue.record("\(peer): a create over another writer's object succeeded")
        } catch {
            #expect(error.kind == .alreadyExists, "\(error)")
        }
        #expect(events.resolvedOutcomes == 1)
        #expect(try store.get(key) == Data("mine \(name)".utf8), "the existing object is untouched")
    }

    @Test func retriesAreCountedForTheMountAndTheDaemon() throws {
        let daemon = StorageEvents()
        let mount = StorageEvents(parent: daemon)
        let (store, proxy) = try Peer.s3.store(events: mount)
        let name = UUID().uuidString.lowercased()
        try proxy.inject(.serviceUnavailable, method: "PUT", containing: name, times: 2)
        try store.put("objects/\(name)", data: Data("x".utf8))
        #expect(mount.retries == 2 && daemon.retries == 2)
        #expect(mount.resolvedOutcomes == 0)
    }
}
