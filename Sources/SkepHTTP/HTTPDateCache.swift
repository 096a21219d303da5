/// The formatted `Date` header value, reformatted at most once a second.
///
/// Why: DESIGN.md §4 — "the Date header is formatted once a second"; Apache keeps a
/// similar per-second cache (`ap_recent_rfc822_date`). Every response needs the date,
/// but it only changes each second.
///
/// Thread safety: this is deliberately a non-`Sendable` class with no locks or atomics:
/// give each worker thread (or each event-loop) its own instance. The compiler then
/// refuses to share one across threads, and the hot path is a compare and a copy of 29
/// bytes. The caller supplies the current time (the parser target does no I/O).
public final class HTTPDateCache {
    @usableFromInline var second: Int64 = .min
    @usableFromInline var bytes: [UInt8] = []
    /// How many times the value was formatted (for tests and statistics).
    public private(set) var formatCount = 0

    public init() {
        bytes.reserveCapacity(32)
    }

    /// The 29 bytes of `now` in IMF-fixdate form, formatted only if the second changed.
    @inlinable
    public func value(at now: Int64) -> [UInt8] {
        if now != second { refresh(now) }
        return bytes
    }

    /// Appends the date for `now` to `buffer`.
    @inlinable
    public func append(at now: Int64, to buffer: inout [UInt8]) {
        if now != second { refresh(now) }
        buffer.append(contentsOf: bytes)
    }

    @usableFromInline
    func refresh(_ now: Int64) {
        bytes.removeAll(keepingCapacity: true)
        HTTPDate(secondsSince1970: now).append(to: &bytes)
        second = now
        formatCount += 1
    }
}
