import CCrypto
import Foundation

/// HMAC-SHA256, the primitive behind AWS SigV4 and Azure SharedKey signatures.
public enum HMAC {
    public static func sha256<Key: ContiguousBytes, Message: ContiguousBytes>(key: Key, message: Message) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: SHA256.byteCount)
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                mac.withUnsafeMutableBufferPointer { out in
                    CCrypto.HMAC(
                        EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count),
                        messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBytes.count,
                        out.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == SHA256.byteCount, "libcrypto HMAC failed: \(OpenSSLError.last())")
        return mac
    }

    public static func sha256<Key: ContiguousBytes>(key: Key, message: String) -> [UInt8] {
        sha256(key: key, message: Array(message.utf8))
    }
}
