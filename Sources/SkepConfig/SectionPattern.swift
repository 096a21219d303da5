/// How a section's path, URL or name is matched against a request, decided once at
/// configuration time. Regular expressions are compiled once; the shapes configs use
/// most (`\.php$`, `^/prefix`, a plain literal) get a fast path that runs no regex
/// engine per request (DESIGN.md section 4).
public struct SectionPattern: Sendable {
    public enum Kind: Sendable {
        /// Matches when the text ends with the suffix (`\.php$`).
        case suffix(String)
        /// Matches when the text starts with the prefix (`^/api`).
        case prefix(String)
        /// Matches when the text contains the literal.
        case contains(String)
        case regex(CompiledRegex)
    }

    public let source: String
    public let kind: Kind

    /// Compiles a PCRE-style pattern as Apache's `ap_pregcomp` would, or throws with why.
    public init(regex source: String) throws(ConfigError) {
        self.source = source
        if let fast = Self.fastPath(source) {
            kind = fast
            return
        }
        do {
            // Apache's `RegexDefaultOptions` default, DOTALL: `.` matches a line break too,
            // so `^/r(.*)$` still matches a path with a decoded `%0a` in it.
            kind = .regex(CompiledRegex(try Regex(source).dotMatchesNewlines()))
        } catch {
            throw ConfigError(nil, "Regular expression could not be compiled: \(source)")
        }
    }

    public func matches(_ text: String) -> Bool {
        switch kind {
        case .suffix(let s): return text.hasSuffix(s)
        case .prefix(let p): return text.hasPrefix(p)
        case .contains(let l): return l.isEmpty || text.contains(l)
        case .regex(let r): return r.matches(text)
        }
    }

    /// The literal a pattern stands for when it has no metacharacters once `\.`-style
    /// escapes of punctuation are resolved, with its anchors.
    static func fastPath(_ source: String) -> Kind? {
        var body = Substring(source)
        let anchoredStart = body.hasPrefix("^")
        if anchoredStart { body = body.dropFirst() }
        let anchoredEnd = body.hasSuffix("$") && !body.hasSuffix("\\$")
        if anchoredEnd { body = body.dropLast() }
        if anchoredStart && anchoredEnd { return nil }
        var literal = ""
        var i = body.startIndex
        while i < body.endIndex {
            let c = body[i]
            if c == "\\" {
                let next = body.index(after: i)
                guard next < body.endIndex else { return nil }
                let escaped = body[next]
                // Only escaped punctuation is a literal; \d, \w, \s... are classes.
                guard escaped.isPunctuation || escaped.isSymbol else { return nil }
                literal.append(escaped)
                i = body.index(after: next)
                continue
            }
            if ".[]()*+?{}|^$".contains(c) { return nil }
            literal.append(c)
            i = body.index(after: i)
        }
        if anchoredEnd { return .suffix(literal) }
        if anchoredStart { return .prefix(literal) }
        return .contains(literal)
    }
}

/// A compiled regular expression shared by every thread. The standard library's `Regex`
/// is immutable once built (its lowered program is published atomically) but is not
/// marked `Sendable`.
public final class CompiledRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>
    init(_ regex: Regex<AnyRegexOutput>) { self.regex = regex }

    public func matches(_ text: String) -> Bool { text.firstMatch(of: regex) != nil }

    /// The whole match and the numbered groups of the first match, for `$1`-style substitution.
    public func captures(_ text: String) -> [String]? {
        guard let match = text.firstMatch(of: regex) else { return nil }
        return match.output.map { $0.substring.map(String.init) ?? "" }
    }
}
