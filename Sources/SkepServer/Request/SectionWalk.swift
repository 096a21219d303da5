import SkepConfig
import SkepSystem

/// Merges the per-directory sections that apply to a request, in Apache's order
/// (`ap_directory_walk`, `ap_file_walk`, `ap_location_walk`): the server defaults, then
/// `<Directory>` from the shortest path to the longest, then `<DirectoryMatch>` in file
/// order, then `<Files>`/`<FilesMatch>`, then `<Location>`/`<LocationMatch>` last, so a
/// `<Location>` overrides what the file system sections said.
///
/// One per server (the main server and each virtual host), built with the generation's
/// `ServerContext`. The sections are sorted once, and what the directory part merged is
/// cached by directory, since it depends on nothing else: a request then merges only
/// when a `<Files>` or `<Location>` section applies to it.
final class SectionWalk: @unchecked Sendable {
    /// What the `<Directory>` and `<DirectoryMatch>` sections of one directory gave.
    struct DirectoryResult: Sendable {
        let vector: ConfigVector
        /// The server's `<Files>` sections, then those nested in the matching `<Directory>`s.
        let filesSections: [DirectorySection]
    }

    /// Directories cached before the cache is emptied and refilled (a site with more
    /// directories than this still works, it merges more often).
    static let cacheLimit = 1024

    let defaults: ConfigVector
    /// Plain `<Directory>`, shortest path first, in file order among equals.
    let directories: [DirectorySection]
    /// `<DirectoryMatch>` and `<Directory ~>`, in file order.
    let directoryPatterns: [DirectorySection]
    let files: [DirectorySection]
    /// `<Location>` and `<LocationMatch>`, in file order, with whether the path has wildcards.
    let locations: [(section: DirectorySection, isWildcard: Bool)]
    /// Guards `cache`: SkepSystem's pthread mutex, which ThreadSanitizer follows (the
    /// standard library's futex-based `Synchronization.Mutex` is invisible to it, so two
    /// workers filling the cache read as a race in `.ci/tsan`).
    private let lock = Mutex()
    private var cache: [String: DirectoryResult] = [:]

    init(server: VirtualHost) {
        defaults = server.defaults
        directories = server.sections.enumerated()
            .filter { $0.element.kind == .directory && !$0.element.isRegex }
            .sorted { lhs, rhs in
                let a = Self.components(lhs.element.pattern), b = Self.components(rhs.element.pattern)
                return a != b ? a < b : lhs.offset < rhs.offset
            }
            .map(\.element)
        directoryPatterns = server.sections.filter { $0.kind == .directoryMatch || ($0.kind == .directory && $0.isRegex) }
        files = server.sections.filter { $0.kind == .files || $0.kind == .filesMatch }
        locations = server.sections.filter { $0.kind == .location || $0.kind == .locationMatch }
            .map { ($0, Wildcard.isPattern($0.pattern)) }
    }

    func merge(filename: String?, isDirectory: Bool, uri: String, uriBytes: [UInt8]) -> ConfigVector {
        var vector = defaults
        if let filename {
            // The directory the file lives in (or the directory itself), with a trailing slash.
            var name = filename
            let lastSlash = name.withUTF8 { $0.lastIndex(of: UInt8(ascii: "/")) }
                .map { filename.utf8.index(filename.utf8.startIndex, offsetBy: $0) } ?? filename.startIndex
            var directory = isDirectory ? filename : String(filename[..<lastSlash])
            if !directory.utf8.hasSuffixSlash { directory += "/" }
            let result = directoryResult(directory)
            vector = result.vector
            if !isDirectory, !result.filesSections.isEmpty {
                let base = String(filename[filename.index(after: lastSlash)...])
                if !base.isEmpty {
                    for section in result.filesSections where Self.fileMatches(section, base) {
                        vector = vector.merged(with: section.config)
                    }
                }
            }
        }
        // As Apache's location walk, the matching `<Location>` sections are merged together
        // first and the result onto the directory's configuration: a merge that is not
        // associative (`AuthMerging`) gives Apache's answer. (Apache's directory and file
        // walks group the same way; Skep's still merge those one by one.)
        var matched: ConfigVector?
        for location in locations where Self.locationMatches(location.section, isWildcard: location.isWildcard, uri, uriBytes) {
            matched = matched?.merged(with: location.section.config) ?? location.section.config
        }
        if let matched { vector = vector.merged(with: matched) }
        return vector
    }

    private func directoryResult(_ directory: String) -> DirectoryResult {
        if let cached = lock.withLock({ cache[directory] }) { return cached }
        let result = walkDirectories(directory)
        lock.withLock {
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[directory] = result
        }
        return result
    }

    private func walkDirectories(_ directory: String) -> DirectoryResult {
        var vector = defaults
        var filesSections: [DirectorySection] = []
        for section in directories where Self.directoryMatches(section.pattern, directory) {
            vector = vector.merged(with: section.config)
            filesSections += section.nested
        }
        for section in directoryPatterns {
            if section.regex?.matches(directory) == true || section.regex?.matches(String(directory.dropLast())) == true {
                vector = vector.merged(with: section.config)
                filesSections += section.nested
            }
        }
        // The server's own `<Files>` first, then those nested in the matching
        // `<Directory>`s, which therefore win: Apache appends a section's nested
        // `sec_file` after its base's when it merges directory configs.
        return DirectoryResult(vector: vector, filesSections: files + filesSections)
    }

    static func components(_ path: String) -> Int { path.split(separator: "/").count }

    /// `<Directory /var/www>` applies to `/var/www/` and everything below it; wildcards
    /// match one path component each, as Apache's `fnmatch` with `FNM_PATHNAME`.
    static func directoryMatches(_ pattern: String, _ directory: String) -> Bool {
        var p = pattern
        if !p.hasSuffix("/") { p += "/" }
        if Wildcard.isPattern(p) {
            // Compare only as many components as the pattern has.
            let count = components(p)
            let parts = directory.split(separator: "/", omittingEmptySubsequences: true)
            guard parts.count >= count else { return false }
            let prefix = "/" + parts.prefix(count).joined(separator: "/") + "/"
            return Wildcard.matches(pattern: p, prefix, pathname: true)
        }
        return directory.hasPrefix(p)
    }

    static func fileMatches(_ section: DirectorySection, _ base: String) -> Bool {
        if let regex = section.regex { return regex.matches(base) }
        return Wildcard.isPattern(section.pattern) ? Wildcard.matches(pattern: section.pattern, base) : section.pattern == base
    }

    /// `<Location /a>` matches `/a`, `/a/` and `/a/b`, not `/ab`. Compared as bytes, as
    /// Apache does (and without Unicode's character walk on every request).
    /// A regex matches the path's bytes, which keep what `uri` repaired.
    static func locationMatches(_ section: DirectorySection, isWildcard: Bool, _ uri: String, _ uriBytes: [UInt8]) -> Bool {
        if let regex = section.regex { return uriBytes.withUnsafeBytes { regex.matches(utf8: $0) } }
        if isWildcard { return Wildcard.matches(pattern: section.pattern, uri, pathname: true) }
        var pattern = section.pattern, uri = uri
        return pattern.withUTF8 { p in
            uri.withUTF8 { u in
                guard u.count >= p.count, p.elementsEqual(u.prefix(p.count)) else { return false }
                return p.last == UInt8(ascii: "/") || u.count == p.count || u[p.count] == UInt8(ascii: "/")
            }
        }
    }
}

extension String.UTF8View {
    fileprivate var hasSuffixSlash: Bool { last == UInt8(ascii: "/") }
}
