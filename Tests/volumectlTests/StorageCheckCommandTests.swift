import Foundation
import TestSupport
import Testing

/// `volumectl storage check` as users run it: the real binary against the real peers.
@Suite struct StorageCheckCommandTests {
    @Test func passesOnTheEmbeddedFileBackend() throws {
        let directory = try Scratch.directory("check").string
        let result = try VolumeCtl.run(["storage", "check", "file://\(directory)"])
        #expect(result.status == 0, "\(result.stderr)")
        for step in ["put", "get", "ranged get", "head", "list", "create", "create again (must be refused)", "delete", "get after delete"] {
            #expect(result.stderr.contains("  \(step) "), "step \(step) is reported")
        }
        #expect(result.stderr.contains("is ready for volumes"))
        #expect(result.stdout.isEmpty, "messages for people go to stderr")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: directory) == ["testing"], "the check deletes what it wrote")
    }

    @Test func passesAgainstEachStartedService() throws {
        let s3 = try VolumeCtl.run(
            ["storage", "check", "s3://\(try service("VOLUMED_TEST_S3_BUCKET"))/check"],
            environment: [
                "AWS_ACCESS_KEY_ID": try service("VOLUMED_TEST_S3_ACCESS_KEY"), "AWS_SECRET_ACCESS_KEY": try service("VOLUMED_TEST_S3_SECRET_KEY"),
                "AWS_ENDPOINT_URL": try service("VOLUMED_TEST_S3_ENDPOINT"),
            ])
        #expect(s3.status == 0, "\(s3.stderr)")
        let gcs = try VolumeCtl.run(
            ["storage", "check", "gs://\(try service("VOLUMED_TEST_GCS_BUCKET"))/check"],
            environment: ["STORAGE_EMULATOR_HOST": try service("VOLUMED_TEST_GCS_HOST")])
        #expect(gcs.status == 0, "\(gcs.stderr)")
        let account = try service("VOLUMED_TEST_AZURE_ACCOUNT")
        let azure = try VolumeCtl.run(
            ["storage", "check", "wasbs://\(try service("VOLUMED_TEST_AZURE_CONTAINER"))@\(account).blob.core.windows.net/check"],
            environment: [
                "AZURE_STORAGE_CONNECTION_STRING":
                    "AccountName=\(account);AccountKey=\(try service("VOLUMED_TEST_AZURE_KEY"));BlobEndpoint=\(try service("VOLUMED_TEST_AZURE_ENDPOINT"))"
            ])
        #expect(azure.status == 0, "\(azure.stderr)")
    }

    @Test func wrongCredentialsFailReadablyWithoutEchoingTheSecret() throws {
        let result = try VolumeCtl.run(
            ["storage", "check", "s3://\(try service("VOLUMED_TEST_S3_BUCKET"))/check", "--endpoint", try service("VOLUMED_TEST_S3_ENDPOINT")],
            environment: ["AWS_ACCESS_KEY_ID": try service("VOLUMED_TEST_S3_ACCESS_KEY"), "AWS_SECRET_ACCESS_KEY": "definitely-wrong-secret"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("put failed"))
        #expect(result.stderr.contains("SignatureDoesNotMatch"))
        #expect(!result.stderr.contains("definitely-wrong-secret"))
    }

    @Test func anUnreachableEndpointFailsReadably() throws {
        let result = try VolumeCtl.run(
            ["storage", "check", "s3://some-bucket", "--endpoint", "http://127.0.0.1:9", "--timeout", "2"],
            environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("put failed"))
        #expect(result.stderr.lowercased().contains("connect"), "\(result.stderr)")
    }

    @Test func aMalformedURIIsAUsageError() throws {
        let result = try VolumeCtl.run(["storage", "check", "s3:/nope"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("accepted forms"))
    }

    private func service(_ name: String) throws -> String { try ServiceEnvironment.value(name) }
}

/// Runs the built `volumectl` binary with a clean environment plus `environment`.
enum VolumeCtl {
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Command.Result {
        try Command.run([BuiltProduct.path("volumectl")] + arguments, environment: environment, clean: true)
    }
}
