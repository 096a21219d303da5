import SkepHTTP

/// The header block a CGI or FastCGI script writes before its body, read as Apache's
/// `ap_scan_script_header_err` reads it: `Status:` sets the status, `Location:` and
/// `Content-Type:` are kept apart, every other field passes through in order.
public struct CGIScriptHeaders {
    public var status: HTTPStatus?
    public var location: String?
    public var contentType: String?
    public var fields: [(name: String, value: String)] = []

    public enum ParseError: Error, Equatable {
        /// A line without a colon, or a name that is not a token: Apache's
        /// "malformed header from script ... Bad header" (500).
        case badHeader(String)
    }

    /// Parses the header block (the blank line excluded or included); lines may end
    /// with CRLF or LF.
    public init(_ block: some Collection<UInt8>) throws(ParseError) {
        var line: [UInt8] = []
        for byte in block {
            if byte == 0x0A {
                if line.last == 0x0D { line.removeLast() }
                if line.isEmpty { return }
                try add(line)
                line.removeAll(keepingCapacity: true)
            } else {
                line.append(byte)
            }
        }
        if !line.isEmpty { try add(line) }
    }

    private mutating func add(_ line: [UInt8]) throws(ParseError) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
              line[..<colon].allSatisfy(Self.isTokenByte) else {
            throw .badHeader(String(decoding: line.prefix(30), as: UTF8.self))
        }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        // Leading and trailing white space go; a stray CR or other control byte cannot
        // reach the response head.
        var value = line[(colon + 1)...].drop { $0 == 0x20 || $0 == 0x09 }
        while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
        let text = String(decoding: value.filter { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }, as: UTF8.self)
        switch name.lowercased() {
        case "status":
            // Beyond 599 is no HTTP status (RFC 9110 section 15), and a client may not
            // read it; Apache answers 500 for it too (`ap_get_status_line`).
            let code = Int(text.prefix { $0.isNumber }) ?? 0
            guard (100...599).contains(code) else { throw .badHeader(String(decoding: line.prefix(30), as: UTF8.self)) }
            status = HTTPStatus(code: code)
        case "location":
            location = text
        case "content-type":
            contentType = text
        case "content-length", "transfer-encoding":
            // FastCGI frames the body itself; the connection decides the response's framing.
            break
        default:
            fields.append((name, text))
        }
    }

    /// RFC 9110's `tchar`.
    static func isTokenByte(_ b: UInt8) -> Bool {
        guard b > 0x20 && b < 0x7F else { return false }
        return !"()<>@,;:\\\"/[]?={}".utf8.contains(b)
    }
}
