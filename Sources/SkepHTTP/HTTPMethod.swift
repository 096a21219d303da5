/// The request methods the server gives special meaning to, recognised once by the parser.
///
/// Why: handlers compare the method on every request; an enum avoids comparing bytes.
/// Any other well-formed token is `.other` and is still accepted by the parser, because
/// Apache accepts unknown methods syntactically and answers `501 Not Implemented` later
/// (methods are case-sensitive: `get` is unknown to Apache and gets a 501).
public enum HTTPMethod: Sendable, Hashable {
    case get, head, post, put, delete, connect, options, trace, patch
    case other

    /// Recognises a method from its bytes (case-sensitive, as Apache).
    @inlinable
    public init(_ p: UnsafeRawBufferPointer) {
        switch p.count {
        case 3:
            if p[0] == 0x47, p[1] == 0x45, p[2] == 0x54 { self = .get; return }  // GET
            if p[0] == 0x50, p[1] == 0x55, p[2] == 0x54 { self = .put; return }  // PUT
        case 4:
            if p[0] == 0x48, p[1] == 0x45, p[2] == 0x41, p[3] == 0x44 { self = .head; return }
            if p[0] == 0x50, p[1] == 0x4F, p[2] == 0x53, p[3] == 0x54 { self = .post; return }
        default:
            break
        }
        switch String(decoding: p, as: UTF8.self) {
        case "DELETE": self = .delete
        case "CONNECT": self = .connect
        case "OPTIONS": self = .options
        case "TRACE": self = .trace
        case "PATCH": self = .patch
        default: self = .other
        }
    }
}
