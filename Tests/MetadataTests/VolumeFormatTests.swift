import Metadata
import Testing

/// Every juicefs format feature volumed does not implement is refused, naming the setting.
@Suite struct VolumeFormatTests {
    @Test func aFormatVolumedWritesIsServedWithOrWithoutHashPrefix() throws {
        var format = VolumeFormat(name: "v", storage: "file", bucket: "/b/")
        try format.checkSupported()
        format.hashPrefix = true
        try format.checkSupported()
    }

    @Test(arguments: ["EncryptKey", "Compression \"zstd\"", "Shards 4", "MetaVersion 2", "EnableACL"])
    func unimplementedFeaturesAreRefusedByName(setting: String) {
        var format = VolumeFormat(name: "v", storage: "file", bucket: "/b/")
        switch setting {
        case "EncryptKey": format.encryptKey = "-----BEGIN RSA PRIVATE KEY-----"
        case "Compression \"zstd\"": format.compression = "zstd"
        case "Shards 4": format.shards = 4
        case "MetaVersion 2": format.metaVersion = 2
        default: format.enableACL = true
        }
        do {
            try format.checkSupported()
            Issue.record("\(setting) was accepted")
        } catch {
            #expect(error.errno == .notSupported && error.detail.contains("sets \(setting)"), "\(error)")
        }
    }
}
