/// Percent-decoding of a request path, as Apache's `ap_unescape_url` does it.
///
/// Why: the static-file handler maps the decoded path to the file system; what may be
/// decoded, and what must be refused, decides whether a file outside the mapped directory
/// can be reached (DESIGN.md §6).
///
/// Apache 2.4.71, measured: an invalid escape (`%zz`, `%2`, a final `%`) is a
/// `400 Bad Request`; `%00` is a `404 Not Found`; `%2F`/`%2f` is a `404` with the default
/// `AllowEncodedSlashes Off`. An invalid escape wins over the other two, as in
/// `unescape_url`. Decoding does not look at the query.
public enum PercentDecoder {
    /// Why a path cannot be decoded, and Apache's answer.
    public enum Failure: Error, Sendable, Hashable {
        /// `%` not followed by two hex digits: 400.
        case invalidEscape
        /// `%00`: 404.
        case encodedNUL

        public var status: HTTPStatus {
            switch self {
            case .invalidEscape: .badRequest
            case .encodedNUL: .notFound
            }
        }
    }

    /// What happens to `%2F` (Apache's `AllowEncodedSlashes`).
    public enum EncodedSlashes: Sendable, Hashable {
        /// Decode it and report it in `Decoded.containsEncodedSlash`; the caller answers 404
        /// when the directive is `Off` (the default), or re-normalises when it is `On`.
        case decode
        /// Leave `%2F` encoded (`AllowEncodedSlashes NoDecode`).
        case keep
    }

    public struct Decoded: Sendable, Hashable {
        public var bytes: [UInt8]
        /// Whether a `%2F` was decoded into `/`.
        public var containsEncodedSlash: Bool

        /// The bytes as a String (invalid UTF-8 repaired).
        public var string: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Decodes every `%XX` escape in `input`.
    public static func decode(_ input: some Collection<UInt8>, encodedSlashes: EncodedSlashes = .decode)
        -> Result<Decoded, Failure>
    {
        let src = Array(input)
        var out: [UInt8] = []
        out.reserveCapacity(src.count)
        var badEscape = false
        var nul = false
        var slash = false
        var i = 0
        while i < src.count {
            let b = src[i]
            if b != 0x25 {
                out.append(b)
                i += 1
                continue
            }
            guard i + 2 < src.count, let h = ByteClass.hexValue(src[i + 1]), let l = ByteClass.hexValue(src[i + 2]) else {
                badEscape = true
                out.append(b)
                i += 1
                continue
            }
            let c = h << 4 | l
            if c == 0x2F && encodedSlashes == .keep {
                out.append(contentsOf: src[i...(i + 2)])
            } else {
                if c == 0 { nul = true }
                if c == 0x2F { slash = true }
                out.append(c)
            }
            i += 3
        }
        if badEscape { return .failure(.invalidEscape) }
        if nul { return .failure(.encodedNUL) }
        return .success(Decoded(bytes: out, containsEncodedSlash: slash))
    }

    /// Decodes a String; see `decode(_:encodedSlashes:)`.
    public static func decode(_ input: String, encodedSlashes: EncodedSlashes = .decode) -> Result<Decoded, Failure> {
        decode(Array(input.utf8), encodedSlashes: encodedSlashes)
    }
}
