import SkepHTTP
import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// A `LogFormat` string compiled once at configuration time into a list of items, as
/// Apache's mod_log_config `parse_log_string` does, and rendered per request straight
/// into a byte buffer: no `String` is built for the literal parts, header values are
/// copied from the request's own buffer, and strings are escaped as they are copied.
///
/// Every code renders what Apache 2.4 writes (checked against Debian's 2.4 with the
/// same requests): `-` for a missing value, `ap_escape_logitem` escaping for text that
/// comes from the client or the configuration, and the status conditions
/// (`%400,501{User-agent}i`, `%!200,304{Referer}i`).
public struct LogFormat: Sendable {
    /// Apache's `DEFAULT_LOG_FORMAT`, used by `TransferLog` and by a `CustomLog` that
    /// names no format when no one-argument `LogFormat` set another.
    public static let commonLogFormat = "%h %l %u %t \"%r\" %>s %b"

    /// The format as written.
    public let source: String
    let items: [Item]

    /// Compiles `source`; throws Apache's message ("Unrecognized LogFormat directive %Z").
    public init(_ source: String) throws(LogFormatError) {
        self.source = source
        self.items = try Self.parse(Array(source.utf8))
    }

    // MARK: - Items

    enum TimeFormat: Sendable, Equatable {
        case clf
        case seconds, milliseconds, microseconds, millisecondFraction, microsecondFraction
        /// A strftime(3) format, NUL-terminated.
        case strftime([CChar])
    }

    enum Code: Sendable, Equatable {
        case literal([UInt8])
        case remoteHost, remoteAddress, peerAddress, localAddress, remoteLogname, remoteUser
        case time(TimeFormat, end: Bool)
        case requestLine, status, bytesCLF, bytes
        /// Lower-cased header name bytes.
        case requestHeader([UInt8])
        case responseHeader(String)
        case note(String), environment(String), cookie(String)
        /// mod_ssl's `%{NAME}x`: `SSL_PROTOCOL`, `SSL_CIPHER`...
        case sslVariable(String)
        case virtualHost, serverName, serverPort(PortKind), processID(PIDKind)
        case protocolName, method, query, uri, filename, handler, logID
        case bytesReceived, bytesSent, bytesTransferred
        case keepAliveCount, connectionStatus
        case duration(DurationUnit), durationMicroseconds
        /// `%{...}^ti`, `%{...}^to`, `%^FB`: Skep has no trailers and no first-byte timing.
        case unavailable
        /// `%{bogus}p`, `%{bogus}P`, `%{bogus}T`: Apache writes the argument itself.
        case echo([UInt8])
    }

    enum PortKind: Sendable, Equatable { case canonical, local, remote }
    enum PIDKind: Sendable, Equatable { case pid, tid, hextid }
    enum DurationUnit: Sendable, Equatable { case seconds, milliseconds, microseconds }

    struct Item: Sendable {
        var code: Code
        /// Status codes the item is limited to (or excluded from, when `negated`).
        var conditions: [Int] = []
        var negated = false
        /// `%<s` (true, the default for `%s`) or `%>s` (false): the original or the final status.
        var original = false
    }

    // MARK: - Parsing (Apache's parse_log_string / parse_log_item)

