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
    /// `Transfer-Encoding: chunked`, written after the connection headers as Apache does.
    public var chunked = false
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
        chunked = false
        headerBytes.removeAll(keepingCapacity: true)
        contentTypeBytes.removeAll(keepingCapacity: true)
    }

    /// Adds a header. Callers check fields that carry outside text first
    /// (`ResponseField.check`, answering 500 as Apache does); here a byte that could end
    /// the line (CR, LF, another control byte) is written as a space, so no value can
    /// split the head even if a caller did not check.
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
        for b in bytes { headerBytes.append(ByteClass.isFieldValue(b) ? b : 0x20) }
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

    /// Whether a handler's header is `Content-Type` (in any case), which goes to
    /// `setContentType`. Compares bytes: no lower-cased copy per header and response.
    public static func isContentType(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { ByteClass.equalsLowercased(UnsafeRawBufferPointer($0), 0..<$0.count, "content-type") }
    }

    /// Sets `Content-Type`, which Apache writes last.
    public mutating func setContentType(_ value: String) {
        contentTypeBytes.removeAll(keepingCapacity: true)
        var v = value
        v.withUTF8 { Self.appendChecked($0, to: &contentTypeBytes) }
    }

    /// Appends a name or value, control bytes (but HT) written as spaces: see `add`.
    @usableFromInline
    static func appendChecked(_ s: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        if s.allSatisfy(ByteClass.isFieldValue) {
            out.append(contentsOf: s)
        } else {
            for b in s { out.append(ByteClass.isFieldValue(b) ? b : 0x20) }
        }
    }

    /// Appends the whole head, final CRLF included, to `buffer`.
    /// - Parameters:
    ///   - date: the `Date` value (from `HTTPDateCache`), omitted when nil.
    ///   - server: the `Server` value (e.g. `Apache/2.4.71 (Debian)` per `ServerTokens`),
    ///     omitted when nil.
    public func write(into buffer: inout [UInt8], date: [UInt8]?, server: [UInt8]?) {
        // 256 bytes cover every fixed part at its longest (209 bytes with 19-digit numbers).
        // One growth of the buffer, then plain stores: the head is written with a cursor
        // into the reserved bytes and the unused tail is cut off again.
        let upper = 256 + headerBytes.count + contentTypeBytes.count + (date?.count ?? 0) + (server?.count ?? 0)
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: upper))
        let used = buffer.withUnsafeMutableBufferPointer { whole -> Int in
            var w = Cursor(base: whole.baseAddress! + start)  // trap-safe: not nil: `upper` >= 256 bytes were just appended
            w.put("HTTP/1.1 ")
            w.putStatus(status)
            w.put("\r\n")
            if let date {
                w.put("Date: ")
                w.put(date)
                w.put("\r\n")
            }
            if let server {
                w.put("Server: ")
                w.put(server)
                w.put("\r\n")
            }
            w.put(headerBytes)
            if let n = contentLength {
                w.put("Content-Length: ")
                w.putDecimal(n)
                w.put("\r\n")
            }
            switch connection {
            case .none:
                break
            case .keepAlive(let timeout, let max):
                w.put("Keep-Alive: timeout=")
                w.putDecimal(Int64(timeout))  // trap-safe: Int to Int64 widens
                if let max {
                    w.put(", max=")
                    w.putDecimal(Int64(max))  // trap-safe: Int to Int64 widens
                }
                w.put("\r\nConnection: Keep-Alive\r\n")
            case .close:
                w.put("Connection: close\r\n")
            }
            if chunked { w.put("Transfer-Encoding: chunked\r\n") }
            if !contentTypeBytes.isEmpty {
                w.put("Content-Type: ")
                w.put(contentTypeBytes)
                w.put("\r\n")
            }
            w.put("\r\n")
            return w.written
        }
        buffer.removeLast(upper - used)
    }

    /// A write cursor into memory reserved by `write`.
    @usableFromInline
    struct Cursor {
        let base: UnsafeMutablePointer<UInt8>
        var written = 0

        @inline(__always)
        mutating func put(_ s: StaticString) {
            (base + written).update(from: s.utf8Start, count: s.utf8CodeUnitCount)
            written += s.utf8CodeUnitCount
        }

        @inline(__always)
        mutating func put(_ b: [UInt8]) {
            b.withUnsafeBufferPointer { p in
                if let a = p.baseAddress { (base + written).update(from: a, count: p.count) }
            }
            written += b.count
        }

        @inline(__always)
        mutating func putStatus(_ s: HTTPStatus) {
            let c = s.code
            if c >= 100 && c <= 999 {
                base[written] = UInt8(truncatingIfNeeded: 0x30 + c / 100)
                base[written + 1] = UInt8(truncatingIfNeeded: 0x30 + (c / 10) % 10)
                base[written + 2] = UInt8(truncatingIfNeeded: 0x30 + c % 10)
                base[written + 3] = 0x20
                written += 4
                if let phrase = HTTPStatus.phrase(c) { put(phrase) }
            } else {
                var tmp: [UInt8] = []
                s.appendStatusText(to: &tmp)
                put(tmp)
            }
        }

        @inline(__always)
        mutating func putDecimal(_ n: Int64) {
            var tmp: [UInt8] = []
            if n < 0 || n > 9_999_999_999 {
                ResponseHead.appendDecimal(n, to: &tmp)
                put(tmp)
                return
            }
            var digits = 1
            var v = n
            while v >= 10 { v /= 10; digits += 1 }
            v = n
            var k = written + digits
            repeat {
                k -= 1
                base[k] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                v /= 10
            } while v > 0
            written += digits
        }
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
