/// A script's standard error cut into lines for the error log, as mod_cgi's
/// `log_script_err` reads it: a line at a time (its CRLF or LF dropped), a line longer
/// than `HUGE_STRING_LEN` logged in pieces, and a last line without a newline logged at
/// end of file.
struct CGIErrorStream {
    /// Apache's `HUGE_STRING_LEN` less the terminating NUL of `apr_file_gets`.
    static let pieceLimit = 8191

    private var pending: [UInt8] = []

    /// Adds what was read; returns the complete lines (or full pieces) it finishes.
    mutating func append(_ bytes: some Collection<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == 0x0A {
                if pending.last == 0x0D { pending.removeLast() }
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count >= Self.pieceLimit {
                    lines.append(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
        return lines
    }

    /// At end of file: the last line, if it had no newline.
    mutating func finish() -> String? {
        guard !pending.isEmpty else { return nil }
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}
