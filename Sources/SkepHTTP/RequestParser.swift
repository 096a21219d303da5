/// An incremental HTTP/1.x request-head parser: an explicit state machine over the
/// connection's own bytes.
///
/// Why: DESIGN.md §4 and §8 — no copies, no allocation per header, no sockets; the caller
/// reads into its buffer and calls `parse` again with the longer buffer. Every byte is
/// examined once: the parser remembers where it stopped (`scanned`) and whole lines are
/// validated once, when their CRLF has arrived, so any split of the input gives the same
/// answer in linear time.
///
/// Usage: `parse(bytes)` where `bytes` starts at the first byte of this request and holds
/// everything received so far (the same prefix on every call). On `.headComplete(head,
/// consumed)` the body (if any) starts at `bytes[consumed]`; for the next (pipelined)
/// request call `reset()` and parse the bytes from `consumed` on. After `.error` the
/// connection must be closed once the error response is written: as Apache, every parse
/// error answers with `Connection: close`.
///
/// Apache 2.4.71 behaviour matched (default, strict `HttpProtocolOptions`), all measured:
/// - up to 10 empty lines (CRLF) before the request line are skipped, the 11th is a 400;
///   a bare-LF line ending anywhere in the head is a 400 (no LF-only tolerance);
/// - request line: one SP between parts, no trailing SP, no tab (all 400); method a
///   token (400 otherwise; unknown methods pass, the server answers 501); version
///   `HTTP/[1-9].[0-9]` exactly (`HTTP/1.10`, `HTTP/01.1`, `http/1.1`, `HTTP/0.9` are 400;
///   `HTTP/1.2`, `HTTP/2.0`, `HTTP/3.0` are served as HTTP/1.1);
/// - `GET /path` with no version is an HTTP/0.9 request, served without headers; any
///   other method without version is a 400;
/// - target: control characters and `#` are a 400, bytes >= 0x80 pass; `*` only with
///   OPTIONS; `http://` and `https://` absolute forms (case-insensitive scheme) with no
///   userinfo; authority form only with CONNECT and with a port;
/// - headers: whitespace before the colon, a missing colon, an empty or non-token name,
///   NUL, bare CR or another control character (DEL included) in a value are a 400;
/// - HTTP/1.1 without `Host`, with two `Host` fields (even identical) or with a
///   malformed host is a 400; with an absolute-form target HTTP/1.1 still needs a `Host`
///   field but its value is ignored (`Host: a b` passes); HTTP/1.0 needs none;
/// - `Content-Length` must be digits only (leading zeros allowed, no sign, not empty,
///   at most 2^63-1): otherwise 400; two `Content-Length` fields are a 400 even when equal
///   (Apache merges them into `3, 3`, which is not a number);
/// - `Transfer-Encoding` must end with the `chunked` coding (`gzip, chunked` and
///   `chunked, chunked` pass; `gzip`, `identity`, `chunked, gzip`, `chunked;x=y` are a
///   **400**, not 501); HTTP/1.0 with chunked is accepted.
///
/// Deliberate differences from Apache, as DESIGN.md §6 requires ("ambiguous framing is
/// refused, never guessed"): Apache 2.4 accepts obsolete line folding (a header line
/// starting with SP/HT continues the previous one) and, given both `Content-Length` and
/// `Transfer-Encoding`, drops `Content-Length` and closes after the response; Skep answers
/// 400 to both. A first header line starting with whitespace is a 400 in both.
public struct RequestParser: Sendable {
    /// What the caller should do next.
    public enum Result: Sendable, Hashable {
        /// The head is not complete: read more bytes and call `parse` again.
        case needMore
        /// The head is complete; the body or next request starts at `consumed`.
        case headComplete(RequestHead, consumed: Int)
        /// Answer `status` and close the connection. `reason` is for the error log.
        case error(HTTPStatus, reason: String)
    }

    @usableFromInline
    enum State: Sendable {
        case blankLines, requestLine, fields, done, failed
    }

