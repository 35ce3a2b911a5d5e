import Foundation
import VolumeModel

/// A version's index as the bucket keeps it: the index file (a SQLite database or a Redis
/// RDB) cut into pieces, each stored once under its SHA-256 (`_pieces/…`) and shared by every
/// version and fork that holds the same bytes, listed in file order by this manifest
/// (`versions/<id>/index.manifest`, which the descriptor's `index` names). A commit then
/// uploads the pieces that changed and this list; a mount fetches the pieces it lacks.
struct IndexManifest: Codable, Equatable, Sendable {
    static let formatName = "volumed.index-pieces.v1"

    var format: String
    /// The engine whose file the pieces make up.
    var engine: MetadataStoreType
    /// The index file's length: the pieces' sizes add up to it.
    var size: Int64
    var pieces: [Piece]

    /// One piece: lower-case hex SHA-256 and length, encoded as a two-element array so that
    /// a manifest of thousands of pieces stays small.
    struct Piece: Codable, Equatable, Hashable, Sendable {
        var sha256: String
        var size: Int

        init(sha256: String, size: Int) {
            self.sha256 = sha256
            self.size = size
        }

        init(from decoder: any Decoder) throws {
            var fields = try decoder.unkeyedContainer()
            sha256 = try fields.decode(String.self)
            size = try fields.decode(Int.self)
        }

        func encode(to encoder: any Encoder) throws {
            var fields = encoder.unkeyedContainer()
            try fields.encode(sha256)
            try fields.encode(size)
        }
    }

    init(engine: MetadataStoreType, size: Int64, pieces: [Piece]) {
        format = Self.formatName
        self.engine = engine
        self.size = size
        self.pieces = pieces
    }

    /// Where a piece lives in the bucket: outside every volume's chunk prefix (a volume name
    /// cannot start with `_`), fanned out by its first two hex digits.
    static func key(of sha256: String) -> String { "_pieces/\(sha256.prefix(2))/\(sha256)" }

    var encoded: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }

    /// Parses a manifest and checks that it is one: known format, sound hashes and sizes.
    static func decode(_ data: Data, path: String) throws(VolumeError) -> IndexManifest {
        let manifest: IndexManifest
        do {
            manifest = try JSONDecoder().decode(IndexManifest.self, from: data)
        } catch {
            throw VolumeError(.integrityError, "the index manifest \(path) is not valid: \(error)", data: ["path": path])
        }
        let soundPieces = manifest.pieces.allSatisfy { piece in
            piece.size > 0 && piece.sha256.utf8.count == 64 && piece.sha256.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
        guard manifest.format == formatName, soundPieces, manifest.pieces.reduce(Int64(0), { $0 + Int64($1.size) }) == manifest.size else {
            throw VolumeError(.integrityError, "the index manifest \(path) is not a \(formatName) manifest of sound pieces", data: ["path": path])
        }
        return manifest
    }
}
