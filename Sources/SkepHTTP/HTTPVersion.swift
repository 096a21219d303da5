/// An HTTP protocol version as sent on the request line.
///
/// Why: keep-alive defaults, the Host requirement and `100 Continue` all depend on it.
/// Apache (strict `HttpProtocolOptions`, the default) accepts `HTTP/[1-9].[0-9]` only;
/// versions above 1.1 (`HTTP/2.0`, `HTTP/3.0`) are served as HTTP/1.1, and a request
/// with no version at all is HTTP/0.9.
public struct HTTPVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    public static let http09 = HTTPVersion(major: 0, minor: 9)
    public static let http10 = HTTPVersion(major: 1, minor: 0)
    public static let http11 = HTTPVersion(major: 1, minor: 1)

    public static func < (a: HTTPVersion, b: HTTPVersion) -> Bool {
        (a.major, a.minor) < (b.major, b.minor)
    }

    public var description: String { "HTTP/\(major).\(minor)" }
}
