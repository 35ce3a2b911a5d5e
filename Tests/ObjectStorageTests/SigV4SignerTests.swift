import Foundation
import Testing

@testable import ObjectStorage

/// The signer against the worked examples in AWS's SigV4 documentation for S3
/// ("Examples of Signature Calculations": GET Object and PUT Object).
@Suite struct SigV4SignerTests {
    let signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z

    @Test func getObjectExample() {
        let headers = signer.sign(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", query: [],
            headers: [(name: "Range", value: "bytes=0-9")], payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(authorization(headers) == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(!headers.contains { $0.name == "host" }, "curl supplies Host from the URL")
    }

    @Test func putObjectExample() {
        let headers = signer.sign(
            method: "PUT", host: "examplebucket.s3.amazonaws.com", path: "/test%24file.text", query: [],
            headers: [(name: "Date", value: "Fri, 24 May 2013 00:00:00 GMT"), (name: "x-amz-storage-class", value: "REDUCED_REDUNDANCY")],
            payloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", date: date)
        #expect(authorization(headers) == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func sessionTokenIsSentAndSigned() {
        let withToken = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "token"), region: "eu-west-1")
        let headers = withToken.sign(method: "GET", host: "h", path: "/", query: [], headers: [], payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(headers.contains { $0.name == "x-amz-security-token" && $0.value == "token" })
        #expect(authorization(headers)?.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token") == true)
    }

    private func authorization(_ headers: [(name: String, value: String)]) -> String? {
        headers.first { $0.name == "Authorization" }?.value
    }
}
