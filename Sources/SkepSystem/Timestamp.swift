/// A wall-clock instant as seconds and nanoseconds since the Unix epoch.
///
/// Why not Foundation's `Date`: it is not allowed on the request path (DESIGN.md section 4);
/// the `Date` header cache and `%t` in access logs need only seconds, `%D` needs
/// microseconds.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var seconds: Int64
    /// 0 ..< 1_000_000_000.
    public var nanoseconds: Int32

    @inlinable
    public init(seconds: Int64, nanoseconds: Int32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// Microseconds since the epoch (Apache's `apr_time_t` unit).
    @inlinable
    public var microseconds: Int64 { seconds * 1_000_000 + Int64(nanoseconds / 1000) }

    @inlinable
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    public var description: String {
        let fraction = String(nanoseconds)
        return "\(seconds).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
    }
}