    public var limits: HTTPLimits
    @usableFromInline var state: State = .blankLines
    /// The next byte to examine.
    @usableFromInline var scanned = 0
    /// First byte of the line being scanned.
    @usableFromInline var lineStart = 0
    @usableFromInline var blankLines = 0
    @usableFromInline var head = RequestHead()
    @usableFromInline var needsClear = false
    // Fields the parser interprets, found while scanning.
    @usableFromInline var hostCount = 0
    @usableFromInline var hostField: Range<Int>? = nil
    @usableFromInline var contentLengthCount = 0
    @usableFromInline var contentLengthField: Range<Int>? = nil
    @usableFromInline var transferEncodingField: Range<Int>? = nil
    @usableFromInline var connectionClose = false
    @usableFromInline var lastError: (status: HTTPStatus, reason: String)? = nil
    /// The error was in reading a line (a bare CR or LF, a NUL, a line too long), not in
    /// a complete line's content: see `refused(in:)`.
    @usableFromInline var failedReadingLine = false
    /// Apache's `error-notes` for the refusal, which its 400 page shows: set when a header
    /// field is too long or there are too many; nil otherwise.
    public internal(set) var errorNote: String? = nil

    /// The head `parse` last completed, until `reset`: the connection reads it from here
    /// rather than keep a second copy.
    public var completedHead: RequestHead { head }

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
        head.fields.reserveCapacity(16)
    }

    /// Prepares for the next request on the same connection, keeping the header storage
    /// (the field array is cleared lazily at the next `parse`, so that a `RequestHead`
    /// still held by the caller does not force a copy).
    public mutating func reset() {
        state = .blankLines
        scanned = 0
        lineStart = 0
        blankLines = 0
        hostCount = 0
        hostField = nil
        contentLengthCount = 0
        contentLengthField = nil
        transferEncodingField = nil
        connectionClose = false
        needsClear = true
        lastError = nil
        failedReadingLine = false
        errorNote = nil
    }

    /// Parses `bytes[0..<count]`, continuing where the previous call stopped.
    public mutating func parse(_ bytes: [UInt8]) -> Result {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// Parses the request head at the start of `bytes`, continuing where the previous
    /// call stopped. `bytes` must begin with the same bytes as on the previous call.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) -> Result {
        if needsClear {
            needsClear = false
            head.clearKeepingCapacity()
        }
        switch state {
        case .done:
            // trap-safe: cannot fire from input: the connection resets the parser before the next head.
            preconditionFailure("RequestParser.parse called after headComplete without reset()")
        case .failed:
            return failure
        default:
            break
        }
        let count = bytes.count
        while true {
            switch state {
            case .blankLines:
                // Skip CRLF pairs before the request line, as Apache's read_request_line.
                while scanned < count {
                    let b = bytes[scanned]
                    if b == 0x0D {
                        guard scanned + 1 < count else { return .needMore }
                        guard bytes[scanned + 1] == 0x0A else {
                            _ = fail(.badRequest, "bare CR before the request line")
                            return failure
                        }
                        blankLines += 1
                        if blankLines > limits.blankLines {
                            _ = fail(.badRequest, "too many empty lines before the request line")
                            return failure
                        }
                        scanned += 2
                    } else if b == 0x0A {
                        _ = fail(.badRequest, "bare LF before the request line")
                        return failure
                    } else {
                        break
                    }
                }
                guard scanned < count else { return .needMore }
                lineStart = scanned
                state = .requestLine

            case .requestLine:
                switch scanLine(bytes, maxContent: limits.requestLine + 1, tooLong: .requestURITooLong,
                                what: "request line")
                {
                case .needMore: return .needMore
                case .error: return failure
                case .line(let end):
                    if parseRequestLine(bytes, lineStart..<end) { return failure }
                    if head.version == .http09 {
                        state = .done
                        head.keepAlive = false
                        return .headComplete(head, consumed: scanned)
                    }
                    lineStart = scanned
                    state = .fields
                }

            case .fields:
                switch scanLine(bytes, maxContent: limits.requestFieldSize + 1, tooLong: .badRequest,
                                what: "header field")
                {
                case .needMore: return .needMore
                case .error: return failure
                case .line(let end):
                    if end == lineStart {
                        if finishHead(bytes) { return failure }
                        state = .done
                        return .headComplete(head, consumed: scanned)
                    }
                    if parseField(bytes, lineStart..<end) { return failure }
                    lineStart = scanned
                }

            case .done, .failed:
                preconditionFailure()  // cannot fire: every step that sets these states returns
            }
        }
    }

    // MARK: - Lines

    @usableFromInline
    enum LineScan {
        case needMore
        case line(end: Int)  // index of the CR; `scanned` is past the LF
        case error  // recorded by `fail`
    }

    /// Finds the CRLF ending the line that starts at `lineStart`, from `scanned` on.
    /// Refuses NUL, bare CR and bare LF anywhere, and lines over `maxContent` bytes.
    ///
    /// The scan reads eight bytes at a time and drops to byte steps only around bytes
    /// <= 0x0D (SWAR "has byte less than" test); it never reads past the bytes given, nor
    /// further than the line limit allows, so a long line costs no more than its limit.
    @inline(__always)
    mutating func scanLine(_ p: UnsafeRawBufferPointer, maxContent: Int, tooLong: HTTPStatus,
                           what: StaticString) -> LineScan
    {
        let count = p.count
        let limitEnd = lineStart + maxContent  // the CR may be at this index, at the latest
        let regionEnd = min(count, limitEnd + 1)
        var i = scanned
        guard i < regionEnd, let base = p.baseAddress else { return .needMore }
        while i < regionEnd {
            while i + 8 <= regionEnd {
                let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if (w &- 0x0E0E_0E0E_0E0E_0E0E) & ~w & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            guard i < regionEnd else { break }
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            if b > 0x0D {
                i += 1
                continue
            }
            switch b {
            case 0x0D:
                guard i + 1 < count else {
                    scanned = i
                    return .needMore
                }
                guard base.load(fromByteOffset: i + 1, as: UInt8.self) == 0x0A else {
                    failedReadingLine = true
                    _ = fail(.badRequest, "bare CR in \(what)")
                    return .error
                }
                scanned = i + 2
                return .line(end: i)
            case 0x0A:
                failedReadingLine = true
                _ = fail(.badRequest, "bare LF in \(what)")
                return .error
            case 0x00:
                failedReadingLine = true
                _ = fail(.badRequest, "NUL in \(what)")
                return .error
            default:  // HT, VT, FF and other controls: judged with the whole line
                i += 1
            }
        }
        if i > limitEnd {  // a content byte where only the CR could be
            failedReadingLine = true
            if tooLong == .badRequest { errorNote = "Size of a request header field exceeds server limit." }
            _ = fail(tooLong, "\(what) too long")
            return .error
        }
        scanned = i
        return .needMore
    }

    /// What the log can tell of a head refused while it was read (Apache logs those
    /// requests too): the header fields Apache had stored, the host if one was read, and
    /// the range of the request line as Apache's `the_request` holds it — from
    /// its first byte (after leading empty lines) to the first CR, LF or NUL, at most
    /// `LimitRequestLine` + 1 bytes, or what had arrived. Ranges are into `bytes`, the
    /// bytes last given to `parse`.
    public func refused(in bytes: UnsafeRawBufferPointer) -> (head: RequestHead, requestLine: Range<Int>) {
        var start = 0
        while start + 1 < bytes.count, bytes[start] == 0x0D, bytes[start + 1] == 0x0A { start += 2 }
        let cap = start + min(limits.requestLine + 1, bytes.count - start)
        var end = start
        while end < cap, bytes[end] != 0x0D, bytes[end] != 0x0A, bytes[end] != 0 { end += 1 }
        var partial = RequestHead()
        partial.fields = head.fields
        // Apache stores a field when it has read the next line (which may fold into it):
        // when reading a line failed or timed out, the last field read is not stored yet.
        if state != .failed || failedReadingLine, !partial.fields.isEmpty { partial.fields.removeLast() }
        partial.hostRange = head.hostRange
        partial.methodRange = start..<start
        partial.targetRange = start..<start
        partial.pathRange = start..<start
        return (partial, start..<end)
    }

    /// Records the error; the state machine then stops and `failure` describes it.
    /// Returns `true` so that checks read `return fail(...)` in `Bool`-returning steps
    /// (small return values keep the hot path free of large enum copies).
    @usableFromInline
    mutating func fail(_ status: HTTPStatus, _ reason: String) -> Bool {
        state = .failed
        lastError = (status, reason)
        return true
    }

    @usableFromInline
    var failure: Result {
        let e = lastError ?? (.badRequest, "parser failed")
        return .error(e.status, reason: e.reason)
    }

    // MARK: - Request line

    mutating func parseRequestLine(_ p: UnsafeRawBufferPointer, _ line: Range<Int>) -> Bool {
        var i = line.lowerBound
        let end = line.upperBound
        // Method: a token up to the first SP.
        while i < end, p[i] != 0x20 {
            guard ByteClass.isToken(p[i]) else { return fail(.badRequest, "invalid character in method") }
            i += 1
        }
        guard i > line.lowerBound else { return fail(.badRequest, "empty method") }
        head.methodRange = line.lowerBound..<i
        head.method = HTTPMethod(UnsafeRawBufferPointer(rebasing: p[head.methodRange]))
        guard i < end else { return fail(.badRequest, "request line without target") }
        i += 1  // SP
        let targetStart = i
        while i < end, p[i] != 0x20 {
            let b = p[i]
            guard ByteClass.isTargetByte(b) else { return fail(.badRequest, "invalid character in target") }
            if b == 0x23 { return fail(.badRequest, "fragment in request target") }
            i += 1
        }
        guard i > targetStart else { return fail(.badRequest, "empty request target") }
        head.targetRange = targetStart..<i
        if i == end {
            // HTTP/0.9 simple request: Apache allows it for GET only.
            guard limits.allowHTTP09 else { return fail(.badRequest, "HTTP/0.9 request refused") }
            guard head.method == .get else { return fail(.badRequest, "HTTP/0.9 request with a method other than GET") }
            head.version = .http09
        } else {
            i += 1  // SP
            // Exactly "HTTP/" DIGIT(1-9) "." DIGIT to the end of the line.
            guard end - i == 8,
                  p[i] == 0x48, p[i + 1] == 0x54, p[i + 2] == 0x54, p[i + 3] == 0x50, p[i + 4] == 0x2F,
                  p[i + 5] >= 0x31, p[i + 5] <= 0x39, p[i + 6] == 0x2E, ByteClass.isDigit(p[i + 7])
            else { return fail(.badRequest, "invalid protocol version") }
            head.version = HTTPVersion(major: p[i + 5] - 0x30, minor: p[i + 7] - 0x30)
        }
        return parseTarget(p)
    }

    mutating func parseTarget(_ p: UnsafeRawBufferPointer) -> Bool {
        let t = head.targetRange
        let first = p[t.lowerBound]
        if first == 0x2F {  // '/'
            if head.method == .connect { return fail(.badRequest, "CONNECT needs an authority-form target") }
            head.targetForm = .origin
            splitPathQuery(p, t)
            return false
        }
        if t.count == 1 && first == 0x2A {  // '*'
            guard head.method == .options else { return fail(.badRequest, "'*' target with a method other than OPTIONS") }
            head.targetForm = .asterisk
            head.pathRange = t.lowerBound..<t.lowerBound
            return false
        }
        if head.method == .connect {
            guard let h = HostSyntax.parse(p, t), h.port != nil else {
                return fail(.badRequest, "invalid CONNECT authority")
            }
            head.targetForm = .authority
            head.hostRange = h.host
            head.port = h.port
            head.pathRange = t.lowerBound..<t.lowerBound
            return false
        }
        // absolute-form: http:// or https://
        var i = t.lowerBound
        while i < t.upperBound, p[i] != 0x3A { i += 1 }
        let scheme = t.lowerBound..<i
        guard ByteClass.equalsLowercased(p, scheme, "http") || ByteClass.equalsLowercased(p, scheme, "https"),
              t.upperBound - i >= 3, p[i + 1] == 0x2F, p[i + 2] == 0x2F
        else { return fail(.badRequest, "invalid request target") }
        let authStart = i + 3
        var j = authStart
        while j < t.upperBound, p[j] != 0x2F, p[j] != 0x3F {
            if p[j] == 0x40 { return fail(.badRequest, "userinfo in request target") }
            j += 1
        }
        guard let h = HostSyntax.parse(p, authStart..<j) else { return fail(.badRequest, "invalid host in request target") }
        head.targetForm = .absolute
        head.hostRange = h.host
        head.port = h.port
        splitPathQuery(p, j..<t.upperBound)
        return false
    }

    @inline(__always)
    mutating func splitPathQuery(_ p: UnsafeRawBufferPointer, _ r: Range<Int>) {
        var i = r.lowerBound
        while i < r.upperBound, p[i] != 0x3F { i += 1 }
        head.pathRange = r.lowerBound..<i
        head.queryRange = i < r.upperBound ? (i + 1)..<r.upperBound : nil
    }

    // MARK: - Header fields

    mutating func parseField(_ p: UnsafeRawBufferPointer, _ line: Range<Int>) -> Bool {
        var i = line.lowerBound
        let end = line.upperBound
        if ByteClass.isBlank(p[i]) {
            return fail(.badRequest, "header line starting with whitespace (obsolete line folding)")
        }
        while i < end, p[i] != 0x3A {
            guard ByteClass.isToken(p[i]) else {
                return fail(.badRequest, ByteClass.isBlank(p[i]) ? "whitespace before the colon of a header" : "invalid character in header name")
            }
            i += 1
        }
        guard i < end else { return fail(.badRequest, "header line without colon") }
        let name = line.lowerBound..<i
        guard !name.isEmpty else { return fail(.badRequest, "empty header name") }
        i += 1
        while i < end, ByteClass.isBlank(p[i]) { i += 1 }
        var valueEnd = end
        while valueEnd > i, ByteClass.isBlank(p[valueEnd - 1]) { valueEnd -= 1 }
        var k = i
        if let base = p.baseAddress {
            while k + 8 <= valueEnd, ByteClass.eightPlainValueBytes(base, k) { k += 8 }
        }
        while k < valueEnd {
            guard ByteClass.isFieldValue(p[k]) else { return fail(.badRequest, "control character in header value") }
            k += 1
        }
        let value = i..<valueEnd
        guard head.fields.count < limits.requestFields else {
            errorNote = "The number of request header fields exceeds this server's limit."
            return fail(.badRequest, "too many header fields")
        }
        head.fields.append(HeaderField(name: name, value: value))
        interpret(p, name, value)
        return false
    }

    /// Notes the fields the parser itself decides on.
    @inline(__always)
    mutating func interpret(_ p: UnsafeRawBufferPointer, _ name: Range<Int>, _ value: Range<Int>) {
        switch name.count {
        case 4:
            if ByteClass.equalsLowercased(p, name, "host") {
                hostCount += 1
                hostField = value
            }
        case 6:
            if ByteClass.equalsLowercased(p, name, "expect") && !value.isEmpty {
                head.expectation = ByteClass.equalsLowercased(p, value, "100-continue") ? .continue100 : .unsupported
            }
        case 10:
            if ByteClass.equalsLowercased(p, name, "connection") { connectionTokens(p, value) }
        case 14:
            if ByteClass.equalsLowercased(p, name, "content-length") {
                contentLengthCount += 1
                contentLengthField = value
            }
        case 17:
            if ByteClass.equalsLowercased(p, name, "transfer-encoding") { transferEncodingField = value }
        default:
            break
        }
    }

    @inline(__always)
    mutating func connectionTokens(_ p: UnsafeRawBufferPointer, _ value: Range<Int>) {
        var i = value.lowerBound
        while i < value.upperBound {
            while i < value.upperBound, p[i] == 0x2C || ByteClass.isBlank(p[i]) { i += 1 }
            let s = i
            while i < value.upperBound, p[i] != 0x2C { i += 1 }
            var e = i
            while e > s, ByteClass.isBlank(p[e - 1]) { e -= 1 }
            if ByteClass.equalsLowercased(p, s..<e, "close") { connectionClose = true }
            else if ByteClass.equalsLowercased(p, s..<e, "keep-alive") { head.clientSentKeepAlive = true }
        }
    }

    // MARK: - End of head

    mutating func finishHead(_ p: UnsafeRawBufferPointer) -> Bool {
        let v = head.version
        // Host
        if hostCount > 1 { return fail(.badRequest, "more than one Host header") }
        if head.targetForm == .absolute {
            // Apache takes the host from an absolute-form target and then ignores the
            // Host field's value (an empty or malformed one passes), but an HTTP/1.1
            // request must still carry one.
            if hostField == nil && v >= .http11 { return fail(.badRequest, "HTTP/1.1 request without Host header") }
        } else if let hf = hostField {
            if hf.isEmpty {
                if v >= .http11 && head.hostRange == nil { return fail(.badRequest, "empty Host header") }
            } else {
                guard let h = HostSyntax.parse(p, hf) else { return fail(.badRequest, "invalid Host header") }
                if head.hostRange == nil {
                    head.hostRange = h.host
                    head.port = h.port
                }
            }
        } else if v >= .http11 {
            return fail(.badRequest, "HTTP/1.1 request without Host header")
        }
        // Body framing
        if let te = transferEncodingField {
            if contentLengthCount > 0 {
                return fail(.badRequest, "both Content-Length and Transfer-Encoding")
            }
            guard Self.endsWithChunked(p, te) else {
                return fail(.badRequest, "Transfer-Encoding not ending with chunked")
            }
            head.framing = .chunked
        } else if let cl = contentLengthField {
            if contentLengthCount > 1 { return fail(.badRequest, "more than one Content-Length header") }
            guard let n = Self.parseContentLength(p, cl) else { return fail(.badRequest, "invalid Content-Length") }
            head.framing = n == 0 ? .none : .length(n)
        }
        // Expect: Apache honours it for HTTP/1.1 only.
        if v < .http11 && head.expectation == .continue100 { head.expectation = .none }
        // Keep-alive
        if v >= .http11 {
            head.keepAlive = !connectionClose
        } else {
            head.keepAlive = head.clientSentKeepAlive && !connectionClose
        }
        return false
    }

    /// Apache's `ap_is_chunked`/`find_last_token`: the value ends with `chunked`
    /// (case-insensitive), preceded by nothing, whitespace or a comma.
    @usableFromInline
    static func endsWithChunked(_ p: UnsafeRawBufferPointer, _ v: Range<Int>) -> Bool {
        guard v.count >= 7 else { return false }
        let s = v.upperBound - 7
        guard ByteClass.equalsLowercased(p, s..<v.upperBound, "chunked") else { return false }
        if s == v.lowerBound { return true }
        let b = p[s - 1]
        return b == 0x2C || ByteClass.isBlank(b)
    }

    /// Digits only, at most `Int64.max`; nil otherwise (Apache's `ap_parse_strict_length`).
    @usableFromInline
    static func parseContentLength(_ p: UnsafeRawBufferPointer, _ v: Range<Int>) -> Int64? {
        guard !v.isEmpty else { return nil }
        var n: Int64 = 0
        for i in v {
            let d = p[i] &- 0x30
            guard d < 10 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d))  // trap-safe: d is one decimal digit
            if o1 || o2 { return nil }
            n = a
        }
        return n
    }
}
