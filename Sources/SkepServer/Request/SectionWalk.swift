import SkepConfig

/// Merges the per-directory sections that apply to a request, in Apache's order
/// (`ap_directory_walk`, `ap_file_walk`, `ap_location_walk`): the server defaults, then
/// `<Directory>` from the shortest path to the longest, then `<DirectoryMatch>` in file
/// order, then `<Files>`/`<FilesMatch>`, then `<Location>`/`<LocationMatch>` last, so a
/// `<Location>` overrides what the file system sections said.
enum SectionWalk {
    static func merge(server: VirtualHost, filename: String?, isDirectory: Bool, uri: String) -> ConfigVector {
        var vector = server.defaults
        var filesSections: [DirectorySection] = []
        if let filename {
            // The directory the file lives in (or the directory itself), with a trailing slash.
            var directory = isDirectory ? filename : String(filename[..<(filename.lastIndex(of: "/") ?? filename.startIndex)])
            if !directory.hasSuffix("/") { directory += "/" }
            let plain = server.sections.enumerated()
                .filter { $0.element.kind == .directory && !$0.element.isRegex }
                .sorted { lhs, rhs in
                    let a = components(lhs.element.pattern), b = components(rhs.element.pattern)
                    return a != b ? a < b : lhs.offset < rhs.offset
                }
            for (_, section) in plain where directoryMatches(section.pattern, directory) {
                vector = vector.merged(with: section.config)
                filesSections += section.nested
            }
            for section in server.sections where (section.kind == .directoryMatch || (section.kind == .directory && section.isRegex)) {
                if section.regex?.matches(directory) == true || section.regex?.matches(String(directory.dropLast())) == true {
                    vector = vector.merged(with: section.config)
                    filesSections += section.nested
                }
            }
            let base = isDirectory ? "" : String(filename[filename.index(after: filename.lastIndex(of: "/") ?? filename.startIndex)...])
            if !base.isEmpty {
                // The server's own `<Files>` first, then those nested in the matching
                // `<Directory>`s, which therefore win: Apache appends a section's nested
                // `sec_file` after its base's when it merges directory configs.
                let serverFiles = server.sections.filter { $0.kind == .files || $0.kind == .filesMatch }
                for section in serverFiles + filesSections where fileMatches(section, base) {
                    vector = vector.merged(with: section.config)
                }
            }
        }
        for section in server.sections where section.kind == .location || section.kind == .locationMatch {
            if locationMatches(section, uri) { vector = vector.merged(with: section.config) }
        }
        return vector
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

    /// `<Location /a>` matches `/a`, `/a/` and `/a/b`, not `/ab`.
    static func locationMatches(_ section: DirectorySection, _ uri: String) -> Bool {
        if let regex = section.regex { return regex.matches(uri) }
        let p = section.pattern
        if Wildcard.isPattern(p) { return Wildcard.matches(pattern: p, uri, pathname: true) }
        guard uri.hasPrefix(p) else { return false }
        if p.hasSuffix("/") || uri.count == p.count { return true }
        return uri.utf8[uri.utf8.index(uri.utf8.startIndex, offsetBy: p.utf8.count)] == UInt8(ascii: "/")
    }
}