    static func parse(_ s: [UInt8]) throws(LogFormatError) -> [Item] {
        var items: [Item] = []
        var i = 0
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { items.append(Item(code: .literal(literal))); literal = [] }
        }
        while i < s.count {
            let c = s[i]
            if c == UInt8(ascii: "\\") {
                // Apache turns \n, \r, \t and \\ in the literal text into the characters.
                i += 1
                guard i < s.count else { literal.append(c); break }
                switch s[i] {
                case UInt8(ascii: "\\"): literal.append(UInt8(ascii: "\\")); i += 1
                case UInt8(ascii: "n"): literal.append(0x0A); i += 1
                case UInt8(ascii: "r"): literal.append(0x0D); i += 1
                case UInt8(ascii: "t"): literal.append(0x09); i += 1
                default: literal.append(c)
                }
                continue
            }
            if c != UInt8(ascii: "%") { literal.append(c); i += 1; continue }
            i += 1
            var item = Item(code: .unavailable)
            var wantOriginal: Bool?
            var argument: [UInt8] = []
            var done = false
            while i < s.count && !done {
                let d = s[i]
                switch d {
                case UInt8(ascii: "!"): item.negated.toggle(); i += 1
                case UInt8(ascii: "<"): wantOriginal = true; i += 1
                case UInt8(ascii: ">"): wantOriginal = false; i += 1
                case UInt8(ascii: ","): i += 1
                case UInt8(ascii: "{"):
                    i += 1
                    let start = i
                    while i < s.count && s[i] != UInt8(ascii: "}") { i += 1 }
                    argument = Array(s[start..<i])
                    if i < s.count { i += 1 }
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    var n = 0
                    while i < s.count, s[i] >= UInt8(ascii: "0"), s[i] <= UInt8(ascii: "9") {
                        n = n &* 10 &+ Int(s[i] - UInt8(ascii: "0"))  // trap-safe: one decimal digit
                        i += 1
                    }
                    item.conditions.append(n)
                default:
                    if d == UInt8(ascii: "%") && argument.isEmpty && item.conditions.isEmpty {
                        // `%%`: Apache's `constant_item` with "%".
                        literal.append(d)
                        i += 1
                        done = true
                        item.code = .literal([])
                        continue
                    }
                    var code: Code?
                    if d == UInt8(ascii: "^"), i + 2 < s.count {
                        let pair = (s[i + 1], s[i + 2])
                        if pair == (UInt8(ascii: "t"), UInt8(ascii: "i")) || pair == (UInt8(ascii: "t"), UInt8(ascii: "o"))
                            || pair == (UInt8(ascii: "F"), UInt8(ascii: "B")) {
                            code = .unavailable
                            i += 3
                        }
                    }
                    if code == nil {
                        code = Self.code(d, argument: argument)
                        i += 1
                    }
                    guard let code else {
                        throw LogFormatError("Unrecognized LogFormat directive %\(String(decoding: [d], as: UTF8.self))")
                    }
                    item.code = code
                    // Only `%s` defaults to the original request (Apache's want_orig_default).
                    item.original = wantOriginal ?? (d == UInt8(ascii: "s"))
                    done = true
                }
            }
            if !done { throw LogFormatError("Ran off end of LogFormat parsing args to some directive") }
            if case .literal(let bytes) = item.code, bytes.isEmpty { continue }
            flush()
            items.append(item)
        }
        flush()
        return items
    }

    /// The codes mod_log_config and mod_logio (both compiled into Debian's Apache) register.
    static func code(_ c: UInt8, argument: [UInt8]) -> Code? {
        let arg = String(decoding: argument, as: UTF8.self)
        switch c {
        case UInt8(ascii: "h"): return .remoteHost
        case UInt8(ascii: "a"): return arg == "c" ? .peerAddress : .remoteAddress
        case UInt8(ascii: "A"): return .localAddress
        case UInt8(ascii: "l"): return .remoteLogname
        case UInt8(ascii: "u"): return .remoteUser
        case UInt8(ascii: "t"): return .time(timeFormat(arg).0, end: timeFormat(arg).1)
        case UInt8(ascii: "r"): return .requestLine
        case UInt8(ascii: "s"): return .status
        case UInt8(ascii: "b"): return .bytesCLF
        case UInt8(ascii: "B"): return .bytes
        case UInt8(ascii: "i"): return .requestHeader(argument.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 })
        case UInt8(ascii: "o"): return .responseHeader(arg)
        case UInt8(ascii: "n"): return .note(arg)
        case UInt8(ascii: "e"): return .environment(arg)
        case UInt8(ascii: "C"): return .cookie(arg)
        case UInt8(ascii: "x"): return .sslVariable(arg)
        case UInt8(ascii: "v"): return .virtualHost
        case UInt8(ascii: "V"): return .serverName
        case UInt8(ascii: "p"):
            switch arg.lowercased() {
            case "", "canonical": return .serverPort(.canonical)
            case "local": return .serverPort(.local)
            case "remote": return .serverPort(.remote)
            default: return .echo(argument)
            }
        case UInt8(ascii: "P"):
            switch arg {
            case "", "pid": return .processID(.pid)
            case "tid": return .processID(.tid)
            case "hextid": return .processID(.hextid)
            default: return .echo(argument)
            }
        case UInt8(ascii: "H"): return .protocolName
        case UInt8(ascii: "m"): return .method
        case UInt8(ascii: "q"): return .query
        case UInt8(ascii: "U"): return .uri
        case UInt8(ascii: "f"): return .filename
        case UInt8(ascii: "R"): return .handler
        case UInt8(ascii: "L"): return .logID
        case UInt8(ascii: "I"): return .bytesReceived
        case UInt8(ascii: "O"): return .bytesSent
        case UInt8(ascii: "S"): return .bytesTransferred
        case UInt8(ascii: "k"): return .keepAliveCount
        case UInt8(ascii: "X"): return .connectionStatus
        case UInt8(ascii: "D"): return .durationMicroseconds
        case UInt8(ascii: "T"):
            switch arg.lowercased() {
            case "", "s": return .duration(.seconds)
            case "ms": return .duration(.milliseconds)
            case "us": return .duration(.microseconds)
            default: return .echo(argument)
            }
        default: return nil
        }
    }

    /// Apache's `log_request_time` reading of `%{...}t`: an optional `begin`/`end`
    /// (alone: the CLF form at that moment; with `:`: the rest applies to that moment),
    /// then `sec`, `msec`, `usec`, `msec_frac`, `usec_frac`, or a strftime format.
    static func timeFormat(_ argument: String) -> (TimeFormat, Bool) {
        var fmt = Substring(argument)
        var end = false
        if fmt.hasPrefix("begin") {
            let rest = fmt.dropFirst(5)
            if rest.isEmpty { return (.clf, false) }
            if rest.hasPrefix(":") { fmt = rest.dropFirst() }
        } else if fmt.hasPrefix("end") {
            let rest = fmt.dropFirst(3)
            if rest.isEmpty { return (.clf, true) }
            if rest.hasPrefix(":") { fmt = rest.dropFirst(); end = true }
        }
        switch fmt {
        case "": return (.clf, end)
        case "sec": return (.seconds, end)
        case "msec": return (.milliseconds, end)
        case "usec": return (.microseconds, end)
        case "msec_frac": return (.millisecondFraction, end)
        case "usec_frac": return (.microsecondFraction, end)
        default: return (.strftime(Array(String(fmt).utf8CString)), end)
        }
    }

    // MARK: - Rendering

    /// The per-server facts `%v`, `%p` print, worked out once per generation.
    public struct ServerIdentity: Sendable {
        /// `ServerName`'s host (Apache's `server_hostname`).
        public var hostname: String
        /// `ServerName`'s port, else the scheme's default (80).
        public var port: Int
        public init(hostname: String, port: Int) {
            self.hostname = hostname
            self.port = port
        }
    }

    /// Appends the line for `transaction` (without the newline) to `out`.
    func render(_ t: Transaction, server: ServerIdentity, clock: LogClock, into out: inout LogLineBuffer) {
        let r = t.request
        for item in items {
            if !item.conditions.isEmpty {
                let inList = item.conditions.contains(t.status.code)
                if inList == item.negated { out.appendDash(); continue }
            }
            switch item.code {
            case .literal(let bytes): out.append(bytes)
            case .remoteHost:
                // Apache's REMOTE_NAME: a name a host rule looked up, else the address.
                if let looked = r.remoteHostLookup, let name = looked { out.append(name) } else { out.append(r.client.host) }
            case .remoteAddress: out.append(r.client.host)
            case .peerAddress: out.append(r.peer.host)
            case .localAddress: out.append(r.local.host)
            case .remoteLogname: out.appendDash()
            case .remoteUser:
                if let user = r.user {
                    if user.isEmpty { out.append("\"\"") } else { out.appendEscaped(user) }
                } else { out.appendDash() }
            case .time(let format, let end):
                var micro = r.received.microseconds
                if end { micro += t.durationMicroseconds }
                clock.append(format, microseconds: micro, to: &out)
            case .requestLine: Self.appendRequestLine(r, to: &out)
            case .status:
                let code = item.original ? (r.originalStatus ?? t.status).code : t.status.code
                if code <= 0 { out.appendDash() } else { out.append(Int64(code)) }  // trap-safe: Int to Int64 widens
            case .bytesCLF:
                if t.bodyBytes == 0 { out.appendDash() } else { out.append(t.bodyBytes) }
            case .bytes: out.append(t.bodyBytes)
            case .requestHeader(let name): Self.appendRequestHeader(name, r, to: &out)
            case .responseHeader(let name): Self.appendResponseHeader(name, t, to: &out)
            case .note(let name):
                // Notes modules leave for the log (mod_deflate's DeflateFilterNote).
                if let value = r.notes[name] { out.appendEscaped(value) } else { out.appendDash() }
            case .environment(let name):
                if let value = r.environment[name] { out.appendEscaped(value) } else { out.appendDash() }
            case .cookie(let name):
                if let value = Self.cookie(name, in: r) { out.appendEscaped(value) } else { out.appendDash() }
            case .sslVariable(let name):
                if let value = SSLModule.variable(name, r.tls), !value.isEmpty { out.appendEscaped(value) } else { out.appendDash() }
            case .virtualHost: out.appendEscaped(server.hostname)
            case .serverName:
                if let host = r.hostName, !host.isEmpty { out.appendEscaped(host) } else { out.appendEscaped(server.hostname) }
            case .serverPort(let kind):
                switch kind {
                case .canonical: out.append(Int64(server.port))  // trap-safe: a port, widened
                case .local: out.append(Int64(r.local.port))  // trap-safe: UInt16 to Int64 widens
                case .remote: out.append(Int64(r.client.port))  // trap-safe: UInt16 to Int64 widens
                }
            case .processID(let kind):
                switch kind {
                case .pid: out.append(Int64(getpid()))  // trap-safe: pid_t (Int32) widens
                case .tid: out.append(Int64(SkepSystem.Process.threadID))  // trap-safe: a thread id (Int32) widens
                case .hextid: out.appendHex(UInt64(SkepSystem.Process.threadID))  // trap-safe: a thread id is positive
                }
            case .protocolName: out.append(r.protocolName)
            case .method: Self.appendRange(r.head.methodRange, r, to: &out)
            case .query:
                if let range = r.head.queryRange {
                    out.append(UInt8(ascii: "?"))
                    Self.appendRange(range, r, to: &out)
                }
            case .uri: out.appendEscaped(r.uri)
            case .filename:
                if let f = r.filename { out.appendEscaped(f) } else { out.appendDash() }
            case .handler:
                if let h = r.handler, !h.isEmpty { out.appendEscaped(h) } else { out.appendDash() }
            case .logID, .unavailable: out.appendDash()
            case .bytesReceived: out.append(t.bytesReceived)
            case .bytesSent: out.append(t.bytesSent)
            case .bytesTransferred: out.append(t.bytesReceived + t.bytesSent)
            case .keepAliveCount:
                // Apache prints `keepalives - 1`, and counts a request as kept alive only
                // once its response decided so: the last request of a connection of n
                // requests prints n-2, not n-1 (checked with 2.4).
                let keepalives = (r.sequence - 1) + (t.keepAlive ? 1 : 0)
                out.append(Int64(max(keepalives - 1, 0)))  // trap-safe: Int to Int64 widens
            case .connectionStatus:
                out.append(t.aborted ? UInt8(ascii: "X") : t.keepAlive ? UInt8(ascii: "+") : UInt8(ascii: "-"))
            case .duration(let unit):
                switch unit {
                case .seconds: out.append(t.durationMicroseconds / 1_000_000)
                case .milliseconds: out.append(t.durationMicroseconds / 1_000)
                case .microseconds: out.append(t.durationMicroseconds)
                }
            case .durationMicroseconds: out.append(t.durationMicroseconds)
            case .echo(let bytes): out.append(bytes)
            }
        }
    }

    /// `%r`: the request line as the client sent it (Apache's `the_request`), escaped.
    static func appendRequestLine(_ r: Request, to out: inout LogLineBuffer) {
        let bytes = r.bytes
        if let line = r.refusedRequestLine {
            out.appendEscaped(UnsafeRawBufferPointer(rebasing: bytes[line]))
            return
        }
        let start = r.head.methodRange.lowerBound
        var end = r.head.targetRange.upperBound
        if r.head.version != .http09 {
            while end < bytes.count && bytes[end] != 0x0D && bytes[end] != 0x0A { end += 1 }
        }
        guard start <= end, end <= bytes.count else { out.appendEscaped(r.requestLine); return }
        out.appendEscaped(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
    }

    static func appendRange(_ range: Range<Int>, _ r: Request, to out: inout LogLineBuffer) {
        out.appendEscaped(UnsafeRawBufferPointer(rebasing: r.bytes[range]))
    }

    /// `%{Name}i`: the field's value, repeated fields joined with `", "` as Apache's
    /// merged `headers_in` holds them.
    static func appendRequestHeader(_ name: [UInt8], _ r: Request, to out: inout LogLineBuffer) {
        if r.editedHeaders != nil {
            // `RequestHeader` changed them: the log shows what the handler saw, as Apache's.
            let values = r.headerValues(String(decoding: name, as: UTF8.self))
            guard !values.isEmpty else { return out.appendDash() }
            return out.appendEscaped(values.joined(separator: ", "))
        }
        let bytes = r.bytes
        var found = false
        for field in r.head.fields where field.name.count == name.count {
            var equal = true
            var k = 0
            for i in field.name {
                var b = bytes[i]
                if b >= 0x41 && b <= 0x5A { b |= 0x20 }
                if b != name[k] { equal = false; break }
                k += 1
            }
            guard equal else { continue }
            if found { out.append(", ") }
            found = true
            out.appendEscaped(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
        }
        if !found { out.appendDash() }
    }

    /// `%{Name}o`: the first response field of that name; for Content-Type, the type
    /// without its parameters, as Apache's `log_header_out` (`ap_field_noparam`).
    static func appendResponseHeader(_ name: String, _ t: Transaction, to out: inout LogLineBuffer) {
        let lower = name.lowercased()
        var value = t.responseHeaders.first { $0.name.lowercased() == lower }?.value
        if lower == "content-type" {
            if let type = value ?? t.request.contentType {
                var v = Substring(type)
                if let semi = v.firstIndex(of: ";") { v = v[..<semi] }
                while let l = v.last, l == " " || l == "\t" { v.removeLast() }
                value = String(v)
            }
        }
        if let value { out.appendEscaped(value) } else { out.appendDash() }
    }

    /// `%{name}C`: Apache's `log_cookie`, names compared case-insensitively, spaces trimmed.
    static func cookie(_ name: String, in r: Request) -> String? {
        guard let header = r.head.combinedValue(of: "Cookie", in: r.bytes) else { return nil }
        let wanted = name.lowercased()
        for pair in header.split(separator: ";") {
            guard let eq = pair.firstIndex(of: "=") else { continue }
            let key = pair[..<eq].trimmingCharacters(" \t")
            let value = pair[pair.index(after: eq)...].trimmingCharacters(" \t")
            if !key.isEmpty, !pair[pair.index(after: eq)...].isEmpty, key.lowercased() == wanted { return String(value) }
        }
        return nil
    }
}

/// A format string mod_log_config refuses, with Apache's wording.
public struct LogFormatError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Substring {
    fileprivate func trimmingCharacters(_ set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return s
    }
}

/// The bytes of one log line being rendered: stack memory for the common line, spilling
/// to the heap only for a line longer than it, so that logging a request allocates
/// nothing in the common case and the whole line goes out in one write(2).
struct LogLineBuffer {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    private var spill: [UInt8]?

    init(_ storage: UnsafeMutableRawBufferPointer) {
        base = storage.baseAddress!  // trap-safe: not nil: `withTemporary` passes its non-empty allocation
        capacity = storage.count
    }

    /// Runs `body` with a buffer on the stack. 1 KiB, because the standard library puts
    /// larger temporary allocations on the heap (a malloc per logged request); a longer
    /// line spills into an array.
    static func withTemporary<R>(capacity: Int = 1024, _ body: (inout LogLineBuffer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 16) { raw in
            var buffer = LogLineBuffer(raw)
            return body(&buffer)
        }
    }

    var count: Int { spill?.count ?? used }

    mutating func removeAll() {
        used = 0
        spill = nil
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if spill == nil && used < capacity {
            base.storeBytes(of: byte, toByteOffset: used, as: UInt8.self)
            used += 1
        } else {
            spillAppend(byte)
        }
    }

    private mutating func spillAppend(_ byte: UInt8) {
        if spill == nil {
            var array = [UInt8]()
            array.reserveCapacity(capacity * 2)
            array.append(contentsOf: UnsafeRawBufferPointer(start: base, count: used))
            spill = array
        }
        spill!.append(byte)  // trap-safe: not nil: set just above
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if spill == nil && used + bytes.count <= capacity {
            // `bytes.baseAddress` is not nil when `bytes` is not empty.
            if bytes.count > 0 { (base + used).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }  // trap-safe: bytes.count > 0, checked on this line
            used += bytes.count
        } else {
            for b in bytes { append(b) }
        }
    }

    mutating func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    mutating func append(_ text: String) {
        if let done: Void = text.utf8.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) { return done }
        for b in text.utf8 { append(b) }
    }

    mutating func appendDash() { append(UInt8(ascii: "-")) }

    /// Apache's `ap_escape_logitem`: `"` and `\` and the control characters get a
    /// backslash (`\n`, `\t`...; `\xhh` for the others), as do bytes outside printable
    /// ASCII, so a client cannot forge log lines or fields.
    mutating func appendEscaped(_ bytes: UnsafeRawBufferPointer) {
        var clean = true
        for b in bytes where LogEscaping.needsEscape(b) { clean = false; break }
        if clean { append(bytes); return }
        for b in bytes { appendEscaped(b) }
    }

    mutating func appendEscaped(_ text: String) {
        if let done: Void = text.utf8.withContiguousStorageIfAvailable({ appendEscaped(UnsafeRawBufferPointer($0)) }) { return done }
        for b in text.utf8 { appendEscaped(b) }
    }

    mutating func appendEscaped(_ b: UInt8) {
        guard LogEscaping.needsEscape(b) else { append(b); return }
        append(UInt8(ascii: "\\"))
        if let letter = LogEscaping.letter(b) {
            append(letter)
        } else {
            append(UInt8(ascii: "x"))
            append(LogEscaping.hex[Int(b >> 4)])  // trap-safe: a nibble, 0...15
            append(LogEscaping.hex[Int(b & 0xF)])  // trap-safe: a nibble, 0...15
        }
    }

    /// Decimal, without going through `String`.
    mutating func append(_ value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(magnitude % 10)  // trap-safe: a remainder of 10
                magnitude /= 10
                n += 1
            } while magnitude > 0
        }
        withUnsafeBytes(of: &digits) { d in
            var k = n - 1
            while k >= 0 { append(d[k]); k -= 1 }
        }
    }

    /// Zero-padded to `width` digits (`%{msec_frac}t` is `%03d`).
    mutating func append(_ value: Int64, width: Int) {
        var pad = width - 1
        var v = value
        while v >= 10 && pad > 0 { v /= 10; pad -= 1 }
        for _ in 0..<max(pad, 0) { append(UInt8(ascii: "0")) }
        append(value)
    }

    mutating func appendHex(_ value: UInt64) {
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) == 0 { shift -= 4 }  // trap-safe: shift is 0...60
        while shift >= 0 {
            append(LogEscaping.hex[Int((value >> UInt64(shift)) & 0xF)])  // trap-safe: shift is 0...60, and the value a nibble
            shift -= 4
        }
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let spill { return spill.withUnsafeBytes(body) }
        return body(UnsafeRawBufferPointer(start: base, count: used))
    }

    var bytes: [UInt8] { withBytes { Array($0) } }
}

