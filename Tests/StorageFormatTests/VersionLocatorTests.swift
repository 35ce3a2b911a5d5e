import Foundation
import StorageFormat
import Testing

struct VersionLocatorTests {
    @Test func roundTripsAndSplitsBucketFromKey() throws {
        let id = VersionLocator.newID()
        #expect(id.count == 32)
        #expect(VersionLocator.newID(now: Date(timeIntervalSince1970: 1_000_000_000.25)).hasPrefix("20010909T014640250Z-"))
        let locator = try VersionLocator(bucket: "s3://bkt/vols/", id: id)
        #expect(locator.description == "s3://bkt/vols/versions/\(id)/volume.json")
        #expect(locator.indexKey(fileExtension: "rdb") == "versions/\(id)/index.rdb")
        let parsed = try VersionLocator(parsing: locator.description)
        #expect(parsed == locator)
    }

    @Test(arguments: ["s3://bkt/versions/x/index.db", "s3://bkt/versions/../volume.json", "nothing", "ftp://h/versions/a/volume.json"])
    func refusesOtherURIs(uri: String) {
        #expect(throws: FormatError.self) { try VersionLocator(parsing: uri) }
    }
}
