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
}
