/// What a response says about the connection, as Apache's `ap_set_keepalive` writes it.
///
/// Measured on Apache 2.4.71 (`KeepAliveTimeout 5`, `MaxKeepAliveRequests 100`):
/// - HTTP/1.1 kept alive, no `keep-alive` token from the client: no header at all;
/// - kept alive and the client sent `Connection: keep-alive` (HTTP/1.0 or 1.1):
///   `Keep-Alive: timeout=5, max=100` then `Connection: Keep-Alive` (`max` counts down
///   the requests left on the connection; with `MaxKeepAliveRequests 0` only `timeout=5`);
/// - closing (HTTP/1.0 without keep-alive, `Connection: close`, errors): `Connection: close`.
public enum ConnectionHeader: Sendable, Hashable {
    case none
    case keepAlive(timeout: Int, max: Int?)
    case close

    /// Apache's choice for a response to `head`, once the server has decided whether the
    /// connection stays open (`keepAlive`: the client allows it and the server's
    /// `KeepAlive`, `MaxKeepAliveRequests` and body framing permit it).
    /// `remaining` is `MaxKeepAliveRequests` minus the requests already served on the
    /// connection, or nil when unlimited.
    public static func apache(for head: RequestHead, keepAlive: Bool, timeout: Int, remaining: Int?) -> ConnectionHeader {
        guard keepAlive && head.keepAlive else { return .close }
        return head.clientSentKeepAlive ? .keepAlive(timeout: timeout, max: remaining) : .none
    }
}
