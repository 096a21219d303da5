/// The encodings of ap_expr's functions, byte for byte as APR's: `base64()` and
/// `unbase64()` (apr_base64, not cryptography), `unescape()` (`ap_unescape_url_keep2f`)
/// and the hex of a digest.
enum ExprCoding {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])  // trap-safe: a nibble
            out.append(hexDigits[Int(b & 0xF)])  // trap-safe: a nibble
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Standard base64 with `=` padding (`apr_base64_encode`).
    static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i]
            let b1: UInt8 = i + 1 < bytes.count ? bytes[i + 1] : 0
            let b2: UInt8 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])  // trap-safe: 6 bits
            out.append(alphabet[Int((b0 & 0x3) << 4 | b1 >> 4)])  // trap-safe: 6 bits
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0xF) << 2 | b2 >> 6)] : UInt8(ascii: "="))  // trap-safe: 6 bits
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))  // trap-safe: 6 bits
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `apr_base64_decode`: decodes the leading run of base64 characters, ignoring
    /// whatever follows (padding included); the result ends at a NUL, as a C string.
    static func unbase64(_ text: String) -> [UInt8] {
        var values: [UInt8] = []
        for c in text.utf8 {
            guard let v = value(c) else { break }
            values.append(v)
        }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < values.count {
            out.append(values[i] << 2 | values[i + 1] >> 4)
            if i + 2 < values.count { out.append(values[i + 1] << 4 | values[i + 2] >> 2) }
            if i + 3 < values.count { out.append(values[i + 2] << 6 | values[i + 3]) }
            i += 4
        }
        return Array(out.prefix { $0 != 0 })
    }

    static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    /// `%hh` decoded (`+` kept); nil for a bad escape or an escaped NUL, which Apache's
    /// `unescape()` turns into an empty string.
    static func unescape(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) else { return nil }
                let b = hi << 4 | lo
                if b == 0 { return nil }
                out.append(b)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
