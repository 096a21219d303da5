extension PCRERegex.Match {
    /// `template` with `$0`...`$9` replaced by the groups of this match, as Apache's
    /// `ap_pregsub` does for `AliasMatch`, `RedirectMatch` and `ProxyPassMatch`: a group
    /// that took no part (or a number past the pattern's groups) gives nothing, a
    /// backslash makes the next character literal (`\$1` is `$1`), and a `$` not followed
    /// by a digit is itself.
    public func substitute(_ template: String) -> String {
        String(decoding: substituteBytes(template), as: UTF8.self)
    }

    /// `substitute` on bytes: a group carries the subject's bytes as they are, UTF-8 or not.
    public func substituteBytes(_ template: String) -> [UInt8] {
        var out: [UInt8] = []
        let source = subjectBytes
        var template = template
        template.withUTF8 { t in
            out.reserveCapacity(t.count + source.count)
            var i = 0
            while i < t.count {
                let c = t[i]
                if c == UInt8(ascii: "$"), i + 1 < t.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(t[i + 1]) {
                    // trap-safe: the byte is a digit (checked above), so the difference is 0...9
                    if let range = range(Int(t[i + 1] - UInt8(ascii: "0"))), range.upperBound <= source.count {
                        out.append(contentsOf: source[range])
                    }
                    i += 2
                } else if c == UInt8(ascii: "\\"), i + 1 < t.count {
                    out.append(t[i + 1])
                    i += 2
                } else {
                    out.append(c)
                    i += 1
                }
            }
        }
        return out
    }
}
