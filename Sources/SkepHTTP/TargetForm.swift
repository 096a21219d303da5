/// The form of the request target (RFC 9112 §3.2).
public enum TargetForm: Sendable, Hashable {
    /// `/path?query`
    case origin
    /// `http://host[:port]/path?query`: the host is taken from the target, as Apache does.
    case absolute
    /// `host:port`, only with CONNECT. Apache 2.4 without mod_proxy answers such a request
    /// `405 Method Not Allowed` (with `Allow:`) and keeps the connection open; the parser
    /// accepts it so that the server can answer the same.
    case authority
    /// `*`, only with OPTIONS (Apache answers 400 to `GET *`).
    case asterisk
}
