/// The FastCGI 1.0 record layer, as a responder's client speaks it: an 8-byte header
/// (version, type, request id, content length, padding length), the content, and the
/// padding. Pure: no I/O, so the framing is tested without a back end.
public enum FastCGIRecord {
    public static let version: UInt8 = 1
    public static let headerLength = 8
    /// The longest content one record carries.
    public static let maxContentLength = 0xFFFF

    public enum RecordType: UInt8, Sendable {
        case beginRequest = 1
        case abortRequest = 2
        case endRequest = 3
        case params = 4
        case stdin = 5
        case stdout = 6
        case stderr = 7
        case data = 8
        case getValues = 9
        case getValuesResult = 10
        case unknownType = 11
    }

    /// The responder role, the only one a web server asks for.
    static let responderRole: UInt16 = 1
    /// `FCGI_KEEP_CONN`: the back end keeps the connection open after the request.
    static let keepConnection: UInt8 = 1

    /// A parsed record header.
    public struct Header: Equatable, Sendable {
        public var type: UInt8
        public var requestID: UInt16
        public var contentLength: Int
        public var paddingLength: Int
    }

    public enum HeaderError: Error, Equatable {
        case badVersion(UInt8)
    }

    /// Appends a record header for `contentLength` bytes of content, padded to a multiple
    /// of 8 as the specification recommends; returns the padding the caller appends.
    @discardableResult
    public static func appendHeader(_ type: RecordType, requestID: UInt16 = 1, contentLength: Int, to out: inout [UInt8]) -> Int {
        precondition(contentLength <= maxContentLength)  // trap-safe: callers cut content at 8 KiB (STDIN) and 16 KiB (PARAMS)
        let padding = (8 - contentLength % 8) % 8
        out.append(version)
        out.append(type.rawValue)
        out.append(UInt8(requestID >> 8))  // trap-safe: the high byte of a UInt16
        out.append(UInt8(requestID & 0xFF))  // trap-safe: masked to a byte
        out.append(UInt8(contentLength >> 8))  // trap-safe: contentLength <= 0xFFFF (precondition above)
        out.append(UInt8(contentLength & 0xFF))  // trap-safe: masked to a byte
        out.append(UInt8(padding))  // trap-safe: padding is 0...7
        out.append(0)
        return padding
    }

    /// Appends a whole record: header, content, padding.
    public static func append(_ type: RecordType, requestID: UInt16 = 1, content: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let padding = appendHeader(type, requestID: requestID, contentLength: content.count, to: &out)
        out.append(contentsOf: content)
        out.append(contentsOf: repeatElement(0, count: padding))
    }

    /// `FCGI_BEGIN_REQUEST` for the responder role.
    public static func appendBeginRequest(keepConnection keep: Bool, requestID: UInt16 = 1, to out: inout [UInt8]) {
        let body: [UInt8] = [UInt8(responderRole >> 8), UInt8(responderRole & 0xFF), keep ? keepConnection : 0, 0, 0, 0, 0, 0]  // trap-safe: the bytes of the constant role 1
        body.withUnsafeBytes { append(.beginRequest, requestID: requestID, content: $0, to: &out) }
    }

    /// Decodes the 8 header bytes at the start of `bytes`.
    public static func parseHeader(_ bytes: UnsafeRawBufferPointer) throws(HeaderError) -> Header {
        precondition(bytes.count >= headerLength)  // trap-safe: callers pass a whole 8-byte header
        guard bytes[0] == version else { throw .badVersion(bytes[0]) }
        return Header(type: bytes[1], requestID: UInt16(bytes[2]) << 8 | UInt16(bytes[3]),  // trap-safe: UInt8 to UInt16 widens
                      contentLength: Int(bytes[4]) << 8 | Int(bytes[5]), paddingLength: Int(bytes[6]))  // trap-safe: UInt8 to Int widens
    }

    /// The `protocolStatus` and `appStatus` of an `FCGI_END_REQUEST` body.
    public static func parseEndRequest(_ body: UnsafeRawBufferPointer) -> (appStatus: UInt32, protocolStatus: UInt8)? {
        guard body.count >= 8 else { return nil }
        let app = UInt32(body[0]) << 24 | UInt32(body[1]) << 16 | UInt32(body[2]) << 8 | UInt32(body[3])  // trap-safe: UInt8 to UInt32 widens
        return (app, body[4])
    }
}

