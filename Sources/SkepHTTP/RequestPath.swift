/// A request path made ready for mapping to a file: normalised, then decoded, in the
/// order and with the answers of Apache's `ap_process_request_internal`.
///
/// Why: the order matters for safety. Apache first normalises the still-encoded path
/// (decoding only unreserved characters, so `%2e%2e` is seen as `..`) and refuses a climb
/// above the root (400); then it decodes everything, answering 400 for a bad escape and
/// 404 for `%00` or (with `AllowEncodedSlashes Off`, the default) `%2F`. With
/// `AllowEncodedSlashes On` the decoded path is normalised again, because a decoded `%2F`
/// can form new `/../` segments (`/a/..%2f..%2f` is a 404 with the default).
public struct RequestPath: Sendable, Hashable {
    /// The decoded, normalised path bytes (always starting with `/`).
    public var bytes: [UInt8]

    /// The path as a String (invalid UTF-8 repaired; compare bytes for exactness).
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Apache's `AllowEncodedSlashes`.
    public enum EncodedSlashes: Sendable, Hashable {
        /// `Off` (default): a `%2F` is a 404.
        case off
        /// `On`: decode it, then normalise again.
        case on
        /// `NoDecode`: accept it but keep it encoded.
        case noDecode
    }

    public struct Failure: Error, Sendable, Hashable {
        public var status: HTTPStatus
        public var reason: String
    }

    /// Normalises and decodes a raw (still percent-encoded) path from the request target.
    public static func resolve(_ raw: some Collection<UInt8>, encodedSlashes: EncodedSlashes = .off, mergeSlashes: Bool = true)
        -> Result<RequestPath, Failure>
    {
        // Most paths have nothing to normalise or decode: one copy instead of three arrays.
        // The scan runs on the contiguous bytes: iterating the generic collection from
        // another module is not specialised and allocates per byte.
        if raw.withContiguousStorageIfAvailable({ isPlain($0) }) == true { return .success(RequestPath(bytes: Array(raw))) }
        return resolveInFull(raw, encodedSlashes: encodedSlashes, mergeSlashes: mergeSlashes)
    }

    /// True when both passes would return `raw` unchanged: it starts with `/` and has no
    /// `%`, no `//` and no segment starting with `.`.
    static func isPlain(_ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        guard raw.first == 0x2F else { return false }
        var previous: UInt8 = 0
        for byte in raw {
            if byte == 0x25 { return false }
            if previous == 0x2F && (byte == 0x2F || byte == 0x2E) { return false }
            previous = byte
        }
        return true
    }

    /// Both of Apache's passes, as `resolve` runs them for a path that is not plain.
    static func resolveInFull(_ raw: some Collection<UInt8>, encodedSlashes: EncodedSlashes, mergeSlashes: Bool)
        -> Result<RequestPath, Failure>
    {
        guard let normalized = PathNormalizer.normalize(raw, mergeSlashes: mergeSlashes, decodeUnreserved: true) else {
            return .failure(Failure(status: .badRequest, reason: "invalid URI path (above the root)"))
        }
        switch PercentDecoder.decode(normalized, encodedSlashes: encodedSlashes == .noDecode ? .keep : .decode) {
        case .failure(let f):
            return .failure(Failure(status: f.status, reason: f == .invalidEscape ? "invalid percent escape in path" : "%00 in path"))
        case .success(let d):
            if d.containsEncodedSlash {
                if encodedSlashes == .off {
                    return .failure(Failure(status: .notFound, reason: "found %2f (encoded '/') in URI path"))
                }
                // AllowEncodedSlashes On: Apache re-normalises and ignores its result code,
                // so a climb is clamped at the root here.
                let again = PathNormalizer.normalize(d.bytes, mergeSlashes: mergeSlashes, decodeUnreserved: false)
                    ?? clampedAtRoot(d.bytes, mergeSlashes: mergeSlashes)
                return .success(RequestPath(bytes: again))
            }
            return .success(RequestPath(bytes: d.bytes))
        }
    }

    public static func resolve(_ raw: String, encodedSlashes: EncodedSlashes = .off, mergeSlashes: Bool = true) -> Result<RequestPath, Failure> {
        resolve(Array(raw.utf8), encodedSlashes: encodedSlashes, mergeSlashes: mergeSlashes)
    }

    /// Normalisation that drops `..` segments at the root instead of failing.
    static func clampedAtRoot(_ path: [UInt8], mergeSlashes: Bool) -> [UInt8] {
        var segments: [ArraySlice<UInt8>] = []
        for s in path.split(separator: 0x2F, omittingEmptySubsequences: false).dropFirst() {
            if s.elementsEqual([0x2E]) { continue }
            if s.elementsEqual([0x2E, 0x2E]) { _ = segments.popLast(); continue }
            if s.isEmpty && mergeSlashes { continue }
            segments.append(s)
        }
        var out: [UInt8] = []
        for s in segments { out.append(0x2F); out.append(contentsOf: s) }
        if path.last == 0x2F || out.isEmpty { out.append(0x2F) }
        return out
    }
}
