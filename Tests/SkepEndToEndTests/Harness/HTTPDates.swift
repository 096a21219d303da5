import Foundation

/// RFC 9110's IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) in a response field, as
/// seconds since 1970, for comparing times two servers sent.
enum HTTPDates {
    static func parse(_ text: String) -> Int64? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }
}