/// Formats `%t` and its kin in local time. The CLF form `[22/Nov/2026:23:18:07 +0000]`
/// is formatted at most once a second and shared by the threads of a process, as Apache
/// keeps its `request_time_cache`; a lock (uncontended: a few nanoseconds) keeps it safe.
final class LogClock: @unchecked Sendable {
    private let mutex = Mutex()
    private var cachedSecond: Int64 = .min
    private var cached: [UInt8] = []
    /// How many times the CLF form was formatted (tests check the cache works).
    private(set) var formatCount = 0

    init() {
        cached.reserveCapacity(32)
    }

    private static let months: [[UInt8]] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].map { Array($0.utf8) }

    func append(_ format: LogFormat.TimeFormat, microseconds: Int64, to out: inout LogLineBuffer) {
        let seconds = microseconds / 1_000_000
        switch format {
        case .clf:
            mutex.withLock {
                if seconds != cachedSecond { refresh(seconds) }
                out.append(cached)
            }
        case .seconds: out.append(seconds)
        case .milliseconds: out.append(microseconds / 1000)
        case .microseconds: out.append(microseconds)
        case .millisecondFraction: out.append((microseconds / 1000) % 1000, width: 3)
        case .microsecondFraction: out.append(microseconds % 1_000_000, width: 6)
        case .strftime(let pattern):
            var t = time_t(seconds)  // trap-safe: time_t is Int64
            var parts = tm()
            localtime_r(&t, &parts)
            // The addresses are not nil: a 1 KiB allocation, and a pattern that holds at least its NUL.
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: 1024) { buffer in
                let n = pattern.withUnsafeBufferPointer { strftime(buffer.baseAddress!, buffer.count, $0.baseAddress!, &parts) }  // trap-safe: see the comment above
                out.append(UnsafeRawBufferPointer(start: buffer.baseAddress!, count: n))  // trap-safe: see the comment above
            }
        }
    }

    /// Apache's `[%02d/%s/%d:%02d:%02d:%02d %c%.2d%.2d]` with the local zone's offset.
    private func refresh(_ seconds: Int64) {
        var t = time_t(seconds)  // trap-safe: time_t is Int64
        var parts = tm()
        localtime_r(&t, &parts)
        var line = LogLineBuffer.withTemporary(capacity: 64) { b -> [UInt8] in
            b.append(UInt8(ascii: "["))
            b.append(Int64(parts.tm_mday), width: 2)  // trap-safe: Int32 to Int64 widens
            b.append(UInt8(ascii: "/"))
            b.append(Self.months[Int(parts.tm_mon)])  // trap-safe: tm_mon is 0...11
            b.append(UInt8(ascii: "/"))
            b.append(Int64(parts.tm_year) + 1900)  // trap-safe: Int32 to Int64 widens
            b.append(UInt8(ascii: ":"))
            b.append(Int64(parts.tm_hour), width: 2)  // trap-safe: Int32 to Int64 widens
            b.append(UInt8(ascii: ":"))
            b.append(Int64(parts.tm_min), width: 2)  // trap-safe: Int32 to Int64 widens
            b.append(UInt8(ascii: ":"))
            b.append(Int64(parts.tm_sec), width: 2)  // trap-safe: Int32 to Int64 widens
            var offset = Int64(parts.tm_gmtoff)  // trap-safe: tm_gmtoff is a long, Int64 on 64-bit
            b.append(UInt8(ascii: " "))
            b.append(offset < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            offset = abs(offset)
            b.append(offset / 3600, width: 2)
            b.append((offset % 3600) / 60, width: 2)
            b.append(UInt8(ascii: "]"))
            return b.bytes
        }
        swap(&cached, &line)
        cachedSecond = seconds
        formatCount += 1
    }
}
