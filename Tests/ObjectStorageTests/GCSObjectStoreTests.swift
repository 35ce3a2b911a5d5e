import Foundation
import HTTP
import StorageFormat
import TestSupport
import Testing

@testable import ObjectStorage

/// Serialized: two of its tests count the token endpoint's grants and refusals, which the
/// others change.
@Suite(.serialized) struct GCSObjectStoreTests {
    /// A service-account key signs an RS256 JWT that a token endpoint verifies with the
    /// public key; the token is cached across requests.
    @Test func serviceAccountTokensAreMintedOnceAndReused() throws {
        let oracle = try TestServices.value("VOLUMED_TEST_OAUTH_ORACLE")
        let before = try tokenStats(oracle)
        let uri = try StorageURI(parsing: "gs://\(try TestServices.value("VOLUMED_TEST_GCS_BUCKET"))/jwt-\(UUID().uuidString.lowercased())")
        let store = try GCSObjectStore(
            uri: uri,
            environment: [
                "STORAGE_EMULATOR_HOST": try TestServices.value("VOLUMED_TEST_GCS_HOST"),
                "GOOGLE_APPLICATION_CREDENTIALS": try TestServices.value("VOLUMED_TEST_GCS_CREDENTIALS"),
            ],
            client: TestServices.client)
        try store.put("a", data: Data("1".utf8))
        #expect(try store.get("a") == Data("1".utf8))
        #expect(try store.listAll().count == 1)
        let after = try tokenStats(oracle)
        #expect(after.issued - before.issued == 1, "one token serves every request until it nears expiry")
        #expect(after.refused == before.refused)
    }

    @Test func aKeyTheEndpointDoesNotTrustIsRefused() throws {
        let oracle = try TestServices.value("VOLUMED_TEST_OAUTH_ORACLE")
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try TestServices.value("VOLUMED_TEST_GCS_CREDENTIALS")))) as! [String: Any]
        var forged = original
        forged["private_key"] = try generateRSAKeyPEM()
        let file = try TestServices.temporaryDirectory().appending("forged.json").string
        try JSONSerialization.data(withJSONObject: forged).write(to: URL(fileURLWithPath: file))
        let credentials = try GoogleCredentials(file: file, client: TestServices.client)
        #expect { try credentials.accessToken(retry: .quick) } throws: { error in
            guard let error = error as? ObjectStoreError else { return false }
            return error.message.contains("invalid_grant") && error.message.contains("signature")
        }
        #expect(try tokenStats(oracle).refused >= 1)
    }

    @Test func withoutCredentialsOutsideAnEmulatorTheErrorSaysWhatToSet() throws {
        #expect {
            try GCSObjectStore(uri: .init(parsing: "gs://bucket-x"), environment: ["HOME": "/nonexistent"], client: TestServices.client)
        } throws: { ($0 as? ObjectStoreError)?.message.contains("GOOGLE_APPLICATION_CREDENTIALS") == true }
    }

    private func tokenStats(_ oracle: String) throws -> (issued: Int, refused: Int) {
        let body = try TestServices.client.send(HTTPRequest(method: "GET", url: "\(oracle)/__stats")).body
        let json = try JSONSerialization.jsonObject(with: body) as! [String: Int]
        return (json["issued"]!, json["refused"]!)
    }

    private func generateRSAKeyPEM() throws -> String {
        try Command.check(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]).stdout
    }
}
