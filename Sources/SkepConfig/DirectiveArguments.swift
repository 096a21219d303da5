/// Typed readings of a directive's arguments, each failing with Apache-like wording
/// and the directive's file:line.
extension Directive {
    /// A whole number within `range` (Apache's MPM directives reject what `atoi` would silently read as 0).
    public func integer(_ index: Int = 0, in range: ClosedRange<Int> = 0...Int.max) throws(ConfigError) -> Int {
        let text = arguments[index]
        guard let value = Int(text) else { throw error("\(name): '\(text)' is not a whole number") }
        guard range.contains(value) else {
            let upper = range.upperBound == Int.max ? "" : " and \(range.upperBound)"
            throw error("\(name): \(value) is out of range: it must be \(upper.isEmpty ? "at least \(range.lowerBound)" : "between \(range.lowerBound)\(upper)")")
        }
        return value
    }

    /// On or Off, case-insensitively (Apache's FLAG).
    public func flag(_ index: Int = 0) throws(ConfigError) -> Bool {
        switch arguments[index].lowercased() {
        case "on": return true
        case "off": return false
        default: throw error("\(name) must be On or Off")
        }
    }

    /// A duration as Apache's `ap_timeout_parameter_parse` reads it: seconds by default,
    /// or with a unit suffix `ms`, `s`, `mi` (minutes), `h`. Returned in milliseconds.
    public func durationMilliseconds(_ index: Int = 0) throws(ConfigError) -> Int {
        let text = arguments[index].lowercased()
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        let unit = text.dropFirst(digits.count)
        guard let value = Int(digits) else { throw error("\(name): '\(arguments[index])' is not a valid duration") }
        switch unit {
        case "", "s": return value * 1000
        case "ms": return value
        case "mi": return value * 60_000
        case "h": return value * 3_600_000
        default: throw error("\(name): '\(arguments[index])' has an unknown time unit (use ms, s, mi or h)")
        }
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
