/// What the client's `Expect` header asks for.
///
/// Apache 2.4: `Expect: 100-continue` (case-insensitive) makes the server send
/// `HTTP/1.1 100 Continue` before reading the body, for HTTP/1.1 requests only; any other
/// non-empty expectation is answered `417 Expectation Failed` (the connection stays open).
/// On HTTP/1.0 requests Apache ignores `Expect: 100-continue` (no 100, no 417).
public enum Expectation: Sendable, Hashable {
    case none
    /// Send `100 Continue` before reading the body (HTTP/1.1 and later only).
    case continue100
    /// Answer `417 Expectation Failed`.
    case unsupported
}
