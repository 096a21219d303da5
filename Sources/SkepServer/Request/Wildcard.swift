#if canImport(Glibc)
import Glibc
#endif

/// Shell wildcards as Apache matches them in `<Directory>`, `<Files>` and `ServerAlias`.
enum Wildcard {
    /// Scans bytes: asked for every `<Location>` on every request.
    static func isPattern(_ text: String) -> Bool {
        text.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }
    }

    /// `fnmatch(3)`; with `pathname`, `*` does not cross `/`.
    static func matches(pattern: String, _ text: String, pathname: Bool = false) -> Bool {
        fnmatch(pattern, text, pathname ? FNM_PATHNAME : 0) == 0
    }

    /// `fnmatch(3)` with explicit flags (ap_expr's `-strmatch`, `-strcmatch`, `-fnmatch`).
    static func matches(pattern: String, _ text: String, flags: Int32) -> Bool {
        fnmatch(pattern, text, flags) == 0
    }

    /// glibc's `FNM_CASEFOLD` (a GNU extension Swift's Glibc module does not export).
    static let caseFold: Int32 = 1 << 4
}
