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
        case regex(PCRERegex)
    }

    public let source: String
    public let kind: Kind

    /// Compiles a pattern with PCRE2 as Apache's `ap_pregcomp` would, or throws PCRE2's
    /// message and offset (the caller adds the directive's `file:line`).
    public init(regex source: String) throws(ConfigError) {
        self.source = source
        if let fast = Self.fastPath(source) {
            kind = fast
            return
        }
        do {
            // PCRE2 with Apache's default options: DOTALL (`.` matches a line break too, so
            // `^/r(.*)$` still matches a path with a decoded `%0a`) and DOLLAR_ENDONLY.
            kind = .regex(try PCRERegex(source))
        } catch {
            throw ConfigError(nil, "Regular expression could not be compiled: \(source): \(error)")
        }
    }

    /// True when the pattern matches `text`'s UTF-8 bytes.
    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// True when the pattern matches `subject`, which need not be UTF-8. Compared as bytes,
    /// as PCRE2 and Apache do (String's own `hasSuffix` compares Unicode characters, and
    /// would match `é` written two ways).
    public func matches(utf8 subject: UnsafeRawBufferPointer) -> Bool {
        switch kind {
        case .suffix(let s): return subject.count >= s.utf8.count && subject.suffix(s.utf8.count).elementsEqual(s.utf8)
        case .prefix(let p): return subject.count >= p.utf8.count && subject.prefix(p.utf8.count).elementsEqual(p.utf8)
        case .contains(let l):
            var l = l
            return l.withUTF8 { l in
                guard subject.count >= l.count else { return false }
                return l.isEmpty || (0...(subject.count - l.count)).contains { subject[$0..<($0 + l.count)].elementsEqual(l) }
            }
        case .regex(let r): return r.matches(utf8: subject)
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
