import Foundation

/// The date formats object stores speak: RFC 1123 in headers, ISO 8601 in listings,
/// and the compact SigV4 stamps.
///
/// The formats every request carries are computed from the Unix time directly: a
/// `DateFormatter` costs more to build than the rest of signing a request, and uploads
/// of small files sign thousands of them a second.
enum HTTPDate {
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Fri, 24 May 2013 00:00:00 GMT`
    static func rfc1123(_ date: Date) -> String {
        let time = CivilTime(date)
        return "\(weekdays[time.weekday]), \(pad(time.day)) \(months[time.month - 1]) \(time.year) "
            + "\(pad(time.hour)):\(pad(time.minute)):\(pad(time.second)) GMT"
    }

    /// Parses `Fri, 24 May 2013 00:00:00 GMT` (the only form RFC 9110 lets servers send).
    static func parseRFC1123(_ text: String) -> Date? {
        let fields = text.split(separator: " ")
        guard fields.count == 6, fields[5] == "GMT" || fields[5] == "UTC",
            let day = Int(fields[1]), let month = months.firstIndex(of: String(fields[2])), let year = Int(fields[3])
        else { return nil }
        let clock = fields[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...31).contains(day), (0..<24).contains(clock[0]), (0..<60).contains(clock[1]), (0...60).contains(clock[2])
        else { return nil }
        let days = CivilTime.daysSinceEpoch(year: year, month: month + 1, day: day)
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + clock[0] * 3600 + clock[1] * 60 + clock[2]))
    }

    /// `20130524T000000Z`
    static func amzTimestamp(_ date: Date) -> String {
        let time = CivilTime(date)
        return "\(time.year)\(pad(time.month))\(pad(time.day))T\(pad(time.hour))\(pad(time.minute))\(pad(time.second))Z"
    }

    /// ISO 8601 with or without fractional seconds.
    static func parseISO8601(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// A UTC instant in calendar fields (proleptic Gregorian), whole seconds.
    private struct CivilTime {
        let year, month, day, hour, minute, second: Int
        /// 0 is Thursday, the weekday of 1970-01-01.
        let weekday: Int

        init(_ date: Date) {
            let seconds = Int(date.timeIntervalSince1970.rounded(.down))
            let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
            hour = secondOfDay / 3600
            minute = secondOfDay % 3600 / 60
            second = secondOfDay % 60
            weekday = days.floorDivided(by: 7).remainder
            // Days to a date, counting in 400-year eras that start on 1 March.
            let (era, _) = (days + 719_468).floorDivided(by: 146_097)
            let dayOfEra = days + 719_468 - era * 146_097
            let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
            let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
            let shiftedMonth = (5 * dayOfYear + 2) / 153
            day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
            month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
            year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        }

        /// The inverse: days from 1970-01-01 to a calendar date.
        static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
            let shiftedYear = month <= 2 ? year - 1 : year
            let (era, _) = shiftedYear.floorDivided(by: 400)
            let yearOfEra = shiftedYear - era * 400
            let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            return era * 146_097 + dayOfEra - 719_468
        }
    }
}

extension Int {
    /// Division rounding towards minus infinity, with a remainder that is never negative.
    fileprivate func floorDivided(by divisor: Int) -> (quotient: Int, remainder: Int) {
        let remainder = ((self % divisor) + divisor) % divisor
        return ((self - remainder) / divisor, remainder)
    }
}
