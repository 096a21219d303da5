/// Typed readings of a directive's arguments, each failing with Apache-like wording
/// and the directive's file:line. Every number is checked and bounded here, so no
/// value from a configuration can overflow where it is used.
extension Directive {
    /// A whole number within `range` (Apache's MPM directives reject what `atoi` would
    /// silently read as 0). Garbage, an empty word, `inf`, `nan` and values that do not
    /// fit are refused with the allowed range.
    public func integer(_ index: Int = 0, in range: ClosedRange<Int> = 0...Int(Int32.max)) throws(ConfigError) -> Int {
        try Self.integer(arguments[index], in: range) { message throws(ConfigError) in throw error("\(name): \(message)") }
    }

    /// `text` as a whole number within `range`; `fail` gets the message (without the
    /// directive's name) when it is not one. For directives whose numbers are parts of
    /// a longer argument (`key=value`, `10-20`).
    public static func integer(
        _ text: some StringProtocol, in range: ClosedRange<Int>, fail: (String) throws(ConfigError) -> Never
    ) throws(ConfigError) -> Int {
        guard let value = Int(text) else { try fail("'\(text)' is not a whole number (\(describe(range)))") }
        guard range.contains(value) else { try fail("\(value) is out of range: it must be \(describe(range))") }
        return value
    }

    /// "between 1 and 10" (or "at least 1" for an unbounded range).
    static func describe(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
    }

    /// On or Off, case-insensitively (Apache's FLAG).
    public func flag(_ index: Int = 0) throws(ConfigError) -> Bool {
        switch arguments[index].lowercased() {
        case "on": return true
        case "off": return false
        default: throw error("\(name) must be On or Off")
        }
    }

    /// The longest time any directive may name, in milliseconds: `poll` and `epoll_wait`
    /// take an `Int32` of milliseconds (about 24.8 days).
    public static let longestMilliseconds = Int(Int32.max)
    /// The longest time in whole seconds (2147483 s).
    public static let longestSeconds = longestMilliseconds / 1000

    /// A duration as Apache's `ap_timeout_parameter_parse` reads it: seconds by default,
    /// or with a unit suffix `ms`, `s`, `mi` (minutes), `h`. Returned in milliseconds, at
    /// most `longestMilliseconds`.
    public func durationMilliseconds(_ index: Int = 0) throws(ConfigError) -> Int {
        let text = arguments[index].lowercased()
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        let unit = text.dropFirst(digits.count)
        let limit = "it must be at most \(Self.longestSeconds) seconds (\(Self.longestMilliseconds)ms)"
        guard let value = Int(digits) else {
            if !digits.isEmpty { throw error("\(name): '\(arguments[index])' is too long: \(limit)") }
            throw error("\(name): '\(arguments[index])' is not a valid duration (seconds, or a number with ms, s, mi or h)")
        }
        let scale: Int
        switch unit {
        case "", "s": scale = 1000
        case "ms": scale = 1
        case "mi": scale = 60_000
        case "h": scale = 3_600_000
        default: throw error("\(name): '\(arguments[index])' has an unknown time unit (use ms, s, mi or h)")
        }
        let (milliseconds, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow, milliseconds <= Self.longestMilliseconds else {
            throw error("\(name): '\(arguments[index])' is too long: \(limit)")
        }
        return milliseconds
    }

    /// Whole seconds, at most `longestSeconds` (so their milliseconds fit every wait).
    public func seconds(_ index: Int = 0, from lowest: Int = 0) throws(ConfigError) -> Int {
        try integer(index, in: lowest...Self.longestSeconds)
    }

    /// One of `choices`, case-insensitively; returns the choice as spelled in `choices`.
    public func choice(_ index: Int = 0, _ choices: [String]) throws(ConfigError) -> String {
        let text = arguments[index].lowercased()
        guard let match = choices.first(where: { $0.lowercased() == text }) else {
            throw error("\(name): '\(arguments[index])' is not one of \(choices.joined(separator: ", "))")
        }
        return match
    }
}
