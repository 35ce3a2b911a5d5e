import Foundation

/// A parsed, validated object-store root: where a volume's objects live.
///
/// Parsing is strict because the parts end up in object keys, host names and file
/// paths: a URI that would escape its bucket or name another host is refused here.
public struct StorageURI: Sendable, Hashable, CustomStringConvertible {
    public let kind: StorageKind
    /// The scheme as written (`abfss`, `wasb`, …); it decides TLS for Azure.
    public let scheme: String
    /// S3/GCS bucket, Azure container, or the absolute directory of a `file` store.
    public let bucket: String
    /// Azure storage account; `nil` for the other kinds.
    public let account: String?
    /// Azure host from the URI (`account.blob.core.windows.net`); `nil` for the other kinds.
    public let host: String?
    /// Key prefix inside the bucket: empty, or ending with "/".
    public let prefix: String

    public init(parsing text: String, kind declared: StorageKind? = nil) throws(StorageURIError) {
        func fail(_ reason: String) -> StorageURIError { StorageURIError(uri: text, reason: reason) }

        guard let separator = text.range(of: "://") else { throw fail("missing scheme") }
        let scheme = String(text[..<separator.lowerBound]).lowercased()
        guard let kind = StorageKind(scheme: scheme) else { throw fail("unknown scheme \"\(scheme)\"") }
        if let declared, declared != kind {
            throw fail("storage \"\(declared.rawValue)\" does not match the \(scheme):// scheme")
        }
        let rest = String(text[separator.upperBound...])
        let forbidden: Set<Character> = ["?", "#", "\\", "\0"]
        guard !rest.contains(where: { (character: Character) in character.isWhitespace || forbidden.contains(character) }) else {
            throw fail("whitespace, '?', '#' and '\\' are not allowed")
        }

        self.kind = kind
        self.scheme = scheme
        if kind == .file {
            guard rest.hasPrefix("/") else { throw fail("a file:// URI needs an absolute path (file:///dir)") }
            let components = rest.split(separator: "/", omittingEmptySubsequences: true)
            guard !components.contains(where: { $0 == "." || $0 == ".." }) else { throw fail("'.' and '..' are not allowed") }
            guard !components.isEmpty else { throw fail("the root directory cannot be a bucket") }
            bucket = "/" + components.joined(separator: "/")
            account = nil
            host = nil
            prefix = ""
            return
        }

        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        prefix = try Self.normalizedPrefix(path, fail: fail)
        switch kind {
        case .s3, .gs:
            let (service, maxLength, punctuation) = kind == .s3 ? ("S3", 63, ".-") : ("GCS", 222, "._-")
            guard Self.isValidBucket(authority, maxLength: maxLength, extra: punctuation) else {
                throw fail("\(service) bucket names are 3-\(maxLength) characters of a-z, 0-9 and \(punctuation.map { "'\($0)'" }.joined(separator: ", "))")
            }
            bucket = String(authority)
            account = nil
            host = nil
        case .wasb:
            let parts = authority.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw fail("Azure URIs name container@account.host") }
            let container = parts[0]
            let hostName = parts[1].lowercased()
            guard Self.isValidBucket(container, maxLength: 63, extra: "-") else {
                throw fail("Azure container names are 3-63 characters of a-z, 0-9 and '-'")
            }
            let accountName = hostName.prefix { $0 != "." }
            guard accountName.count >= 3, accountName.count <= 24,
                accountName.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber) })
            else { throw fail("Azure account names are 3-24 characters of a-z and 0-9") }
            let hostPunctuation: Set<Character> = [".", "-", ":"]
            guard hostName.allSatisfy({ (character: Character) in
                character.isASCII && (character.isLetter || character.isNumber || hostPunctuation.contains(character))
            }) else {
                throw fail("invalid Azure host \"\(hostName)\"")
            }
            bucket = String(container)
            account = String(accountName)
            host = hostName
        case .file:
            preconditionFailure("handled above")
        }
    }

    /// Whether Azure traffic should use HTTPS (`abfss`, `wasbs`).
    public var usesTLS: Bool { scheme == "wasbs" || scheme == "abfss" }

    public var description: String {
        switch kind {
        case .file: "file://\(bucket)"
        case .wasb: "\(scheme)://\(bucket)@\(host ?? "")/\(prefix)"
        case .s3, .gs: "\(scheme)://\(bucket)/\(prefix)"
        }
    }

    private static func isValidBucket(_ name: Substring, maxLength: Int, extra: String) -> Bool {
        guard name.count >= 3, name.count <= maxLength, let first = name.first, let last = name.last else { return false }
        let edgeOK: (Character) -> Bool = { $0.isASCII && ($0.isLowercase || $0.isNumber) }
        return edgeOK(first) && edgeOK(last)
            && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || extra.contains($0)) }
    }

    private static func normalizedPrefix(_ path: Substring, fail: (String) -> StorageURIError) throws(StorageURIError) -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains(where: { $0 == "." || $0 == ".." }) else { throw fail("'.' and '..' are not allowed in the prefix") }
        return components.isEmpty ? "" : components.joined(separator: "/") + "/"
    }
}
