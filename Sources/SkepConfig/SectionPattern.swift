/// How a section's path, URL or name is matched against a request: a regular expression
/// compiled once at configuration time with PCRE2, as Apache's `ap_pregcomp`. Every
/// pattern goes through PCRE2, so `RegexDefaultOptions` applies to all of them, and the
/// JIT makes the common shapes (`\.php$`, `^/prefix`) as cheap as a hand-written test.
public struct SectionPattern: Sendable {
    public let source: String
    public let regex: PCRERegex

    /// Compiles a pattern with PCRE2 as Apache's `ap_pregcomp` would, or throws PCRE2's
    /// message and offset (the caller adds the directive's `file:line`).
    public init(regex source: String) throws(ConfigError) {
        self.source = source
        do {
            // PCRE2 with the configuration's default options (Apache's DOTALL, so `^/r(.*)$`
            // still matches a path with a decoded `%0a`, and DOLLAR_ENDONLY by default).
            regex = try PCRERegex(source)
        } catch {
            throw ConfigError(nil, "Regular expression could not be compiled: \(source): \(error)")
        }
    }

    /// True when the pattern matches `text`'s UTF-8 bytes.
    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// True when the pattern matches `subject`, which need not be UTF-8: compared as bytes,
    /// as PCRE2 and Apache do.
    public func matches(utf8 subject: UnsafeRawBufferPointer) -> Bool {
        regex.matches(utf8: subject)
    }
}
