/// Apache's `T_ESCAPE_LOGITEM` escaping (`ap_escape_logitem` for the access log,
/// `ap_escape_errorlog_item` for the error log): what a client, a back end or a handler
/// puts in a log line cannot end the line, forge another, or write terminal controls.
enum LogEscaping {
    /// Control bytes, DEL, bytes above 0x7F (not printable in Apache's C locale), `"` and `\`.
    @inline(__always)
    static func needsEscape(_ b: UInt8) -> Bool { b < 0x20 || b >= 0x7F || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") }

    /// The letter after the backslash for `\b \n \r \t \v \\ \"`; nil for a byte written `\xhh`.
    @inline(__always)
    static func letter(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x08: return UInt8(ascii: "b")
        case 0x0A: return UInt8(ascii: "n")
        case 0x0D: return UInt8(ascii: "r")
        case 0x09: return UInt8(ascii: "t")
        case 0x0B: return UInt8(ascii: "v")
        case UInt8(ascii: "\\"), UInt8(ascii: "\""): return b
        default: return nil
        }
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `bytes` to `out` escaped for the error log: as the access log, except that
    /// `"` stays as it is (Apache: "no need for this in error log"), so the messages Skep
    /// composes (`"GET / HTTP/1.1"`, `'name'`) read as they did.
    static func appendErrorLogItem(_ bytes: some Sequence<UInt8>, to out: inout [UInt8]) {
        for b in bytes {
            guard needsEscape(b), b != UInt8(ascii: "\"") else { out.append(b); continue }
            out.append(UInt8(ascii: "\\"))
            if let letter = letter(b) {
                out.append(letter)
            } else {
                out.append(UInt8(ascii: "x"))
                out.append(hex[Int(b >> 4)])  // trap-safe: a nibble, 0...15
                out.append(hex[Int(b & 0xF)])  // trap-safe: a nibble, 0...15
            }
        }
    }
}
