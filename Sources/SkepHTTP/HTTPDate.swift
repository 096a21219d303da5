/// A point in time with one-second resolution, as HTTP dates carry it, formatted and
/// parsed without Foundation.
///
/// Why: `Date`, `Last-Modified`, `If-Modified-Since` are on the request path, where
/// DESIGN.md §4 forbids Foundation. Formatting uses Howard Hinnant's days-from-civil
/// arithmetic. Parsing accepts the three formats RFC 9110 §5.6.7 requires recipients to
/// accept, as Apache's `apr_date_parse_http` does:
/// `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate), `Sunday, 06-Nov-94 08:49:37 GMT`
/// (RFC 850; two-digit years below 70 are 20xx) and `Sun Nov  6 08:49:37 1994` (asctime).
/// The weekday is not checked against the date (Apache does not either).
public struct HTTPDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var secondsSince1970: Int64

    @inlinable
    public init(secondsSince1970: Int64) { self.secondsSince1970 = secondsSince1970 }

    public static func < (a: HTTPDate, b: HTTPDate) -> Bool { a.secondsSince1970 < b.secondsSince1970 }

    /// The IMF-fixdate form, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    /// Written straight into the string's storage (one allocation): `Last-Modified` is
    /// formatted for every file served.
    public var description: String {
        String(unsafeUninitializedCapacity: Self.maximumLength) { write(into: $0) }
    }

    static let dayNames: StaticString = "ThuFriSatSunMonTueWed"  // 1970-01-01 was a Thursday
    static let monthNames: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"

    /// The longest form `write` produces (a year beyond 9999 takes more than four digits).
    static let maximumLength = 48

    /// Appends the 29 bytes of the IMF-fixdate form to `buffer`.
    public func append(to buffer: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maximumLength) { scratch in
            let count = write(into: scratch)
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<count]))
        }
    }

    /// Writes the IMF-fixdate form into `out` (room for `maximumLength` bytes) and
    /// returns its length: 29 for the years 0-9999.
    func write(into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var n = 0
        func put(_ byte: UInt8) { out[n] = byte; n += 1 }
        func two(_ v: Int) {
            put(UInt8(truncatingIfNeeded: 0x30 + v / 10))
            put(UInt8(truncatingIfNeeded: 0x30 + v % 10))
        }
        let s = secondsSince1970
        var days = s / 86400
        var secs = s % 86400
        if secs < 0 { secs += 86400; days -= 1 }
        let (y, m, d) = Self.civil(fromDays: days)
        var wd = Int(days % 7)  // trap-safe: a remainder of 7
        if wd < 0 { wd += 7 }
        let dn = Self.dayNames.utf8Start + wd * 3
        put(dn[0]); put(dn[1]); put(dn[2])
        put(0x2C); put(0x20)
        two(Int(d))  // trap-safe: a day of the month, 1...31
        put(0x20)
        let mn = Self.monthNames.utf8Start + (Int(m) - 1) * 3  // trap-safe: a month, 1...12
        put(mn[0]); put(mn[1]); put(mn[2])
        put(0x20)
        let year = Int(y)  // trap-safe: Int64 to Int is the same width on the 64-bit targets Skep builds for
        if year >= 0 && year <= 9999 {
            two(year / 100)
            two(year % 100)
        } else {
            for digit in String(year).utf8 { put(digit) }
        }
        put(0x20)
        two(Int(secs / 3600))  // trap-safe: seconds of one day over 3600, 0...23
        put(0x3A)
        two(Int(secs / 60 % 60))  // trap-safe: 0...59
        put(0x3A)
        two(Int(secs % 60))  // trap-safe: 0...59
        put(0x20)
        put(0x47); put(0x4D); put(0x54)  // GMT
        return n
    }

    /// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (Hinnant's civil_from_days).
    public static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// Days since 1970-01-01 of a civil date (Hinnant's days_from_civil).
    public static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    // MARK: - Parsing

    /// Parses any of the three HTTP date formats; nil if the text is none of them.
    public init?(_ text: String) {
        var t = text
        guard let v = t.withUTF8({ HTTPDate(parsing: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = v
    }

    /// Parses any of the three HTTP date formats from bytes (e.g. a header value range).
    public init?(parsing p: UnsafeRawBufferPointer) {
        guard let v = Self.parse(p) else { return nil }
        self = v
    }

    static func parse(_ p: UnsafeRawBufferPointer) -> HTTPDate? {
        let n = p.count
        var sp = 0
        while sp < n, p[sp] != 0x20 { sp += 1 }
        guard sp < n, sp >= 3 else { return nil }
        for k in 0..<(p[sp - 1] == 0x2C ? sp - 1 : sp) {
            guard (p[k] | 0x20) >= 0x61 && (p[k] | 0x20) <= 0x7A else { return nil }
        }
        var i = sp + 1
        func num(_ count: Int) -> Int64? {
            guard i + count <= n else { return nil }
            var v: Int64 = 0
            for k in 0..<count {
                let d = p[i + k] &- 0x30
                guard d < 10 else { return nil }
                v = v * 10 + Int64(d)  // trap-safe: d < 10 is checked above, and count digits (at most 4) fit
            }
            i += count
            return v
        }
        func lit(_ c: UInt8) -> Bool {
            guard i < n, p[i] == c else { return false }
            i += 1
            return true
        }
        func month() -> Int64? {
            guard i + 3 <= n else { return nil }
            let names = monthNames.utf8Start
            for m in 0..<12 where p[i] == names[m * 3] && p[i + 1] == names[m * 3 + 1] && p[i + 2] == names[m * 3 + 2] {
                i += 3
                return Int64(m + 1)  // trap-safe: a month index, 1...12
            }
            return nil
        }
        func time() -> (Int64, Int64, Int64)? {
            guard let h = num(2), lit(0x3A), let mi = num(2), lit(0x3A), let s = num(2) else { return nil }
            return (h, mi, s)
        }
        var year: Int64, mon: Int64, day: Int64, hms: (Int64, Int64, Int64)
        if p[sp - 1] == 0x2C {
            if sp - 1 == 3 {  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
                guard let d = num(2), lit(0x20), let m = month(), lit(0x20), let y = num(4), lit(0x20),
                      let t = time(), lit(0x20), lit(0x47), lit(0x4D), lit(0x54), i == n
                else { return nil }
                (year, mon, day, hms) = (y, m, d, t)
            } else {  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
                guard let d = num(2), lit(0x2D), let m = month(), lit(0x2D), let y = num(2), lit(0x20),
                      let t = time(), lit(0x20), lit(0x47), lit(0x4D), lit(0x54), i == n
                else { return nil }
                (year, mon, day, hms) = (y < 70 ? 2000 + y : 1900 + y, m, d, t)
            }
        } else {  // asctime: "Sun Nov  6 08:49:37 1994"
            guard sp == 3, let m = month(), lit(0x20) else { return nil }
            if i < n, p[i] == 0x20 { i += 1; guard let d = num(1) else { return nil }; day = d }
            else { guard let d = num(2) else { return nil }; day = d }
            guard lit(0x20), let t = time(), lit(0x20), let y = num(4), i == n else { return nil }
            (year, mon, hms) = (y, m, t)
        }
        let monthDays: Int64 = switch mon {
        case 2: 29
        case 4, 6, 9, 11: 30
        default: 31
        }
        guard day >= 1, day <= monthDays, hms.0 < 24, hms.1 < 60, hms.2 <= 60 else { return nil }
        if mon == 2 && day == 29 {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            if !leap { return nil }
        }
        let days = days(fromCivil: year, mon, day)
        return HTTPDate(secondsSince1970: days * 86400 + hms.0 * 3600 + hms.1 * 60 + min(hms.2, 59))
    }
}
