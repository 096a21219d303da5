import SkepConfig
import SkepSystem

/// Merges the per-directory sections that apply to a request, in Apache's order
/// (`ap_directory_walk`, `ap_file_walk`, `ap_location_walk`): the server defaults, then
/// for each directory from `/` down to the file's, the `<Directory>` sections of that
/// depth and then the directory's `.htaccess` when `AllowOverride` lets one be read
/// there, then `<DirectoryMatch>` in file order, then `<Files>`/`<FilesMatch>`, then
/// `<Location>`/`<LocationMatch>` last, so a `<Location>` overrides what the file system
/// sections said.
///
/// One per server (the main server and each virtual host), built with the generation's
/// `ServerContext`. The sections are sorted once, and what the directory part merged is
/// cached by directory, with the `.htaccess` names it looked for and what it found
/// (the file's identity, or nothing): a request then checks those names — a remembered
/// lookup without a system call in an event child, a `stat` each in the others, never
/// an `open` — and merges only when a `<Files>` or `<Location>` section applies to it.
final class SectionWalk: @unchecked Sendable {
    /// What the `<Directory>` and `<DirectoryMatch>` sections of one directory gave.
    struct DirectoryResult: Sendable {
        let vector: ConfigVector
        /// The server's `<Files>` sections, then those nested in the matching `<Directory>`s
        /// and `.htaccess` files.
        let filesSections: [DirectorySection]
        /// Each `.htaccess` path the walk looked for, with the status it found (nil: none).
        let consulted: [(path: String, status: FileStatus?)]
    }

    /// Directories cached before the cache is emptied and refilled (a site with more
    /// directories than this still works, it merges more often).
    static let cacheLimit = 1024

    let defaults: ConfigVector
    /// Plain `<Directory>`, shortest path first, in file order among equals.
    let directories: [DirectorySection]
    /// The number of path components of each of `directories`: the depth it applies at.
    let directoryDepths: [Int]
    /// `AccessFileName`, and the files read under it (nil: none are read, as in unit tests).
    let accessNames: [String]
    let htaccess: HtaccessFiles?
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

    init(server: VirtualHost, htaccess: HtaccessFiles? = nil) {
        self.htaccess = htaccess
        accessNames = server.server[CoreServerConfig.self].accessNames
        defaults = server.defaults
        directories = server.sections.enumerated()
            .filter { $0.element.kind == .directory && !$0.element.isRegex }
            .sorted { lhs, rhs in
                let a = Self.components(lhs.element.pattern), b = Self.components(rhs.element.pattern)
                return a != b ? a < b : lhs.offset < rhs.offset
            }
            .map(\.element)
        directoryDepths = directories.map { Self.components($0.pattern) }
        directoryPatterns = server.sections.filter { $0.kind == .directoryMatch || ($0.kind == .directory && $0.isRegex) }
        files = server.sections.filter { $0.kind == .files || $0.kind == .filesMatch }
        locations = server.sections.filter { $0.kind == .location || $0.kind == .locationMatch }
            .map { ($0, Wildcard.isPattern($0.pattern)) }
    }

