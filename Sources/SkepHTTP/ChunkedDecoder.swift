/// An incremental decoder for `Transfer-Encoding: chunked` request bodies.
///
/// Why: the body arrives in pieces of any size; the decoder is a byte-level state machine
/// that consumes every framing byte it is given (so the caller can always drop them) and
/// hands out data as ranges into the caller's buffer, copying nothing.
///
/// Usage: call `decode(bytes)` with the unconsumed body bytes; act on the result and call
/// again with the bytes after the consumed ones (plus any that arrive):
/// - `.data(r)`: `bytes[r]` is body data; consumed through `r.upperBound`;
/// - `.needMore(consumed:)`: framing bytes up to `consumed` were used (all of them);
/// - `.end(consumed:)`: the body and its trailers are complete; the next request starts
///   at `consumed`;
/// - `.error(status, reason)`: answer `status` and close the connection.
///
/// Apache 2.4.71 behaviour matched (measured): hex chunk sizes of either case with any
/// number of leading zeros; blanks (SP/HT) after the size; extensions after `;` ignored
/// (quoted strings included); a size with a leading blank, a non-hex digit, `0x`, a sign,
/// or no digits is a 400; a size above 2^63-1 is a **413**; a chunk-size line longer than
/// `LimitRequestFieldSize - 2` bytes (CRLF excluded) is a **413**; anything but CRLF after
/// the data, a bare LF anywhere or a bare CR is a 400; trailer fields are read with the
/// header rules and limits (a line of `LimitRequestFieldSize + 1` bytes passes, more is a
/// 400; more than `LimitRequestFields` trailers is a 400) and then dropped, as Apache does
/// with its default `MergeTrailers Off`. Unlike Apache, a folded trailer line is a 400 (as
/// folded header lines are for Skep).
public struct ChunkedDecoder: Sendable {
    public enum Result: Sendable, Hashable {
        case data(Range<Int>)
        case needMore(consumed: Int)
        case end(consumed: Int)
        case error(HTTPStatus, reason: String)
    }

    @usableFromInline
    enum State: Sendable, Hashable {
        case sizeStart  // first hex digit expected
        case size  // more hex digits, blanks, ';' or CR
        case sizeBlanks  // after blanks: more blanks, ';' or CR
        case extensions  // skip to CR
        case sizeLF  // CR seen, LF expected
        case data  // `remaining` bytes of data
        case dataCR, dataLF  // CRLF after data
        case trailerStart  // start of a trailer line or the final CRLF
        case trailerName, trailerValue
        case trailerLF  // CR of a trailer line seen
        case finalLF  // CR of the final empty line seen
        case done, failed
    }

    public var limits: HTTPLimits
    @usableFromInline var state: State = .sizeStart
    @usableFromInline var size: Int64 = 0
    @usableFromInline var remaining: Int64 = 0
    /// Bytes of the current line so far (chunk-size line or trailer line).
    @usableFromInline var lineLength = 0
    @usableFromInline var trailers = 0
    @usableFromInline var lastError: Result = .needMore(consumed: 0)

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Starts a new body.
    public mutating func reset() {
        state = .sizeStart
        size = 0
        remaining = 0
        lineLength = 0
        trailers = 0
    }

    /// Whether the final chunk and trailers have been read.
    public var isComplete: Bool { state == .done }

    public mutating func decode(_ bytes: [UInt8]) -> Result {
        bytes.withUnsafeBytes { decode($0) }
    }

