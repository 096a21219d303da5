/// How the request body is delimited, decided from the head alone.
///
/// Why: ambiguous framing is refused by the parser (DESIGN.md §6), so the connection loop
/// can trust this without looking at headers again.
public enum BodyFraming: Sendable, Hashable {
    /// No body (no `Content-Length`, `Content-Length: 0`, or no `Transfer-Encoding`).
    /// A request without framing has no body in HTTP/1.1; Apache reads none.
    case none
    /// `Content-Length: n` with n > 0.
    case length(Int64)
    /// `Transfer-Encoding` whose last coding is `chunked`: decode with `ChunkedDecoder`.
    case chunked
}
