import SkepSystem

/// An expiry code as mod_expires keeps it: a base (the request's time or the file's
/// modification time) and a number of seconds after it. `A2592000` and `M604800` are
/// written so; `"access plus 1 month"` is converted to that form when read.
public struct ExpiresCode: Sendable, Equatable {
    public enum Base: Sendable, Equatable {
        case access, modification
    }

    public var base: Base
    public var seconds: Int

    public struct Failure: Error, Sendable {
        public let message: String
    }

    /// Apache's `check_code`. A code starting with an upper-case `A` or `M` is the short
    /// form, its number read as C's `atoi` (so `Access plus 1 day` is `A` and 0 seconds,
    /// as in Apache); otherwise `<base> [plus] {<num> <type>}*`, where only the first
    /// letter of the base, of `plus` and of each unit counts (two for `months` and `minutes`).
    public static func parse(_ code: String) throws(Failure) -> ExpiresCode {
        if let first = code.first, first == "A" || first == "M" {
            return ExpiresCode(base: first == "A" ? .access : .modification, seconds: atoi(code.dropFirst()))
        }
        var words = code.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)[...]
        let written = words.popFirst() ?? "", baseWord = written.lowercased()
        let base: Base
        if baseWord.hasPrefix("n") || baseWord.hasPrefix("a") {
            base = .access
        } else if baseWord.hasPrefix("m") {
            base = .modification
        } else {
            throw Failure(message: "bad expires code, unrecognised <base> '\(written)'")
        }
        if words.first?.lowercased().hasPrefix("p") == true { words.removeFirst() }
        var total = 0
        while let word = words.popFirst() {
            guard let digit = word.first, digit.isASCII, digit.isNumber else {
                throw Failure(message: "bad expires code, numeric value expected <num> '\(word)'")
            }
            let number = atoi(Substring(word))
            guard let unitWord = words.popFirst() else { throw Failure(message: "bad expires code, missing <type>") }
            let unit = unitWord.lowercased(), factor: Int
            if unit.hasPrefix("y") { factor = 60 * 60 * 24 * 365 }
            else if unit.hasPrefix("mo") { factor = 60 * 60 * 24 * 30 }
            else if unit.hasPrefix("w") { factor = 60 * 60 * 24 * 7 }
            else if unit.hasPrefix("d") { factor = 60 * 60 * 24 }
            else if unit.hasPrefix("h") { factor = 60 * 60 }
            else if unit.hasPrefix("mi") { factor = 60 }
            else if unit.hasPrefix("s") { factor = 1 }
            else { throw Failure(message: "bad expires code, unrecognised <type>'\(unitWord)'") }
            let (product, overflow1) = factor.multipliedReportingOverflow(by: number)
            let (sum, overflow2) = total.addingReportingOverflow(product)
            // Apache's int arithmetic would wrap; Skep keeps the largest value instead.
            total = overflow1 || overflow2 ? Int(Int32.max) : min(sum, Int(Int32.max))  // trap-safe: Int32.max widens to Int
        }
        return ExpiresCode(base: base, seconds: total)
    }

    /// C's `atoi`: leading blanks, a sign, digits; 0 when there are none. Clamped to Int32.
    static func atoi(_ text: Substring) -> Int {
        var s = text.drop { $0 == " " || $0 == "\t" }
        var negative = false
        if let sign = s.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            s = s.dropFirst()
        }
        var value = 0
        for c in s {
            guard let digit = c.wholeNumberValue, c.isASCII else { break }
            value = min(value * 10 + digit, Int(Int32.max) + 1)  // trap-safe: value is at most 2^31 before the step
        }
        return negative ? -value : min(value, Int(Int32.max))  // trap-safe: Int32.max widens; value <= 2^31, so negating it cannot overflow
    }

    /// When a response expires and its `max-age`, in seconds; nil for a modification
    /// base without a file (Apache's `APR_NOFILE`: the filter then adds nothing).
    func expiry(requestTime: Timestamp, modified: Timestamp?) -> (expires: Int64, maxAge: Int64)? {
        let start: Int64
        switch base {
        case .access: start = requestTime.microseconds
        case .modification:
            guard let modified else { return nil }
            start = modified.microseconds
        }
        let (sum, overflow) = start.addingReportingOverflow(Int64(seconds) * 1_000_000)  // trap-safe: |seconds| < 2^32, the product < 2^52
        let request = requestTime.microseconds
        let expires = overflow ? Int64.max : max(sum, request)
        return (expires / 1_000_000, (expires - request) / 1_000_000)  // trap-safe: expires >= request, both non-negative times
    }
}