/// FastCGI name-value pairs (the `FCGI_PARAMS` stream): each length in one byte when
/// under 128, else four bytes with the high bit set.
public struct FastCGIParams {
    public private(set) var bytes: [UInt8] = []
    /// Where each pair ends: PHP-FPM decodes each record on its own, so a record
    /// must hold whole pairs.
    var pairEnds: [Int] = []

    public init() { bytes.reserveCapacity(2048) }

    public mutating func add(_ name: String, _ value: String) {
        var n = name, v = value
        n.withUTF8 { name in v.withUTF8 { value in add(UnsafeRawBufferPointer(name), UnsafeRawBufferPointer(value)) } }
    }

    public mutating func add(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        appendLength(name.count)
        appendLength(value.count)
        bytes.append(contentsOf: name)
        bytes.append(contentsOf: value)
        pairEnds.append(bytes.count)
    }

    private mutating func appendLength(_ n: Int) {
        if n < 128 {
            bytes.append(UInt8(n))  // trap-safe: n < 128 in this branch
        } else {
            bytes.append(UInt8((n >> 24) & 0x7F) | 0x80)  // trap-safe: masked to 7 bits
            bytes.append(UInt8((n >> 16) & 0xFF))  // trap-safe: masked to a byte
            bytes.append(UInt8((n >> 8) & 0xFF))  // trap-safe: masked to a byte
            bytes.append(UInt8(n & 0xFF))  // trap-safe: masked to a byte
        }
    }

    /// Decodes a params stream into pairs; nil when it is malformed (for tests and fakes).
    public static func decode(_ bytes: [UInt8]) -> [(name: String, value: String)]? {
        var out: [(String, String)] = []
        var i = 0
        func length() -> Int? {
            guard i < bytes.count else { return nil }
            if bytes[i] < 128 { i += 1; return Int(bytes[i - 1]) }  // trap-safe: UInt8 to Int widens
            guard i + 4 <= bytes.count else { return nil }
            let n = Int(bytes[i] & 0x7F) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])  // trap-safe: UInt8 to Int widens
            i += 4
            return n
        }
        while i < bytes.count {
            guard let nl = length(), let vl = length(), i + nl + vl <= bytes.count else { return nil }
            let name = String(decoding: bytes[i..<(i + nl)], as: UTF8.self)
            let value = String(decoding: bytes[(i + nl)..<(i + nl + vl)], as: UTF8.self)
            i += nl + vl
            out.append((name, value))
        }
        return out
    }

    /// The params as records of whole pairs, at most 16 KiB each as Apache sends them
    /// (a longer pair gets a record of its own, up to the 64 KiB a record holds; one
    /// longer still is left out, as Apache does), then the empty record that ends the stream.
    public func appendRecords(requestID: UInt16 = 1, to out: inout [UInt8]) {
        bytes.withUnsafeBytes { all in
            var start = 0
            var end = 0
            for pairEnd in pairEnds {
                if pairEnd - start > 16384, end > start {
                    FastCGIRecord.append(.params, requestID: requestID, content: UnsafeRawBufferPointer(rebasing: all[start..<end]), to: &out)
                    start = end
                }
                if pairEnd - start > FastCGIRecord.maxContentLength {
                    start = pairEnd
                }
                end = pairEnd
            }
            if end > start {
                FastCGIRecord.append(.params, requestID: requestID, content: UnsafeRawBufferPointer(rebasing: all[start..<end]), to: &out)
            }
        }
        FastCGIRecord.appendHeader(.params, requestID: requestID, contentLength: 0, to: &out)
    }
}

extension BackendConnection {
    /// The next FastCGI record: its header and content (valid until the next call).
    func readRecord(timeoutMilliseconds: Int) throws(ProxyError) -> (FastCGIRecord.Header, UnsafeRawBufferPointer) {
        try need(FastCGIRecord.headerLength, timeoutMilliseconds: timeoutMilliseconds)
        let header: FastCGIRecord.Header
        do {
            header = try FastCGIRecord.parseHeader(buffered)
        } catch {
            throw .malformed("AH01068: Got bogus version \(buffered[0])")
        }
        let total = FastCGIRecord.headerLength + header.contentLength + header.paddingLength
        try need(total, timeoutMilliseconds: timeoutMilliseconds)
        let content = UnsafeRawBufferPointer(rebasing: buffered[FastCGIRecord.headerLength..<(FastCGIRecord.headerLength + header.contentLength)])
        consume(total)
        return (header, content)
    }
}