    public mutating func decode(_ p: UnsafeRawBufferPointer) -> Result {
        let count = p.count
        var i = 0
        let chunkLineMax = limits.requestFieldSize - 2
        let trailerLineMax = limits.requestFieldSize + 1
        while i < count {
            let b = p[i]
            switch state {
            case .sizeStart, .size:
                if let d = ByteClass.hexValue(b) {
                    if size > (Int64.max - Int64(d)) / 16 {  // trap-safe: d is one hex digit's value, 0...15
                        return fail(.requestEntityTooLarge, "chunk size too large")
                    }
                    size = size * 16 + Int64(d)  // trap-safe: d is 0...15, and the line above bounds size * 16 + d
                    state = .size
                } else if state == .sizeStart {
                    return fail(.badRequest, "invalid chunk size")
                } else if ByteClass.isBlank(b) {
                    state = .sizeBlanks
                } else if b == 0x3B {
                    state = .extensions
                } else if b == 0x0D {
                    state = .sizeLF
                } else {
                    return fail(.badRequest, "invalid chunk size")
                }
                lineLength += 1
            case .sizeBlanks:
                if b == 0x3B { state = .extensions }
                else if b == 0x0D { state = .sizeLF }
                else if !ByteClass.isBlank(b) { return fail(.badRequest, "invalid chunk size") }
                lineLength += 1
            case .extensions:
                if b == 0x0D { state = .sizeLF }
                else if !ByteClass.isFieldValue(b) { return fail(.badRequest, "control character in chunk extension") }
                lineLength += 1
            case .sizeLF:
                guard b == 0x0A else { return fail(.badRequest, "bare CR in chunk-size line") }
                lineLength = 0
                if size == 0 {
                    state = .trailerStart
                } else {
                    remaining = size
                    size = 0
                    state = .data
                }
            case .data:
                let n = Int(min(Int64(count - i), remaining))  // trap-safe: at most count - i, an Int
                remaining -= Int64(n)  // trap-safe: Int to Int64 widens
                if remaining == 0 { state = .dataCR }
                return .data(i..<(i + n))
            case .dataCR:
                guard b == 0x0D else { return fail(.badRequest, "missing CRLF after chunk data") }
                state = .dataLF
            case .dataLF:
                guard b == 0x0A else { return fail(.badRequest, "missing CRLF after chunk data") }
                state = .sizeStart
            case .trailerStart:
                if b == 0x0D {
                    state = .finalLF
                } else if ByteClass.isToken(b) {
                    trailers += 1
                    if trailers > limits.requestFields { return fail(.badRequest, "too many trailer fields") }
                    state = .trailerName
                    lineLength = 1
                } else if ByteClass.isBlank(b) {
                    return fail(.badRequest, "trailer line starting with whitespace (obsolete line folding)")
                } else {
                    return fail(.badRequest, "invalid trailer field")
                }
            case .trailerName:
                if b == 0x3A { state = .trailerValue }
                else if !ByteClass.isToken(b) { return fail(.badRequest, "invalid character in trailer name") }
                lineLength += 1
            case .trailerValue:
                if b == 0x0D { state = .trailerLF }
                else if !ByteClass.isFieldValue(b) { return fail(.badRequest, "control character in trailer value") }
                else { lineLength += 1 }
            case .trailerLF:
                guard b == 0x0A else { return fail(.badRequest, "bare CR in trailer") }
                lineLength = 0
                state = .trailerStart
            case .finalLF:
                guard b == 0x0A else { return fail(.badRequest, "bare CR after last chunk") }
                state = .done
                return .end(consumed: i + 1)
            case .done:
                return .end(consumed: 0)
            case .failed:
                return lastError
            }
            // Line limits, checked as each byte of a line is counted.
            switch state {
            case .size, .sizeBlanks, .extensions:
                if lineLength > chunkLineMax { return fail(.requestEntityTooLarge, "chunk-size line too long") }
            case .trailerName, .trailerValue:
                if lineLength > trailerLineMax { return fail(.badRequest, "trailer field too long") }
            default:
                break
            }
            i += 1
        }
        switch state {
        case .done: return .end(consumed: 0)
        case .failed: return lastError
        default: return .needMore(consumed: count)
        }
    }

    @usableFromInline
    mutating func fail(_ status: HTTPStatus, _ reason: String) -> Result {
        state = .failed
        lastError = .error(status, reason: reason)
        return lastError
    }
}
