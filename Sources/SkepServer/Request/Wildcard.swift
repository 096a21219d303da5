#if canImport(Glibc)
import Glibc
#endif

/// Shell wildcards as Apache matches them in `<Directory>`, `<Files>` and `ServerAlias`.
enum Wildcard {
    static func isPattern(_ text: String) -> Bool {
        text.contains("*") || text.contains("?") || text.contains("[")
    }

    /// `fnmatch(3)`; with `pathname`, `*` does not cross `/`.
    static func matches(pattern: String, _ text: String, pathname: Bool = false) -> Bool {
        fnmatch(pattern, text, pathname ? FNM_PATHNAME : 0) == 0
    }
}
