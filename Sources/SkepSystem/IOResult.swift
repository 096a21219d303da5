/// The outcome of one read, write, writev or sendfile call.
///
/// Why an enum and not a thrown EAGAIN: event-loop code polls in loops, and "the kernel has
/// no room/no data right now" is its normal case, not an error. Blocking-mode code never
/// sees `.wouldBlock`.
public enum IOResult: Sendable, Hashable {
    /// Bytes moved. For reads, `0` means end of file (the peer closed its side).
    case transferred(Int)
    /// The descriptor is non-blocking and the call would have had to wait (EAGAIN).
    case wouldBlock

    /// The byte count, or `nil` for `.wouldBlock`.
    @inlinable
    public var count: Int? {
        if case .transferred(let n) = self { return n }
        return nil
    }

    /// True for a read that returned 0 bytes: end of file / orderly shutdown by the peer.
    @inlinable
    public var isEndOfFile: Bool { self == .transferred(0) }
}
