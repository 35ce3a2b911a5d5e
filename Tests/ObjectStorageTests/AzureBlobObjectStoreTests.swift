import Foundation
import Testing
import StorageFormat

@testable import ObjectStorage

@Suite struct AzureBlobObjectStoreTests {
    @Test func aWrongAccountKeyIsAccessDenied() throws {
        let connection = "DefaultEndpointsProtocol=http;AccountName=\(try TestServices.value("VOLUMED_TEST_AZURE_ACCOUNT"));AccountKey=d3Jvbmcta2V5;BlobEndpoint=\(try TestServices.value("VOLUMED_TEST_AZURE_ENDPOINT"))"
        let store = try AzureBlobObjectStore(
            uri: try TestServices.azureURI(prefix: "denied"), environment: ["AZURE_STORAGE_CONNECTION_STRING": connection],
            retry: .quick, client: TestServices.client)
        #expect { try store.put("x", data: Data()) } throws: { error in
            guard let error = error as? ObjectStoreError else { return false }
            return error.kind == .accessDenied && error.message.contains("AuthenticationFailed")
        }
    }

    @Test func accountAndKeyFromTheEnvironmentSignLikeTheSDK() throws {
        let store = try AzureBlobObjectStore(
            uri: try TestServices.azureURI(prefix: "env-\(UUID().uuidString.lowercased())"),
            endpoint: try TestServices.value("VOLUMED_TEST_AZURE_ENDPOINT"),
            environment: [
                "AZURE_STORAGE_ACCOUNT": try TestServices.value("VOLUMED_TEST_AZURE_ACCOUNT"),
                "AZURE_STORAGE_KEY": try TestServices.value("VOLUMED_TEST_AZURE_KEY"),
            ],
            client: TestServices.client)
        try store.put("a/b c", data: Data("signed".utf8))
        #expect(try store.get("a/b c", range: 1..<4) == Data("ign".utf8))
        #expect(try store.listAll(prefix: "a/").map(\.key) == ["a/b c"])
    }

    @Test func connectionStringsAreParsed() throws {
        let development = try AzureCredentials.parse(connectionString: "UseDevelopmentStorage=true")
        #expect(development.account == "devstoreaccount1")
        #expect(development.blobEndpoint == "http://127.0.0.1:10000/devstoreaccount1")
        let suffix = try AzureCredentials.parse(
            connectionString: "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn")
        #expect(suffix.blobEndpoint == "https://acct.blob.core.chinacloudapi.cn")
        let sas = try AzureCredentials.parse(connectionString: "BlobEndpoint=https://acct.blob.core.windows.net;AccountName=acct;SharedAccessSignature=?sv=1&sig=x")
        guard case .sas(let token) = sas.authorization else { Issue.record("expected SAS"); return }
        #expect(token == "sv=1&sig=x")
        #expect(!"\(sas)".contains("sig=x"), "descriptions never show credentials")
        #expect(throws: ObjectStoreError.self) { try AzureCredentials.parse(connectionString: "AccountName=acct") }
        #expect(throws: ObjectStoreError.self) { try AzureCredentials.parse(connectionString: "AccountName=acct;AccountKey=not base64!") }
    }

    @Test func abfsURIsAreServedByTheBlobEndpoint() throws {
        let environment = ["AZURE_STORAGE_KEY": "a2V5"]
        let store = try AzureBlobObjectStore(
            uri: .init(parsing: "abfss://data@myaccount.dfs.core.windows.net/volumes"), environment: environment, client: TestServices.client)
        #expect(store.location == "abfss://data@myaccount.dfs.core.windows.net/volumes/")
        #expect(throws: ObjectStoreError.self) {
            try AzureBlobObjectStore(uri: .init(parsing: "wasb://data@myaccount.blob.core.windows.net"), environment: [:], client: TestServices.client)
        }
    }
}
