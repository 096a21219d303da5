/// One header field, in the order and spelling the server sent it.
struct HTTPHeader: Sendable, Equatable, CustomStringConvertible {
    var name: String
    var value: String
    var description: String { "\(name): \(value)" }
}

/// An HTTP/1.x response as read off the wire by `RawHTTPClient` (or parsed from
/// curl's `-D` output): status line, headers as an ordered list, body after
/// de-chunking, trailers, and the 1xx interim responses that preceded it.
struct HTTPResponse: Sendable, CustomStringConvertible {
    /// How the body was delimited (RFC 9112 section 6.3).
    enum Framing: Sendable, Equatable {
        /// HEAD, 1xx, 204, 304: no body by definition.
        case none
        case contentLength(Int)
        case chunked
        /// Neither: the body ran until the server closed the connection.
        case untilClose
    }

    var version: String
    var status: Int
    var reason: String
    var headers: [HTTPHeader]
    var body: [UInt8] = []
    var trailers: [HTTPHeader] = []
    /// 1xx responses (other than 101) received before this one, in order.
    var interim: [HTTPResponse] = []
    var framing: Framing = .none
    /// The status line and header lines exactly as received (CRLFs included).
    var rawHead: String = ""

    /// The first value of header `name` (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of header `name` (case-insensitive), in order.
    func headers(named name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// Header names in order, lowercased.
    var headerNames: [String] { headers.map { $0.name.lowercased() } }

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    var description: String {
        "\(version) \(status) \(reason) [\(headers.map(\.description).joined(separator: "; "))] body \(body.count) bytes"
    }

    /// Parses a head (status line + header lines, without the final blank line).
    static func parseHead(_ head: String) throws -> HTTPResponse {
        // Split on LF bytes: in a Swift String "\r\n" is one Character.
        var lines = head.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map {
            String(decoding: $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0, as: UTF8.self)
        }
        while lines.last == "" { lines.removeLast() }
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/") else {
            throw HarnessError("not an HTTP/1.x status line: \(head.prefix(200).debugDescription)")
        }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw HarnessError("bad status line: \(statusLine.debugDescription)")
        }
        var headers: [HTTPHeader] = []
        for line in lines.dropFirst() {
            if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
                // obs-fold: continuation of the previous value.
                headers[headers.count - 1].value += " " + line.trimmingWhitespace()
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw HarnessError("bad header line: \(line.debugDescription)")
            }
            headers.append(HTTPHeader(
                name: String(line[..<colon]),
                value: String(line[line.index(after: colon)...]).trimmingWhitespace()))
        }
        return HTTPResponse(
            version: String(parts[0]), status: status,
            reason: parts.count > 2 ? String(parts[2]) : "",
            headers: headers, rawHead: head)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