    /// The configuration for `filename` and `uri`. Throws what a `.htaccess` file on the
    /// way makes of the request (500, or 403 for one that cannot be read); returns early,
    /// with `r.wouldBlock` set, when a listener run would have to read a file. Without a
    /// request, no `.htaccess` is read.
    func merge(filename: String?, isDirectory: Bool, uri: String, uriBytes: [UInt8], for r: Request? = nil) throws(HtaccessFiles.Failure) -> ConfigVector {
        var vector = defaults
        if let filename {
            // The directory the file lives in (or the directory itself), with a trailing slash.
            var name = filename
            let lastSlash = name.withUTF8 { $0.lastIndex(of: UInt8(ascii: "/")) }
                .map { filename.utf8.index(filename.utf8.startIndex, offsetBy: $0) } ?? filename.startIndex
            var directory = isDirectory ? filename : String(filename[..<lastSlash])
            if !directory.utf8.hasSuffixSlash { directory += "/" }
            let result = try directoryResult(directory, r)
            if r?.wouldBlock == true { return vector }
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
        return mergeLocations(into: vector, uri: uri, uriBytes: uriBytes)
    }

    /// The server defaults with the `<Location>` sections of `uri`: what applies before
    /// the request is mapped to a file (Apache's location walk before translation).
    func locations(uri: String, uriBytes: [UInt8]) -> ConfigVector {
        mergeLocations(into: defaults, uri: uri, uriBytes: uriBytes)
    }

    private func mergeLocations(into vector: ConfigVector, uri: String, uriBytes: [UInt8]) -> ConfigVector {
        // As Apache's location walk, the matching `<Location>` sections are merged together
        // first and the result onto the directory's configuration: a merge that is not
        // associative (`AuthMerging`) gives Apache's answer. (Apache's directory and file
        // walks group the same way; Skep's still merge those one by one.)
        var matched: ConfigVector?
        for location in locations where Self.locationMatches(location.section, isWildcard: location.isWildcard, uri, uriBytes) {
            matched = matched?.merged(with: location.section.config) ?? location.section.config
        }
        guard let matched else { return vector }
        return vector.merged(with: matched)
    }

    private func directoryResult(_ directory: String, _ r: Request?) throws(HtaccessFiles.Failure) -> DirectoryResult {
        guard let r, let htaccess else { return try walkDirectories(directory, nil) }
        if let cached = lock.withLock({ cache[directory] }), isCurrent(cached, r, htaccess) { return cached }
        if r.wouldBlock { return DirectoryResult(vector: defaults, filesSections: [], consulted: []) }
        let result = try walkDirectories(directory, (r, htaccess))
        if r.wouldBlock { return result }
        lock.withLock {
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[directory] = result
        }
        return result
    }

    /// Whether every `.htaccess` the cached walk looked for is as it found it.
    private func isCurrent(_ cached: DirectoryResult, _ r: Request, _ htaccess: HtaccessFiles) -> Bool {
        for (path, status) in cached.consulted {
            let now: FileStatus?
            do {
                now = try r.lookUp(path, in: htaccess.fileCache)
            } catch {
                return false
            }
            if r.wouldBlock { return false }
            switch (status, now) {
            case (nil, nil): continue
            case (let was?, let now?) where was.isSameVersion(as: now): continue
            default: return false
            }
        }
        return true
    }

    /// The walk for `directory`; `reading` (the request and the child's files) reads the
    /// `.htaccess` files on the way.
    private func walkDirectories(_ directory: String, _ reading: (r: Request, files: HtaccessFiles)?) throws(HtaccessFiles.Failure) -> DirectoryResult {
        var vector = defaults
        var filesSections: [DirectorySection] = []
        var consulted: [(path: String, status: FileStatus?)] = []
        // Down the path one directory at a time, as Apache's walk: the sections of each
        // depth, then that directory's `.htaccess`, whose `AllowOverride` the sections
        // merged so far decide.
        let parts = directory.split(separator: "/", omittingEmptySubsequences: true)
        var prefix = "/"
        var index = 0
        for depth in 0...parts.count {
            if depth > 0 { prefix += parts[depth - 1] + "/" }
            while index < directories.count, directoryDepths[index] <= depth {
                let section = directories[index]
                index += 1
                guard Self.directoryMatches(section.pattern, directory) else { continue }
                vector = vector.merged(with: section.config)
                filesSections += section.nested
            }
            guard let reading, let permission = HtaccessPermission(vector[CoreDirConfig.self]) else { continue }
            if let found = try readHtaccess(in: prefix, permission, &consulted, reading.r, reading.files) {
                vector = vector.merged(with: found.directory)
                filesSections += found.files
            }
            if reading.r.wouldBlock { break }
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
        return DirectoryResult(vector: vector, filesSections: files + filesSections, consulted: consulted)
    }

    /// The first of `AccessFileName`'s files that exists in `directory`, processed under
    /// `permission` (Apache's `ap_parse_htaccess`).
    private func readHtaccess(in directory: String, _ permission: HtaccessPermission,
                              _ consulted: inout [(path: String, status: FileStatus?)], _ r: Request,
                              _ htaccess: HtaccessFiles) throws(HtaccessFiles.Failure) -> HtaccessFiles.Processed? {
        for name in accessNames {
            let path = directory + name
            let status: FileStatus?
            do {
                status = try r.lookUp(path, in: htaccess.fileCache)
            } catch where error.errno == .permissionDenied {
                throw htaccess.unreadable(path, directory, error.errno.rawValue)
            } catch {
                status = nil
            }
            if r.wouldBlock { return nil }
            consulted.append((path, status))
            guard let status else { continue }
            // Apache's `ap_pcfg_openfile` refuses what is not a regular file (EBADF).
            guard status.isRegularFile else { throw htaccess.unreadable(path, directory, Errno.badFileDescriptor.rawValue) }
            let result: Result<HtaccessFiles.Processed, HtaccessFiles.Failure>
            if let known = htaccess.known(path, status: status, permission: permission) {
                result = known
            } else if let run = r.listenerRun {
                // Reading the file blocks: a worker runs this request.
                run.blocked = true
                return nil
            } else {
                result = htaccess.processed(path, in: directory, status: status, permission: permission)
            }
            return try result.get()
        }
        return nil
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
