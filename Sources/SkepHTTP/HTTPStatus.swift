/// An HTTP status code with Apache 2.4's reason phrase.
///
/// Why: clients, log parsers and tests compare status lines with Apache's byte for byte.
/// The phrases are those of httpd's `status_lines` table as compiled into Debian's
/// Apache 2.4.71 (read from the binary): note the pre-RFC 7231 wording of 413
/// "Request Entity Too Large", 414 "Request-URI Too Long" and 416 "Requested Range Not
/// Satisfiable", and that 418 and 425 have no phrase in Apache.
public struct HTTPStatus: Sendable, Hashable, CustomStringConvertible {
    public var code: Int

    @inlinable
    public init(code: Int) { self.code = code }

    /// Apache's reason phrase, or nil for a code Apache has no phrase for.
    public var reasonPhrase: String? { HTTPStatus.phrase(code).map { $0.description } }

    /// `"404 Not Found"`; an unknown code gives just the number and a space, which is
    /// still a valid status line (Apache would substitute "500 Internal Server Error").
    public var description: String { "\(code) \(reasonPhrase ?? "")" }

    public static let `continue` = HTTPStatus(code: 100)
    public static let switchingProtocols = HTTPStatus(code: 101)
    public static let ok = HTTPStatus(code: 200)
    public static let created = HTTPStatus(code: 201)
    public static let accepted = HTTPStatus(code: 202)
    public static let noContent = HTTPStatus(code: 204)
    public static let partialContent = HTTPStatus(code: 206)
    public static let multipleChoices = HTTPStatus(code: 300)
    public static let movedPermanently = HTTPStatus(code: 301)
    public static let found = HTTPStatus(code: 302)
    public static let seeOther = HTTPStatus(code: 303)
    public static let notModified = HTTPStatus(code: 304)
    public static let temporaryRedirect = HTTPStatus(code: 307)
    public static let permanentRedirect = HTTPStatus(code: 308)
    public static let badRequest = HTTPStatus(code: 400)
    public static let unauthorized = HTTPStatus(code: 401)
    public static let forbidden = HTTPStatus(code: 403)
    public static let notFound = HTTPStatus(code: 404)
    public static let methodNotAllowed = HTTPStatus(code: 405)
    public static let notAcceptable = HTTPStatus(code: 406)
    public static let requestTimeout = HTTPStatus(code: 408)
    public static let conflict = HTTPStatus(code: 409)
    public static let gone = HTTPStatus(code: 410)
    public static let lengthRequired = HTTPStatus(code: 411)
    public static let preconditionFailed = HTTPStatus(code: 412)
    public static let requestEntityTooLarge = HTTPStatus(code: 413)
    public static let requestURITooLong = HTTPStatus(code: 414)
    public static let unsupportedMediaType = HTTPStatus(code: 415)
    public static let rangeNotSatisfiable = HTTPStatus(code: 416)
    public static let expectationFailed = HTTPStatus(code: 417)
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431)
    public static let internalServerError = HTTPStatus(code: 500)
    public static let notImplemented = HTTPStatus(code: 501)
    public static let badGateway = HTTPStatus(code: 502)
    public static let serviceUnavailable = HTTPStatus(code: 503)
    public static let gatewayTimeout = HTTPStatus(code: 504)
    public static let httpVersionNotSupported = HTTPStatus(code: 505)

    /// Apache's `status_lines` table.
    @usableFromInline
    static func phrase(_ code: Int) -> StaticString? {
        switch code {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 102: "Processing"
        case 103: "Early Hints"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 203: "Non-Authoritative Information"
        case 204: "No Content"
        case 205: "Reset Content"
        case 206: "Partial Content"
        case 207: "Multi-Status"
        case 208: "Already Reported"
        case 226: "IM Used"
        case 300: "Multiple Choices"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 305: "Use Proxy"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Request Entity Too Large"
        case 414: "Request-URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Requested Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 421: "Misdirected Request"
        case 422: "Unprocessable Entity"
        case 423: "Locked"
        case 424: "Failed Dependency"
        case 426: "Upgrade Required"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 451: "Unavailable For Legal Reasons"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        case 506: "Variant Also Negotiates"
        case 507: "Insufficient Storage"
        case 508: "Loop Detected"
        case 510: "Not Extended"
        case 511: "Network Authentication Required"
        default: nil
        }
    }

    /// Appends `"<code> <phrase>"` to `buffer` without building a String.
    @inlinable
    public func appendStatusText(to buffer: inout [UInt8]) {
        let c = code
        if c >= 100 && c <= 999 {
            buffer.append(UInt8(truncatingIfNeeded: 0x30 + c / 100))
            buffer.append(UInt8(truncatingIfNeeded: 0x30 + (c / 10) % 10))
            buffer.append(UInt8(truncatingIfNeeded: 0x30 + c % 10))
        } else {
            buffer.append(contentsOf: String(c).utf8)
        }
        buffer.append(0x20)
        if let phrase = HTTPStatus.phrase(c) {
            buffer.append(contentsOf: UnsafeBufferPointer(start: phrase.utf8Start, count: phrase.utf8CodeUnitCount))
        }
    }
}
