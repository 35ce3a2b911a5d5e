import Foundation
@testable import Metadata
import SystemPackage
import TestSupport
import Testing

@Suite struct JSONStreamReaderTests {
    private func tokens(_ text: String) throws -> [JSONStreamReader.Token] {
        let path = try Scratch.directory("json").appending("input.json")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path.string))
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        var reader = JSONStreamReader(descriptor: descriptor)
        var tokens: [JSONStreamReader.Token] = []
        while let token = try reader.next() { tokens.append(token) }
        return tokens
    }

    @Test func readsNestedValuesWithEscapes() throws {
        let parsed = try tokens(#" {"a": [1, -2.5, true, null, "x\"\\\n\u00e9\ud83d\ude00"], "b": {}} "#)
        #expect(parsed == [
            .beginObject, .string("a"), .beginArray, .integer(1), .double(-2.5), .bool(true), .null, .string("x\"\\\né😀"), .endArray,
            .string("b"), .beginObject, .endObject, .endObject,
        ])
    }

    @Test func valuesSpanningTheReadBufferArriveWhole() throws {
        let long = String(repeating: "y", count: (1 << 20) + 17)
        #expect(try tokens(#"["\#(long)", 123456]"#) == [.beginArray, .string(long), .integer(123_456), .endArray])
    }

    @Test(arguments: [#"{"a" 1}"#, #"[1 2]"#, #"{"a": 1"#, #"[1]]"#, #"{"a": tru}"#, #"["open"#])
    func malformedJSONIsAnInvalidArgumentWithAPosition(text: String) throws {
        let error = #expect(throws: MetaError.self) { _ = try tokens(text) }
        #expect(error?.errno == .invalidArgument)
        #expect(error?.detail.contains("near byte") == true)
    }

    @Test func capturedValuesKeepTheirText() throws {
        let path = try Scratch.directory("json").appending("input.json")
        try Data(#"{"Setting": {"Name": "v", "List": [1, {"k": "a,b"}]}, "next": 1}"#.utf8).write(to: URL(fileURLWithPath: path.string))
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        var reader = JSONStreamReader(descriptor: descriptor)
        #expect(try reader.next() == .beginObject)
        #expect(try reader.next() == .string("Setting"))
        let start = try #require(try reader.next())
        #expect(try reader.captureValue(startingWith: start) == #"{"Name": "v", "List": [1, {"k": "a,b"}]}"#)
        #expect(try reader.next() == .string("next"))
        #expect(try reader.next() == .integer(1))
    }
}
