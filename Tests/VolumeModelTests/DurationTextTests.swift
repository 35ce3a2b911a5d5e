import Testing
import VolumeModel

@Suite struct DurationTextTests {
    @Test func acceptsTheUsualSpellings() throws {
        #expect(try DurationText.parse("30s") == .seconds(30))
        #expect(try DurationText.parse("5m") == .seconds(300))
        #expect(try DurationText.parse("1h") == .seconds(3600))
        #expect(try DurationText.parse("1h30m") == .seconds(5400))
        #expect(try DurationText.parse("250ms") == .milliseconds(250))
        #expect(try DurationText.parse(" 45 ") == .seconds(45))
        #expect(try DurationText.parse("0") == .zero)
    }

    @Test(arguments: ["", "s", "-5s", "5x", "1.5h", "m5", "5 m"])
    func rejectsAnythingElseNamingTheForms(text: String) {
        let error = #expect(throws: DurationText.Invalid.self) { _ = try DurationText.parse(text) }
        #expect(error?.description.contains("30s") == true)
    }
}
