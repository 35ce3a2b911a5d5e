import StorageFormat
import Testing

@Suite struct StorageURITests {
    @Test func kindsAreInferredFromTheScheme() throws {
        #expect(try StorageURI(parsing: "s3://bucket/a/b").kind == .s3)
        #expect(try StorageURI(parsing: "gs://bucket").kind == .gs)
        #expect(try StorageURI(parsing: "wasb://c0n@acct.blob.core.windows.net/p").kind == .wasb)
        #expect(try StorageURI(parsing: "wasbs://c0n@acct.blob.core.windows.net").kind == .wasb)
        #expect(try StorageURI(parsing: "abfs://c0n@acct.dfs.core.windows.net").kind == .wasb)
        #expect(try StorageURI(parsing: "abfss://c0n@acct.dfs.core.windows.net/x").kind == .wasb)
        #expect(try StorageURI(parsing: "file:///var/lib/volumed/bucket").kind == .file)
    }

    @Test func partsAreSplitAndPrefixesNormalised() throws {
        let s3 = try StorageURI(parsing: "s3://my-bucket//team/vols/")
        #expect(s3.bucket == "my-bucket")
        #expect(s3.prefix == "team/vols/")
        #expect(s3.description == "s3://my-bucket/team/vols/")
        #expect(try StorageURI(parsing: "s3://my-bucket").prefix == "")

        let azure = try StorageURI(parsing: "abfss://data@myacct.dfs.core.windows.net/p")
        #expect(azure.bucket == "data")
        #expect(azure.account == "myacct")
        #expect(azure.host == "myacct.dfs.core.windows.net")
        #expect(azure.usesTLS)
        #expect(!(try StorageURI(parsing: "wasb://data@myacct.blob.core.windows.net").usesTLS))

        let file = try StorageURI(parsing: "file:///srv//volumes/")
        #expect(file.bucket == "/srv/volumes")
        #expect(file.description == "file:///srv/volumes")
    }

    @Test func aDeclaredStorageMustMatchTheScheme() throws {
        #expect(try StorageURI(parsing: "s3://bucket", kind: .s3).kind == .s3)
        #expect(throws: StorageURIError.self) { try StorageURI(parsing: "s3://bucket", kind: .gs) }
    }

    @Test(arguments: [
        "", "bucket", "http://bucket", "s3:/bucket", "s3://", "s3://ab", "s3://Bucket", "s3://-bucket", "s3://bucket/../x",
        "s3://bucket/a b", "s3://bucket?x=1", "gs://b#frag", "wasb://container", "wasb://c@a.blob.core.windows.net",
        "wasb://UPPER@acct.blob.core.windows.net", "wasb://data@my_acct.blob.core.windows.net", "file://relative/path",
        "file:///", "file:///a/../b", "file:///a/./b", "s3://bucket\\x",
    ])
    func malformedURIsAreRefusedNamingTheAcceptedForms(text: String) {
        do {
            _ = try StorageURI(parsing: text)
            Issue.record("\(text.debugDescription) was accepted")
        } catch {
            #expect(error.description.contains("s3://bucket[/prefix]"))
            #expect(error.description.contains("file:///absolute/dir"))
        }
    }
}
