/// A file of a version returned by `volume.cat`, its bytes in base64 (JSON carries no raw bytes).
public struct FileContent: Codable, Sendable, Equatable {
    public var path: String
    public var size: Int
    public var contentBase64: String

    enum CodingKeys: String, CodingKey {
        case path, size, contentBase64 = "content_base64"
    }

    public init(path: String, size: Int, contentBase64: String) {
        self.path = path
        self.size = size
        self.contentBase64 = contentBase64
    }
}
