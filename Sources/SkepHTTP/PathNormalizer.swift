/// Removal of `.` and `..` segments and merging of `//`, as Apache's `ap_normalize_path`.
///
/// Why: no file outside the mapped directory may ever be served (DESIGN.md §6); the path
/// is normalised before it is mapped, and a path that would climb above the root is
/// refused rather than clamped.
///
/// Apache 2.4.71, measured (`MergeSlashes On`, the default): `/./index.html`,
/// `//index.html`, `/a//x`, `/a/./../a/x`, `/a/..` (→ `/`), `/.` (→ `/`), and the encoded
/// forms `/a/%2e%2e/`, `/a/.%2e/`, `/a/%2E/` are served after normalisation; `/..`,
/// `/../x`, `/a/../../x` and `/%2e%2e/x` are a `400 Bad Request`. `...` is an ordinary
/// segment. The query is not part of the path.
public enum PathNormalizer {
    /// Normalises `path` (which should start with `/`; an empty path is `/`).
    /// - Parameters:
    ///   - mergeSlashes: collapse `//` runs (Apache's `MergeSlashes On`).
    ///   - decodeUnreserved: first decode escapes of unreserved characters
    ///     (`%41`→`A`, `%2e`→`.`, `%7E`→`~`...), as Apache does before looking for dot
    ///     segments, so that `%2e%2e` cannot hide a `..`.
    /// - Returns: the normalised path, or nil when a `..` would climb above the root
    ///   (Apache's `AP_NORMALIZE_NOT_ABOVE_ROOT`: answer 400).
    public static func normalize(_ path: some Collection<UInt8>, mergeSlashes: Bool = true, decodeUnreserved: Bool = true) -> [UInt8]? {
        var p: [UInt8] = []
        p.reserveCapacity(path.count + 2)
        if decodeUnreserved {
            let src = Array(path)
            var i = 0
            while i < src.count {
                if src[i] == 0x25, i + 2 < src.count, let h = ByteClass.hexValue(src[i + 1]), let l = ByteClass.hexValue(src[i + 2]),
                   isUnreserved(h << 4 | l)
                {
                    p.append(h << 4 | l)
                    i += 3
                } else {
                    p.append(src[i])
                    i += 1
                }
            }
        } else {
            p.append(contentsOf: path)
        }
        if p.first != 0x2F { p.insert(0x2F, at: 0) }
        p.append(0)  // sentinel, as the C string's NUL
        var l = 1  // as Apache: the leading '/' stays
        var w = 1
        var aboveRoot = false
        @inline(__always) func slashOrEnd(_ k: Int) -> Bool { p[k] == 0x2F || p[k] == 0 }
        while p[l] != 0 {
            if w == 0 || p[w - 1] == 0x2F {
                if mergeSlashes && p[l] == 0x2F {
                    repeat { l += 1 } while p[l] == 0x2F
                    continue
                }
                if p[l] == 0x2E {
                    if slashOrEnd(l + 1) {  // "./" or "." at the end
                        l += 1
                        if p[l] != 0 { l += 1 }
                        continue
                    }
                    if p[l + 1] == 0x2E && slashOrEnd(l + 2) {  // "../" or ".." at the end
                        if w > 1 {
                            repeat { w -= 1 } while w > 0 && p[w - 1] != 0x2F
                        } else {
                            aboveRoot = true
                        }
                        l += 2
                        if p[l] != 0 { l += 1 }
                        continue
                    }
                }
            }
            p[w] = p[l]
            w += 1
            l += 1
        }
        if aboveRoot { return nil }
        p.removeSubrange(w...)
        if p.isEmpty { p = [0x2F] }
        return p
    }

    /// String convenience for `normalize`.
    public static func normalize(_ path: String, mergeSlashes: Bool = true) -> String? {
        normalize(Array(path.utf8), mergeSlashes: mergeSlashes).map { String(decoding: $0, as: UTF8.self) }
    }

    /// RFC 3986 unreserved: ALPHA DIGIT - . _ ~
    @inline(__always)
    static func isUnreserved(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: true
        default: false
        }
    }
}
