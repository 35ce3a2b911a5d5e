import Foundation
import Testing

@testable import ObjectStorage

/// The arithmetic date formats against Foundation's own formatter, over four centuries.
@Suite struct HTTPDateTests {
    private func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = format
        return formatter
    }

    @Test func formatsMatchFoundationAndParseBack() {
        let rfc1123 = formatter("EEE, dd MMM yyyy HH:mm:ss 'GMT'")
        let amz = formatter("yyyyMMdd'T'HHmmss'Z'")
        var random = SystemRandomNumberGenerator()
        let edges: [TimeInterval] = [0, -1, 86_399, 86_400, 951_782_400, 1_369_353_600, 4_107_542_399]
        let samples = edges + (0..<2000).map { _ in TimeInterval(Int64.random(in: -2_208_988_800..<10_413_792_000, using: &random)) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(HTTPDate.rfc1123(date) == rfc1123.string(from: date), "\(seconds)")
            #expect(HTTPDate.amzTimestamp(date) == amz.string(from: date), "\(seconds)")
            #expect(HTTPDate.parseRFC1123(HTTPDate.rfc1123(date)) == date, "\(seconds)")
        }
        #expect(HTTPDate.amzTimestamp(Date(timeIntervalSince1970: 1_369_353_600.9)) == "20130524T000000Z")
    }

    @Test func malformedHeaderDatesAreNil() {
        for text in ["", "Fri, 24 May 2013 00:00:00", "Fri, 24 Mai 2013 00:00:00 GMT", "Fri, 24 May 2013 25:00:00 GMT", "Fri, 2x May 2013 00:00:00 GMT"] {
            #expect(HTTPDate.parseRFC1123(text) == nil, "\(text)")
        }
    }
}
