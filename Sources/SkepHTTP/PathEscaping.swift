/// Percent-encoding of a path that goes back into a URL, as Apache's `ap_escape_uri`
/// (`ap_os_escape_path` with `partial`): every byte but ALPHA, DIGIT and
/// `$-_.+!*'(),:;@&=/~` becomes `%hh` with lower-case hex.
///
/// Why: a redirect built from the decoded path (`Redirect`, `DirectorySlash`) must carry
/// it encoded again, or a `%0a` in the request becomes a line break in `Location`.
public enum PathEscaping {
    /// `path` with the bytes Apache escapes written as `%hh`.
    public static func escape(_ path: String) -> String {
        if path.utf8.allSatisfy(isKept) { return path }
        return escape(bytes: path.utf8)
    }

    /// `escape` on bytes that need not be UTF-8 (a decoded request path): each byte Apache
    /// escapes becomes its own `%hh`, so the result is always ASCII.
    public static func escape(bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        for b in bytes {
            if isKept(b) {
                out.append(b)
            } else {
                out.append(0x25)
                out.append(hex[Int(b >> 4)])  // trap-safe: a nibble, 0...15
                out.append(hex[Int(b & 0xF)])  // trap-safe: a nibble, 0...15
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Whether Apache leaves `b` as it is (not `T_OS_ESCAPE_PATH`).
    static func isKept(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return "$-_.+!*'(),:;@&=/~".utf8.contains(b)
        }
    }
}
