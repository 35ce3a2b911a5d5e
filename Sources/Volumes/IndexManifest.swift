import Cryptography
import Foundation
import Metadata
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
    /// For a Redis RDB in key order, each piece's key fence (`null` for a piece where no
    /// record starts), which lets a read-only mount find a key without the whole file.
    /// Absent from the manifests of versions committed before RDBs were ordered, which a
    /// mount downloads whole.
    var fences: [Fence?]?

    /// A piece's key fence: the offset of its first record and that record's key in
    /// lower-case hex, as a two-element array.
    struct Fence: Codable, Equatable, Sendable {
        var offset: Int64
        var key: [UInt8]

        init(_ fence: KeyFence) {
            offset = fence.offset
            key = fence.key
        }

        var keyFence: KeyFence { KeyFence(offset: offset, key: key) }

        init(from decoder: any Decoder) throws {
            var fields = try decoder.unkeyedContainer()
            offset = try fields.decode(Int64.self)
            guard let key = Hex.decode(try fields.decode(String.self)) else {
                throw DecodingError.dataCorruptedError(in: fields, debugDescription: "a key fence's key is not hex")
            }
            self.key = key
        }

        func encode(to encoder: any Encoder) throws {
            var fields = encoder.unkeyedContainer()
            try fields.encode(offset)
            try fields.encode(Hex.encode(key))
        }
    }

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

    init(engine: MetadataStoreType, size: Int64, pieces: [Piece], fences: [KeyFence?]? = nil) {
        format = Self.formatName
        self.engine = engine
        self.size = size
        self.pieces = pieces
        self.fences = fences?.map { $0.map(Fence.init) }
    }

    /// The key fences, for a reader of the RDB in place.
    var keyFences: [KeyFence?]? { fences?.map { $0?.keyFence } }

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
        guard manifest.fences.map(manifest.fencesAreSound) ?? true else {
            throw VolumeError(.integrityError, "the key fences of the index manifest \(path) do not each fall in their piece, in key order", data: ["path": path])
        }
        return manifest
    }

    /// One fence per piece, each inside its piece, keys ascending.
    private func fencesAreSound(_ fences: [Fence?]) -> Bool {
        guard engine == .redis, fences.count == pieces.count else { return false }
        var start: Int64 = 0
        var last: Fence?
        for (piece, fence) in zip(pieces, fences) {
            defer { start += Int64(piece.size) }
            guard let fence else { continue }
            guard fence.offset >= start, fence.offset < start + Int64(piece.size) else { return false }
            if let last, !last.key.lexicographicallyPrecedes(fence.key) { return false }
            last = fence
        }
        return true
    }
}
