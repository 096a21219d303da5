/// A parsed request head: what the request line and header fields said, as offsets into
/// the buffer the parser was given, plus the decisions the connection loop needs
/// (keep-alive, body framing, `Expect`).
///
/// Why offsets: DESIGN.md §4 — the head lives in the connection's own buffer and nothing
/// is copied until a handler asks; the `String` accessors take that buffer. Every range is
/// relative to the start of the bytes handed to `RequestParser.parse` (the first byte of
/// this request, leading empty lines included).
public struct RequestHead: Sendable, Hashable {
    /// The method token's bytes.
    public internal(set) var methodRange: Range<Int> = 0..<0
    /// The method, when it is one the server knows.
    public internal(set) var method: HTTPMethod = .other
    /// The whole request target as sent.
    public internal(set) var targetRange: Range<Int> = 0..<0
    public internal(set) var targetForm: TargetForm = .origin
    /// The path part of the target (empty for `*`, for an authority-form target and for
    /// `http://host` with no path, whose path is `/`).
    public internal(set) var pathRange: Range<Int> = 0..<0
    /// The query after `?`, without the `?`; nil when there is no `?`.
    public internal(set) var queryRange: Range<Int>? = nil
    public internal(set) var version: HTTPVersion = .http11
    /// The header fields in the order received.
    public internal(set) var fields: [HeaderField] = []
    /// The host name: from an absolute-form or authority-form target if there is one
    /// (Apache takes it from there), else from `Host:`. Trailing dot removed; compare
    /// case-insensitively (`host(in:)` lower-cases it as Apache does).
    public internal(set) var hostRange: Range<Int>? = nil
    /// The port given with the host, if any.
    public internal(set) var port: Int? = nil
    /// Whether the connection may stay open after this request as far as the client is
    /// concerned: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive` (and no `close`); never for HTTP/0.9.
    public internal(set) var keepAlive: Bool = false
    /// The client sent a `keep-alive` connection token. Apache then answers with
    /// `Keep-Alive: timeout=5, max=N` and `Connection: Keep-Alive` (HTTP/1.1 too);
    /// without it an HTTP/1.1 keep-alive response carries neither.
    public internal(set) var clientSentKeepAlive: Bool = false
    public internal(set) var expectation: Expectation = .none
    public internal(set) var framing: BodyFraming = .none

    public init() {}

    /// Back to the initial state, keeping the field storage (no allocation when the
    /// storage is not shared).
    @usableFromInline
    mutating func clearKeepingCapacity() {
        methodRange = 0..<0
        method = .other
        targetRange = 0..<0
        targetForm = .origin
        pathRange = 0..<0
        queryRange = nil
        version = .http11
        fields.removeAll(keepingCapacity: true)
        hostRange = nil
        port = nil
        keepAlive = false
        clientSentKeepAlive = false
        expectation = .none
        framing = .none
    }

    /// Whether the client asked for `100 Continue` before sending its body.
    @inlinable
    public var expectsContinue: Bool { expectation == .continue100 }

    // MARK: - Decoding on request

