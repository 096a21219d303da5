/// Validation of a host name with optional port, as in `Host:` and absolute-form targets.
///
/// Why: the host chooses the virtual host and appears in redirects; Apache 2.4 (strict
/// `HttpProtocolOptions`, `fix_hostname`) answers 400 to a malformed one. Measured on
/// Apache 2.4.71: accepted `a.b-c_d`, `-x`, `X.COM`, `x.` (trailing dot dropped),
/// `1.2.3.4`, `[::1]`, `[::1]:80`, `x:08`, `x:65535`; refused (400) `x..y`, `123` (a bare
/// number), `x:`, `x:0`, `x:abc`, `x:65536`, `x::80`, `x:80:80`, `[::1`, `[zz]`, `[::1]x`,
/// and any of ` %@,*~!$+=;'` or a byte >= 0x80 in the name.
@usableFromInline
enum HostSyntax {
    @usableFromInline
    struct Parsed: Sendable, Hashable {
        /// The host name (brackets of an IPv6 literal kept, trailing dot removed).
        var host: Range<Int>
        var port: Int?
    }

    /// Parses `p[range]`; nil when Apache would refuse it.
    @usableFromInline
    static func parse(_ p: UnsafeRawBufferPointer, _ range: Range<Int>) -> Parsed? {
        var i = range.lowerBound
        let end = range.upperBound
        guard i < end else { return nil }
        var hostEnd: Int
        if p[i] == 0x5B {  // '[' IPv6 literal
            var j = i + 1
            var sawColon = false
            while j < end, p[j] != 0x5D {
                let b = p[j]
                if b == 0x3A { sawColon = true }
                else if ByteClass.hexValue(b) == nil && b != 0x2E { return nil }
                j += 1
            }
            guard j < end, sawColon, j > i + 1 else { return nil }
            hostEnd = j + 1
            i = hostEnd
            if i < end && p[i] != 0x3A { return nil }
        } else {
            var allDigits = true
            var previousDot = false
            while i < end, p[i] != 0x3A {
                let b = p[i]
                switch b {
                case 0x2E:
                    if previousDot { return nil }
                    previousDot = true
                    allDigits = false
                    i += 1
                    continue
                case 0x30...0x39: break
                case 0x41...0x5A, 0x61...0x7A, 0x2D, 0x5F: allDigits = false
                default: return nil
                }
                previousDot = false
                i += 1
            }
            hostEnd = i
            if hostEnd == range.lowerBound { return nil }
            // Apache: a bare integer is "allowed by RFC 3986 but not reasonable in http".
            if allDigits && hostEnd == end { return nil }
            if previousDot { hostEnd -= 1 }  // strip one trailing dot, as fix_hostname
            if hostEnd == range.lowerBound { return nil }
        }
        var port: Int? = nil
        if i < end {  // p[i] == ':'
            i += 1
            guard i < end else { return nil }
            var value = 0
            while i < end {
                guard ByteClass.isDigit(p[i]) else { return nil }
                value = value * 10 + Int(p[i] - 0x30)  // trap-safe: one digit, and value stops past 65535 on the next line
                if value > 65535 { return nil }
                i += 1
            }
            if value == 0 { return nil }
            port = value
        }
        return Parsed(host: range.lowerBound..<hostEnd, port: port)
    }
}
