/// The request-size limits Apache applies while reading a request head.
///
/// Why: every limit must have Apache's default and Apache's answer (DESIGN.md §6), so a
/// configuration written for Apache protects Skep the same way.
///
/// How Apache counts (measured against Apache 2.4.71 with the defaults and with
/// `LimitRequestLine 100` / `LimitRequestFieldSize 100` / `LimitRequestFields 5`):
/// - a request line of `limit + 1` bytes (CRLF excluded) is still accepted; `limit + 2`
///   bytes is answered `414 Request-URI Too Long` (Apache reads the line with a buffer of
///   `limit + 2` bytes);
/// - a header line (`Name: value`, trailing blanks included, CRLF excluded) of `limit + 1`
///   bytes is accepted; `limit + 2` is answered `400 Bad Request`;
/// - `limit` header fields are accepted; one more is `400 Bad Request`;
/// - a chunk-size line (extensions included, CRLF excluded) longer than
///   `LimitRequestFieldSize - 2` is answered `413 Request Entity Too Large`;
/// - at most 10 empty lines (CRLF) before the request line are skipped; the 11th is `400`.
public struct HTTPLimits: Sendable, Hashable {
    /// `LimitRequestLine`, default 8190.
    public var requestLine: Int
    /// `LimitRequestFieldSize`, default 8190.
    public var requestFieldSize: Int
    /// `LimitRequestFields`, default 100.
    public var requestFields: Int
    /// Empty lines skipped before the request line (Apache's `DEFAULT_LIMIT_BLANK_LINES`, 10).
    public var blankLines: Int
    /// Whether HTTP/0.9 simple requests (`GET /path` with no version) are served, as
    /// Apache's default `HttpProtocolOptions ... Allow0.9` does.
    public var allowHTTP09: Bool

    public init(
        requestLine: Int = 8190,
        requestFieldSize: Int = 8190,
        requestFields: Int = 100,
        blankLines: Int = 10,
        allowHTTP09: Bool = true
    ) {
        self.requestLine = requestLine
        self.requestFieldSize = requestFieldSize
        self.requestFields = requestFields
        self.blankLines = blankLines
        self.allowHTTP09 = allowHTTP09
    }

    /// Apache 2.4's defaults.
    public static let apache = HTTPLimits()
}