    /// The bytes of `range` as a String (UTF-8, invalid sequences repaired).
    @inlinable
    public func string(_ range: Range<Int>, in bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    public func method(in bytes: UnsafeRawBufferPointer) -> String { string(methodRange, in: bytes) }
    public func target(in bytes: UnsafeRawBufferPointer) -> String { string(targetRange, in: bytes) }

    /// The path, still percent-encoded (`/` for `http://host` and for `*`/authority forms
    /// returns the raw target).
    public func path(in bytes: UnsafeRawBufferPointer) -> String {
        switch targetForm {
        case .origin: return string(pathRange, in: bytes)
        case .absolute: return pathRange.isEmpty ? "/" : string(pathRange, in: bytes)
        case .asterisk, .authority: return string(targetRange, in: bytes)
        }
    }

    public func query(in bytes: UnsafeRawBufferPointer) -> String? {
        queryRange.map { string($0, in: bytes) }
    }

    /// The host, lower-cased as Apache's `fix_hostname` does.
    public func host(in bytes: UnsafeRawBufferPointer) -> String? {
        guard let r = hostRange else { return nil }
        let host = UnsafeRawBufferPointer(rebasing: bytes[r])
        // Each byte is one character (Latin-1, as a byte > 0x7F was always read); an ASCII
        // host, the usual one, is lower-cased straight into the string's storage.
        guard host.allSatisfy({ $0 < 0x80 }) else {
            return String(String.UnicodeScalarView(host.lazy.map { Unicode.Scalar(ByteClass.lower($0)) }))
        }
        return String(unsafeUninitializedCapacity: host.count) { out in
            for (k, b) in host.enumerated() { out[k] = ByteClass.lower(b) }
            return host.count
        }
    }

    // MARK: - Header lookup (case-insensitive)

    /// The index in `fields` of the first field named `name` (ASCII case-insensitive).
    public func firstIndex(of name: String, in bytes: UnsafeRawBufferPointer) -> Int? {
        var name = name
        return name.withUTF8 { n in
            for (k, f) in fields.enumerated() where Self.nameEquals(bytes, f.name, n) { return k }
            return nil
        }
    }

    /// The value range of the first field named `name`.
    public func firstValueRange(of name: String, in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        firstIndex(of: name, in: bytes).map { fields[$0].value }
    }

    /// The value of the first field named `name`, decoded.
    public func firstValue(of name: String, in bytes: UnsafeRawBufferPointer) -> String? {
        firstValueRange(of: name, in: bytes).map { string($0, in: bytes) }
    }

    /// The value ranges of every field named `name`, in order (a header may be repeated).
    public func valueRanges(of name: String, in bytes: UnsafeRawBufferPointer) -> [Range<Int>] {
        var name = name
        return name.withUTF8 { n in
            fields.lazy.filter { Self.nameEquals(bytes, $0.name, n) }.map(\.value)
        }
    }

    /// Every value of `name`, decoded, in order.
    public func values(of name: String, in bytes: UnsafeRawBufferPointer) -> [String] {
        valueRanges(of: name, in: bytes).map { string($0, in: bytes) }
    }

    /// The values of `name` joined with `", "`, as Apache's `apr_table_get` sees a
    /// repeated header after merging.
    public func combinedValue(of name: String, in bytes: UnsafeRawBufferPointer) -> String? {
        let v = values(of: name, in: bytes)
        return v.isEmpty ? nil : v.joined(separator: ", ")
    }

    @inlinable
    static func nameEquals(_ p: UnsafeRawBufferPointer, _ r: Range<Int>, _ n: UnsafeBufferPointer<UInt8>) -> Bool {
        guard r.count == n.count else { return false }
        var k = 0
        for i in r {
            if ByteClass.lower(p[i]) != ByteClass.lower(n[k]) { return false }
            k += 1
        }
        return true
    }
}

extension RequestHead {
    // Conveniences for callers holding a `[UInt8]` (tests, small tools).
    public func method(in bytes: [UInt8]) -> String { bytes.withUnsafeBytes { method(in: $0) } }
    public func target(in bytes: [UInt8]) -> String { bytes.withUnsafeBytes { target(in: $0) } }
    public func path(in bytes: [UInt8]) -> String { bytes.withUnsafeBytes { path(in: $0) } }
    public func query(in bytes: [UInt8]) -> String? { bytes.withUnsafeBytes { query(in: $0) } }
    public func host(in bytes: [UInt8]) -> String? { bytes.withUnsafeBytes { host(in: $0) } }
    public func firstValue(of name: String, in bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { firstValue(of: name, in: $0) }
    }
    public func values(of name: String, in bytes: [UInt8]) -> [String] {
        bytes.withUnsafeBytes { values(of: name, in: $0) }
    }
    public func combinedValue(of name: String, in bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { combinedValue(of: name, in: $0) }
    }
}
