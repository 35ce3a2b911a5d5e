import Foundation
import HTTP
import Testing

/// The client against the fault proxy and the S3 server started by the test services.
@Suite struct HTTPClientTests {
    let client = HTTPClient(timeouts: .init(connect: .seconds(2), stall: .seconds(5)))

    private func proxy() throws -> String {
        guard let value = ProcessInfo.processInfo.environment["VOLUMED_TEST_FAULT_PROXY"] else {
            throw MissingService()
        }
        return value
    }

    struct MissingService: Error, CustomStringConvertible {
        var description: String { "VOLUMED_TEST_FAULT_PROXY is not set: run the tests through scripts/test.sh" }
    }

    @Test func getReturnsStatusHeadersAndBody() throws {
        let response = try client.send(HTTPRequest(method: "GET", url: "\(try proxy())/__stats"))
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "application/json")
        #expect((try JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["requests"] != nil)
    }

    @Test func manySequentialRequestsThroughOneClient() throws {
        for _ in 0..<50 {
            #expect(try client.send(HTTPRequest(method: "GET", url: "\(try proxy())/__stats")).status == 200)
        }
    }

    @Test func aClosedPortIsATransientTransportError() {
        #expect {
            try client.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:9/"))
        } throws: { error in
            guard let error = error as? HTTPTransportError else { return false }
            return error.isTransient && error.message.contains("127.0.0.1")
        }
    }

    @Test func aMissingUploadFileIsAPermanentError() {
        #expect {
            try client.send(HTTPRequest(method: "PUT", url: "http://127.0.0.1:9/x", body: .file(path: "/nonexistent/file", length: 1)))
        } throws: { error in
            (error as? HTTPTransportError)?.isTransient == false
        }
    }
}
