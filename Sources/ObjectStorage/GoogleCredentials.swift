import Cryptography
import Foundation
import HTTP
import Synchronization
import SystemBridge
import SystemPackage

/// OAuth2 access tokens for the GCS JSON API, minted from a service-account key
/// (an RS256-signed JWT exchanged at the key's `token_uri`) or from an authorized-user
/// refresh token, and cached until shortly before they expire.
public final class GoogleCredentials: Sendable {
    private enum Grant: Sendable {
        case serviceAccount(email: String, key: RSAPrivateKey, tokenURI: String)
        case authorizedUser(clientID: String, clientSecret: String, refreshToken: String, tokenURI: String)
    }

    public static let scope = "https://www.googleapis.com/auth/devstorage.read_write"

    private let grant: Grant
    private let client: HTTPClient
    private let cached = Mutex<(token: String, expiry: Date)?>(nil)

    /// Loads a credentials JSON file (`type` `service_account` or `authorized_user`).
    public init(file: String, client: HTTPClient) throws(ObjectStoreError) {
        guard let data = (try? FileSystem.contents(of: FilePath(file))) ?? nil,
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else {
            throw ObjectStoreError(.accessDenied, "cannot read Google credentials JSON from \(file)")
        }
        let tokenURI = json["token_uri"] as? String ?? "https://oauth2.googleapis.com/token"
        switch json["type"] as? String {
        case "service_account":
            guard let email = json["client_email"] as? String, let pem = json["private_key"] as? String else {
                throw ObjectStoreError(.accessDenied, "\(file): a service_account key needs client_email and private_key")
            }
            do {
                grant = .serviceAccount(email: email, key: try RSAPrivateKey(pem: pem), tokenURI: tokenURI)
            } catch {
                throw ObjectStoreError(.accessDenied, "\(file): unusable private_key (\(error))")
            }
        case "authorized_user":
            guard let id = json["client_id"] as? String, let secret = json["client_secret"] as? String,
                let refresh = json["refresh_token"] as? String
            else {
                throw ObjectStoreError(.accessDenied, "\(file): an authorized_user file needs client_id, client_secret and refresh_token")
            }
            grant = .authorizedUser(clientID: id, clientSecret: secret, refreshToken: refresh, tokenURI: tokenURI)
        default:
            throw ObjectStoreError(.accessDenied, "\(file): unsupported credentials type (expected service_account or authorized_user)")
        }
        self.client = client
    }

    /// A valid bearer token, fetching a new one when the cached one is within a minute of expiry.
    public func accessToken(retry: RetryPolicy) throws(ObjectStoreError) -> String {
        if let (token, expiry) = cached.withLock({ $0 }), expiry.timeIntervalSinceNow > 60 { return token }
        let transport = CloudTransport(client: client, retry: retry, errorDetail: GCSObjectStore.jsonErrorDetail)
        let (form, tokenURI) = try tokenRequest()
        let response = try transport.send("POST \(tokenURI) (OAuth2 token)") { () throws(ObjectStoreError) -> HTTPRequest in
            HTTPRequest(
                method: "POST", url: tokenURI, headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded")],
                body: .bytes(Data(form.utf8)))
        }
        guard let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any],
            let token = json["access_token"] as? String
        else {
            throw ObjectStoreError(.accessDenied, "the OAuth2 token endpoint \(tokenURI) returned no access_token")
        }
        let lifetime = (json["expires_in"] as? NSNumber)?.doubleValue ?? 3600
        cached.withLock { $0 = (token, Date().addingTimeInterval(lifetime)) }
        return token
    }

    private func tokenRequest() throws(ObjectStoreError) -> (form: String, tokenURI: String) {
        switch grant {
        case .serviceAccount(let email, let key, let tokenURI):
            let now = Int(Date().timeIntervalSince1970)
            let header = Self.base64URL(Data(#"{"alg":"RS256","typ":"JWT"}"#.utf8))
            let claims: [String: Any] = ["iss": email, "scope": Self.scope, "aud": tokenURI, "iat": now, "exp": now + 3600]
            let payload = Self.base64URL((try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])) ?? Data())
            let signingInput = "\(header).\(payload)"
            let signature: [UInt8]
            do {
                signature = try key.signSHA256(Array(signingInput.utf8))
            } catch {
                throw ObjectStoreError(.accessDenied, "signing the service-account JWT failed: \(error)")
            }
            let assertion = "\(signingInput).\(Self.base64URL(Data(signature)))"
            return (PercentEncoding.query([("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)]), tokenURI)
        case .authorizedUser(let id, let secret, let refresh, let tokenURI):
            return (PercentEncoding.query([
                ("grant_type", "refresh_token"), ("client_id", id), ("client_secret", secret), ("refresh_token", refresh),
            ]), tokenURI)
        }
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
