/// A response head serialised into a reusable byte buffer, in Apache's header order.
///
/// Why: DESIGN.md §4 — one `writev` for head and small body, no per-header `String`
/// concatenation: headers are appended as bytes into storage that is reused across the
/// connection's responses (`reset` keeps its capacity).
///
/// Order, as Apache 2.4.71 writes a static file response:
/// `HTTP/1.1 200 OK`, `Date`, `Server`, the handler's headers in the order added
/// (`Last-Modified`, `ETag`, `Accept-Ranges`, ...), `Content-Length`, `Keep-Alive`,
/// `Connection`, `Content-Type`. The status line is always `HTTP/1.1`, also for HTTP/1.0
/// clients, as Apache. An HTTP/0.9 response has no head at all: write none.
public struct ResponseHead: Sendable {
    public var status: HTTPStatus
    public var contentLength: Int64?
    public var connection: ConnectionHeader
    /// Bytes of the handler's headers, each already `Name: value\r\n`.
    @usableFromInline var headerBytes: [UInt8] = []
    @usableFromInline var contentTypeBytes: [UInt8] = []

    public init(status: HTTPStatus = .ok, contentLength: Int64? = nil, connection: ConnectionHeader = .none) {
        self.status = status
        self.contentLength = contentLength
        self.connection = connection
        headerBytes.reserveCapacity(256)
    }

    /// Starts a new response, keeping the storage.
    public mutating func reset(status: HTTPStatus = .ok) {
        self.status = status
        contentLength = nil
        connection = .none
        headerBytes.removeAll(keepingCapacity: true)
        contentTypeBytes.removeAll(keepingCapacity: true)
    }

    /// Adds a header. Values must not contain CR or LF (a precondition: response
    /// splitting is a bug in the caller).
    @inlinable
    public mutating func add(_ name: StaticString, _ value: String) {
        headerBytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        headerBytes.append(0x3A)
        headerBytes.append(0x20)
        var v = value
        v.withUTF8 { Self.appendChecked($0, to: &headerBytes) }
        headerBytes.append(0x0D)
        headerBytes.append(0x0A)
    }

    /// Adds a header whose name is only known at run time.
    public mutating func add(name: String, value: String) {
        var n = name
        n.withUTF8 { Self.appendChecked($0, to: &headerBytes) }
        headerBytes.append(0x3A)
        headerBytes.append(0x20)
        var v = value
        v.withUTF8 { Self.appendChecked($0, to: &headerBytes) }
        headerBytes.append(0x0D)
        headerBytes.append(0x0A)
    }

    /// Adds a header whose value is already bytes (e.g. a formatted `HTTPDate`).
    public mutating func add(_ name: StaticString, bytes: some Collection<UInt8>) {
        headerBytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        headerBytes.append(0x3A)
        headerBytes.append(0x20)
        for b in bytes { precondition(b != 0x0D && b != 0x0A, "CR/LF in header value"); headerBytes.append(b) }
        headerBytes.append(0x0D)
        headerBytes.append(0x0A)
    }

    /// Adds `Last-Modified: <IMF-fixdate>`.
    public mutating func addDate(_ name: StaticString, _ date: HTTPDate) {
        headerBytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        headerBytes.append(0x3A)
        headerBytes.append(0x20)
        date.append(to: &headerBytes)
        headerBytes.append(0x0D)
        headerBytes.append(0x0A)
    }

    /// Sets `Content-Type`, which Apache writes last.
    public mutating func setContentType(_ value: String) {
        contentTypeBytes.removeAll(keepingCapacity: true)
        var v = value
        v.withUTF8 { Self.appendChecked($0, to: &contentTypeBytes) }
    }

    @usableFromInline
    static func appendChecked(_ s: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        for b in s { precondition(b != 0x0D && b != 0x0A, "CR/LF in header"); }
        out.append(contentsOf: s)
    }

    /// Appends the whole head, final CRLF included, to `buffer`.
    /// - Parameters:
    ///   - date: the `Date` value (from `HTTPDateCache`), omitted when nil.
    ///   - server: the `Server` value (e.g. `Apache/2.4.71 (Debian)` per `ServerTokens`),
    ///     omitted when nil.
    public func write(into buffer: inout [UInt8], date: [UInt8]?, server: [UInt8]?) {
        Self.appendStatic("HTTP/1.1 ", to: &buffer)
        status.appendStatusText(to: &buffer)
        Self.appendStatic("\r\n", to: &buffer)
        if let date {
            Self.appendStatic("Date: ", to: &buffer)
            buffer.append(contentsOf: date)
            Self.appendStatic("\r\n", to: &buffer)
        }
        if let server {
            Self.appendStatic("Server: ", to: &buffer)
            buffer.append(contentsOf: server)
            Self.appendStatic("\r\n", to: &buffer)
        }
        buffer.append(contentsOf: headerBytes)
        if let n = contentLength {
            Self.appendStatic("Content-Length: ", to: &buffer)
            Self.appendDecimal(n, to: &buffer)
            Self.appendStatic("\r\n", to: &buffer)
        }
        switch connection {
        case .none:
            break
        case .keepAlive(let timeout, let max):
            Self.appendStatic("Keep-Alive: timeout=", to: &buffer)
            Self.appendDecimal(Int64(timeout), to: &buffer)
            if let max {
                Self.appendStatic(", max=", to: &buffer)
                Self.appendDecimal(Int64(max), to: &buffer)
            }
            Self.appendStatic("\r\nConnection: Keep-Alive\r\n", to: &buffer)
        case .close:
            Self.appendStatic("Connection: close\r\n", to: &buffer)
        }
        if !contentTypeBytes.isEmpty {
            Self.appendStatic("Content-Type: ", to: &buffer)
            buffer.append(contentsOf: contentTypeBytes)
            Self.appendStatic("\r\n", to: &buffer)
        }
        Self.appendStatic("\r\n", to: &buffer)
    }

    /// The interim response sent before reading a body when the client sent
    /// `Expect: 100-continue` (Apache: `HTTP/1.1 100 Continue` and an empty line).
    public static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Appends a literal with one copy (no per-byte appends, no String machinery).
    @inlinable @inline(__always)
    public static func appendStatic(_ s: StaticString, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Appends the decimal digits of `n` without building a String.
    @inlinable
    public static func appendDecimal(_ n: Int64, to buffer: inout [UInt8]) {
        if n < 0 {
            buffer.append(0x2D)
            if n == .min { Self.appendStatic("9223372036854775808", to: &buffer); return }
            appendDecimal(-n, to: &buffer)
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var v = n
        var k = 20
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                k -= 1
                d[k] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                v /= 10
            } while v > 0
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[k...]))
        }
    }
}
