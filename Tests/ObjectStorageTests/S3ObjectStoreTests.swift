import Foundation
import HTTP
import Testing

@testable import ObjectStorage

/// S3 behaviour that only a real, signature-checking server (SeaweedFS) and the
/// fault-injecting proxy in front of it can show.
@Suite struct S3ObjectStoreTests {
    let fastRetry = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50), deadline: .seconds(20))

    @Test func transientFailuresAreRetriedUntilTheyPass() throws {
        let proxy = try TestServices.value("VOLUMED_TEST_FAULT_PROXY")
        let prefix = "retry-\(UUID().uuidString.lowercased())"
        let store = try TestServices.s3Store(prefix: prefix, endpoint: proxy, retry: fastRetry)
        let payload = randomBytes(300_000, seed: 9)
        // Each distinct request sees a 503 SlowDown, then a connection reset, then the server.
        try store.put("faulty-object", data: payload)
        #expect(try store.get("faulty-object") == payload)
        #expect(try store.head("faulty-object").size == 300_000)
        #expect(try store.get("faulty-object", range: 10..<20) == payload[10..<20])
        let stats = try ProxyStats.fetch(proxy)
        let lines = stats.requests.filter { $0.key.contains("\(prefix)/faulty-object") }
        #expect(lines.count == 4, "put, get, head and the ranged get: \(lines)")
        #expect(lines.values.allSatisfy { $0 == 3 }, "a 503 and a reset, then success, for each: \(lines)")
    }

    @Test func persistentServerErrorsGiveUpAfterTheAttemptBudget() throws {
        let proxy = try TestServices.value("VOLUMED_TEST_FAULT_PROXY")
        let prefix = "retry-\(UUID().uuidString.lowercased())"
        let store = try TestServices.s3Store(prefix: prefix, endpoint: proxy, retry: fastRetry)
        do {
            try store.put("always-503-object", data: Data("x".utf8))
            Issue.record("a put that always gets 503 succeeded")
        } catch {
            #expect(error.kind == .transient)
            #expect(error.status == 503)
            #expect(error.message.contains("SlowDown"))
            #expect(error.message.contains("gave up after 5 attempts"))
        }
        let attempts = try ProxyStats.fetch(proxy).requests.filter { $0.key.contains("\(prefix)/always-503-object") }.values.reduce(0, +)
        #expect(attempts == 5)
    }

    @Test func theDeadlineBoundsRetriesWhateverTheAttemptBudget() throws {
        let proxy = try TestServices.value("VOLUMED_TEST_FAULT_PROXY")
        let policy = RetryPolicy(maxAttempts: 1000, baseDelay: .milliseconds(50), maxDelay: .milliseconds(200), deadline: .seconds(1))
        let store = try TestServices.s3Store(prefix: "retry-\(UUID().uuidString.lowercased())", endpoint: proxy, retry: policy)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(throws: ObjectStoreError.self) { try store.get("always-503-deadline") }
        }
        #expect(elapsed < .seconds(5))
    }

    @Test func aWrongSecretIsAccessDeniedAndNotRetried() throws {
        let proxy = try TestServices.value("VOLUMED_TEST_FAULT_PROXY")
        var environment = try TestServices.s3Environment()
        environment["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        let key = "denied-\(UUID().uuidString.lowercased())"
        let store = try TestServices.s3Store(prefix: "auth", endpoint: proxy, environment: environment, retry: fastRetry)
        do {
            try store.put(key, data: Data("x".utf8))
            Issue.record("the server accepted a request signed with the wrong secret")
        } catch {
            #expect(error.kind == .accessDenied)
            #expect(error.message.contains("SignatureDoesNotMatch"), "\(error)")
            #expect(!error.message.contains("not-the-secret"), "secrets never reach messages")
        }
        #expect(try ProxyStats.fetch(proxy).requests.filter { $0.key.contains(key) }.values.reduce(0, +) == 1)
    }

    @Test func anUnknownAccessKeyIsAccessDenied() throws {
        var environment = try TestServices.s3Environment()
        environment["AWS_ACCESS_KEY_ID"] = "nobody"
        let store = try TestServices.s3Store(prefix: "auth", environment: environment, retry: fastRetry)
        #expect { try store.get("anything") } throws: { ($0 as? ObjectStoreError)?.kind == .accessDenied }
    }

    @Test func anUnreachableEndpointFailsQuicklyAndReadably() throws {
        let store = try TestServices.s3Store(prefix: "x", endpoint: "http://127.0.0.1:9", retry: .quick)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try store.get("anything")
            Issue.record("a request to a closed port succeeded")
        } catch {
            #expect(error.kind == .transient)
            #expect(error.message.contains("127.0.0.1"), "\(error)")
            #expect(error.message.lowercased().contains("connect"), "\(error)")
        }
        #expect(clock.now - start < .seconds(10))
    }

    @Test func credentialsComeFromTheSharedFileWhenTheEnvironmentHasNone() throws {
        let directory = try TestServices.temporaryDirectory()
        let file = directory.appending("credentials").string
        try """
            [default]
            aws_access_key_id = wrong
            aws_secret_access_key = wrong

            [volumed]
            aws_access_key_id = \(try TestServices.value("VOLUMED_TEST_S3_ACCESS_KEY"))
            aws_secret_access_key = \(try TestServices.value("VOLUMED_TEST_S3_SECRET_KEY"))
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let environment = ["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "volumed", "AWS_REGION": "us-east-1"]
        let store = try TestServices.s3Store(prefix: "profile-\(UUID().uuidString.lowercased())", environment: environment)
        try store.put("k", data: Data("v".utf8))
        #expect(try store.get("k") == Data("v".utf8))
    }

    @Test func missingCredentialsAreAClearError() throws {
        #expect {
            try TestServices.s3Store(prefix: "x", environment: ["HOME": "/nonexistent"])
        } throws: { error in
            guard let error = error as? ObjectStoreError else { return false }
            return error.kind == .accessDenied && error.message.contains("AWS_ACCESS_KEY_ID")
        }
    }

    @Test func virtualHostStyleOnAWSAndPathStyleElsewhere() throws {
        let environment = ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"]
        let client = HTTPClient()
        let aws = try S3ObjectStore(uri: .init(parsing: "s3://my-bucket/p"), region: "eu-west-1", environment: environment, client: client)
        #expect(aws.region == "eu-west-1")
        #expect(aws.objectURL("a b/c") == "https://my-bucket.s3.eu-west-1.amazonaws.com/p/a%20b/c")
        let dotted = try S3ObjectStore(uri: .init(parsing: "s3://my.bucket"), region: "eu-west-1", environment: environment, client: client)
        #expect(dotted.objectURL("k") == "https://s3.eu-west-1.amazonaws.com/my.bucket/k", "dotted names break the TLS wildcard")
        let custom = try S3ObjectStore(
            uri: .init(parsing: "s3://my-bucket/p"), endpoint: "http://minio.local:9000/base/", environment: environment, client: client)
        #expect(custom.objectURL("k") == "http://minio.local:9000/base/my-bucket/p/k")
        let fromVariable = try S3ObjectStore(
            uri: .init(parsing: "s3://my-bucket"), environment: environment.merging(["AWS_ENDPOINT_URL": "http://10.0.0.1:8333"]) { a, _ in a },
            client: client)
        #expect(fromVariable.objectURL("k") == "http://10.0.0.1:8333/my-bucket/k")
        let fromEnvironment = try S3ObjectStore(uri: .init(parsing: "s3://my-bucket/p"), environment: environment.merging(["AWS_DEFAULT_REGION": "ap-south-1"]) { a, _ in a }, client: client)
        #expect(fromEnvironment.region == "ap-south-1")
        #expect(throws: ObjectStoreError.self) {
            try S3ObjectStore(uri: .init(parsing: "s3://my-bucket"), endpoint: "ftp://host", environment: environment, client: client)
        }
    }
}

/// The fault proxy's counters.
struct ProxyStats: Decodable {
    let requests: [String: Int]

    static func fetch(_ proxy: String) throws -> ProxyStats {
        let response = try TestServices.client.send(HTTPRequest(method: "GET", url: "\(proxy)/__stats"))
        return try JSONDecoder().decode(ProxyStats.self, from: response.body)
    }
}
