import SkepHTTP

/// mod_rewrite's internal maps (`RewriteMap name int:function`): the four functions
/// Apache registers with `ap_register_rewrite_mapfunc`, by their case-sensitive names.
enum RewriteMapFunction: String, Sendable, CaseIterable {
    case tolower, toupper, escape, unescape

    /// The function's value for `key`; internal maps always have one.
    func apply(_ key: String) -> String {
        switch self {
        // `ap_str_tolower`/`ap_str_toupper`: ASCII letters only (C locale), bytes above
        // 0x7F untouched.
        case .tolower: return Self.mapASCII(key) { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        case .toupper: return Self.mapASCII(key) { (0x61...0x7A).contains($0) ? $0 & 0xDF : $0 }
        // `ap_escape_uri`, the same escaping mod_alias uses for redirects.
        case .escape: return PathEscaping.escape(key)
        case .unescape: return String(decoding: Self.unescape(Array(key.utf8)), as: UTF8.self)
        }
    }

    private static func mapASCII(_ key: String, _ transform: (UInt8) -> UInt8) -> String {
        String(decoding: key.utf8.map(transform), as: UTF8.self)
    }

    /// Apache's `ap_unescape_url` as mod_rewrite uses it (the result code ignored): every
    /// valid `%hh` is decoded, `%2F` included; an invalid escape stays as it is; a decoded
    /// NUL ends the string, as it ends Apache's C string.
    static func unescape(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) {
                let decoded = high << 4 | low
                if decoded == 0 { break }
                out.append(decoded)
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30  // trap-safe: b >= 0x30 in this case
        case 0x41...0x46: return b - 0x37  // trap-safe: b >= 0x41 in this case
        case 0x61...0x66: return b - 0x57  // trap-safe: b >= 0x61 in this case
        default: return nil
        }
    }
}
