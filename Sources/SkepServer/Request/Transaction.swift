import SkepHTTP
import SkepSystem

/// A finished request as the log phase sees it: the request and what was sent.
public struct Transaction {
    public let request: Request
    public let status: HTTPStatus
    /// The headers the response carried (`%{NAME}o`).
    public let responseHeaders: [(name: String, value: String)]
    /// Body bytes sent (`%B`, `%b`).
    public let bodyBytes: Int64
    /// All bytes sent, head included (`%O`).
    public let bytesSent: Int64
    /// Bytes received for this request, head and body (`%I`).
    public let bytesReceived: Int64
    /// Microseconds from the head's arrival to the end of the response (`%D`).
    public let durationMicroseconds: Int64
    /// Whether the connection stays open (`%X`: `+`, `-`; `X` for an aborted one).
    public let keepAlive: Bool
    public let aborted: Bool
}
