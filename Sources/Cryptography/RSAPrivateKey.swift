import CCrypto
import Foundation

/// An RSA private key loaded from PEM, used to sign OAuth2 JWT assertions (RS256) for
/// Google service accounts.
public final class RSAPrivateKey: @unchecked Sendable {
    // EVP_PKEY is immutable once loaded and libcrypto allows concurrent signing with it.
    private let key: OpaquePointer

    public init(pem: String) throws(OpenSSLError) {
        let bytes = Array(pem.utf8)
        let loaded: OpaquePointer? = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let loaded else { throw OpenSSLError.last(context: "reading a PEM private key") }
        guard EVP_PKEY_get_base_id(loaded) == EVP_PKEY_RSA else {
            EVP_PKEY_free(loaded)
            throw OpenSSLError(message: "the PEM key is not an RSA key")
        }
        key = loaded
    }

    deinit { EVP_PKEY_free(key) }

    /// RSASSA-PKCS1-v1_5 with SHA-256 (JWS "RS256").
    public func signSHA256<Message: ContiguousBytes>(_ message: Message) throws(OpenSSLError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLError.last(context: "allocating a digest context") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else {
            throw OpenSSLError.last(context: "initialising RS256 signing")
        }
        let signature: [UInt8]? = message.withUnsafeBytes { raw in
            var length = 0
            guard EVP_DigestSign(context, nil, &length, raw.baseAddress, raw.count) == 1 else { return nil }
            var signature = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(context, &signature, &length, raw.baseAddress, raw.count) == 1 else { return nil }
            return Array(signature.prefix(length))
        }
        guard let signature else { throw OpenSSLError.last(context: "RS256 signing") }
        return signature
    }
}
