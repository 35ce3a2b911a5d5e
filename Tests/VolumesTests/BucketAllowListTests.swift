import Testing
import VolumeModel

@testable import Volumes

struct BucketAllowListTests {
    @Test func aPrefixAllowsItselfAndWhatIsUnderItAtAPathBoundary() throws {
        let list = try BucketAllowList(["s3://team-data", "file:///srv/volumes/", "gs://shared/pre"])
        for allowed in ["s3://team-data", "s3://team-data/", "s3://team-data/nested/x", "file:///srv/volumes", "file:///srv/volumes/a", "gs://shared/pre/b"] {
            #expect(throws: Never.self, "\(allowed)") { try list.check(allowed) }
        }
        for refused in ["s3://team-data-evil", "file:///srv/volumes-other", "file:///srv", "gs://shared/prefix", "gs://shared", "s3://other"] {
            #expect("\(refused)", performing: { try list.check(refused) }, throws: { ($0 as? VolumeError)?.code == .permissionDenied })
        }
    }

    @Test func aBucketThatDoesNotParseIsInvalidNotForbidden() throws {
        let list = try BucketAllowList(["file:///srv/volumes"])
        for bad in ["file:///srv/volumes/../etc", "file://relative", "ftp://x"] {
            #expect("\(bad)", performing: { try list.check(bad) }, throws: { ($0 as? VolumeError)?.code == .invalidParams })
        }
        #expect(throws: (any Error).self) { try BucketAllowList(["not a uri"]) }
    }
}
