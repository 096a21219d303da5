/// One header field of a request head, as offsets into the connection's buffer.
///
/// Why: DESIGN.md §4 — no allocation per header; names and values become `String`s only
/// when a handler asks. The value excludes the optional whitespace around it, as Apache
/// strips it (`Host:\tx\t` is `x`).
public struct HeaderField: Sendable, Hashable {
    /// The field name's bytes (never empty, token characters only).
    public var name: Range<Int>
    /// The field value's bytes, leading and trailing SP/HT removed (may be empty).
    public var value: Range<Int>

    @inlinable
    public init(name: Range<Int>, value: Range<Int>) {
        self.name = name
        self.value = value
    }
}
