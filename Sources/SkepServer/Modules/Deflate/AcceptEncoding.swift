/// mod_deflate's reading of `Accept-Encoding`, which is not RFC 9110's: the first token
/// equal to `gzip` (any case) counts, parameters of other tokens are skipped, and only a
/// `q` written as `q=0`, `q=0.`, `q=0.0`... on that token refuses it. `x-gzip`, `*` and
/// `identity` do not ask for gzip. Tokens are cut as Apache's `ap_get_token` cuts them
/// (white space ends a token; quoted strings are kept whole).
enum AcceptEncoding {
    static func acceptsGzip(_ value: String) -> Bool {
        var p = Array(value.utf8)[...]
        var token = getToken(&p, acceptWhite: false)
        while !token.isEmpty && !equalsGzip(token) {
            while p.first == UInt8(ascii: ";") {
                p = p.dropFirst()
                _ = getToken(&p, acceptWhite: true)
            }
            if p.first == UInt8(ascii: ",") { p = p.dropFirst() }
            token = p.isEmpty ? [] : getToken(&p, acceptWhite: false)
        }
        guard !token.isEmpty else { return false }
        if !p.isEmpty {
            while p.first == UInt8(ascii: ";") { p = p.dropFirst() }
            let q = getToken(&p, acceptWhite: true)
            // `strncmp("q=0.000", q, strlen(q)) == 0` with at least three bytes.
            let zero = Array("q=0.000".utf8)
            if q.count >= 3 && q.count <= zero.count && Array(zero.prefix(q.count)) == q { return false }
        }
        return true
    }

    private static func equalsGzip(_ token: [UInt8]) -> Bool {
        token.count == 4 && String(decoding: token, as: UTF8.self).lowercased() == "gzip"
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    /// Apache's `ap_get_token`: skips white space, reads to `;` or `,` (or white space
    /// unless `acceptWhite`), keeping a quoted string whole, then skips white space.
    static func getToken(_ p: inout ArraySlice<UInt8>, acceptWhite: Bool) -> [UInt8] {
        while let b = p.first, isSpace(b) { p = p.dropFirst() }
        var token: [UInt8] = []
        while let b = p.first, (acceptWhite || !isSpace(b)), b != UInt8(ascii: ";"), b != UInt8(ascii: ",") {
            token.append(b)
            p = p.dropFirst()
            if b == UInt8(ascii: "\"") {
                while let c = p.first {
                    token.append(c)
                    p = p.dropFirst()
                    if c == UInt8(ascii: "\"") { break }
                }
            }
        }
        while let b = p.first, isSpace(b) { p = p.dropFirst() }
        return token
    }
}
