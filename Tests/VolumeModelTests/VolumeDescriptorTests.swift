import Foundation
import StorageFormat
import Testing
import VolumeModel

struct VolumeDescriptorTests {
    /// The seed's shape (no endpoint, chunk_prefix or access; extra fields) decodes with defaults.
    @Test func decodesLenientlyWithDefaults() throws {
        let json = """
            {"kind":"flyte.volume/v1","name":"ckpt-1","bucket":"s3://bkt/vols","region":null,"index":null,
             "metadata_store_type":null,"future_field":{"x":1},"used_bytes":null}
            """
        let descriptor = try VolumeDescriptor.decode(Data(json.utf8))
        #expect(descriptor.storage == .s3 && descriptor.chunkPrefix == "ckpt-1" && descriptor.metadataStoreType == .sqlite)
        #expect(descriptor.access == .rw && descriptor.index == nil && descriptor.producedBy == nil)

        let committed = """
            {"kind":"flyte.volume/v1","name":"ckpt-1","bucket":"gs://bkt","storage":"gs",
             "index":{"path":"gs://bkt/versions/v1/index.db","size":10,"sha256":"ab"}}
            """
        #expect(try VolumeDescriptor.decode(Data(committed.utf8)).access == .ro)
    }

    @Test func encodesDeterministicallyWithEveryField() throws {
        var descriptor = try VolumeDescriptor(name: "data-1", bucket: "file:///srv/bucket")
        descriptor.producedBy = ActionRef(name: "t", locator: "file:///srv/bucket/versions/v/volume.json")
        let encoded = String(decoding: descriptor.encoded(), as: UTF8.self)
        #expect(
            encoded
                == #"{"access":"rw","bucket":"file:///srv/bucket","chunk_prefix":"data-1","endpoint":null,"index":null,"index_bytes":null,"inode_count":null,"kind":"flyte.volume/v1","message":null,"metadata_store_type":"sqlite","name":"data-1","parent_produced_by":null,"produced_by":{"domain":null,"locator":"file:///srv/bucket/versions/v/volume.json","name":"t","org":null,"output_name":null,"project":null,"run_name":null},"region":null,"storage":"file","used_bytes":null}"#
        )
        #expect(try VolumeDescriptor.decode(descriptor.encoded(pretty: true)) == descriptor)
    }

    @Test(arguments: [
        (#"{"name":"a-1","bucket":"s3://b/p"}"#, "missing field kind"),
        (#"{"kind":"flyte.volume/v2","name":"abc","bucket":"s3://bkt"}"#, "kind must be"),
        (#"{"kind":"flyte.volume/v1","name":"../etc","bucket":"s3://bkt"}"#, "invalid volume name"),
        (#"{"kind":"flyte.volume/v1","name":"abc","bucket":"s3://bkt","storage":"gs"}"#, "does not match"),
        (#"{"kind":"flyte.volume/v1","name":"abc","bucket":"s3://bkt","chunk_prefix":"a/b"}"#, "chunk_prefix"),
        (#"{"kind":"flyte.volume/v1","name":"abc","bucket":"s3://bkt","endpoint":"http://u:p@host"}"#, "without credentials"),
        (#"{"kind":"flyte.volume/v1","name":"abc","bucket":"s3://bkt","access":"ro"}"#, "needs an index"),
        (#"{"kind":"flyte.volume/v1","name":"abc","bucket":"s3://bkt","used_bytes":"lots"}"#, "used_bytes"),
        ("not json", "malformed JSON"),
    ])
    func refusesWhatWouldReachAKeyOrPath(json: String, reason: String) {
        do {
            _ = try VolumeDescriptor.decode(Data(json.utf8))
            Issue.record("\(json) must be refused")
        } catch {
            #expect(error.code == .invalidParams)
            #expect(error.message.contains(reason), "\(error.message)")
        }
    }
}
