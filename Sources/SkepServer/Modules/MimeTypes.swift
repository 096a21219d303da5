import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// The extension-to-type table `TypesConfig` names, as Apache's mod_mime reads it in
/// `mime_post_config`: lines of `type ext ext...`, `#` starting a comment, extensions
/// lower-cased (the type is kept as written). Read once per configuration generation;
/// looked up per request with the lower-cased extension.
public struct MimeTypes: Sendable {
    /// Lower-cased extension (no dot) to media type.
    public private(set) var types: [String: String]

    public init(types: [String: String] = [:]) {
        self.types = types
    }

    /// The media type for a lower-cased extension without its dot.
    @inlinable
    public func type(forExtension ext: String) -> String? { types[ext] }

    /// Parses the `mime.types` format. As Apache, a later line naming an extension
    /// again replaces the earlier mapping.
    public init(parsing text: String) {
        var table: [String: String] = [:]
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            var line = rawLine
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2 else { continue }
            let type = String(words[0])
            for ext in words.dropFirst() {
                var e = Substring(ext)
                if e.hasPrefix(".") { e = e.dropFirst() }
                guard !e.isEmpty else { continue }
                table[e.lowercased()] = type
            }
        }
        self.types = table
    }

    /// Reads and parses a `mime.types` file; nil when it cannot be read (Apache refuses
    /// to start then; the caller decides what to fall back on).
    public static func load(path: String) -> MimeTypes? {
        guard let file = try? File.openForReading(path) else { return nil }
        defer { file.descriptor.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n: Int
            do {
                n = try chunk.withUnsafeMutableBytes { try file.read(into: $0) }
            } catch {
                return nil
            }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return MimeTypes(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// The common types of the web, used when no `mime.types` file can be read so that a
    /// bare installation still labels its pages, scripts, styles, images and fonts. The
    /// values are those of Debian's `/etc/mime.types` (Apache's `conf/mime.types` agrees
    /// except where noted in it).
    public static let builtin = MimeTypes(types: [
        "html": "text/html", "htm": "text/html", "shtml": "text/html", "xhtml": "application/xhtml+xml",
        "css": "text/css", "js": "text/javascript", "mjs": "text/javascript",
        "json": "application/json", "map": "application/json", "jsonld": "application/ld+json",
        "txt": "text/plain", "text": "text/plain", "log": "text/plain", "conf": "text/plain",
        "asc": "text/plain", "md": "text/markdown", "markdown": "text/markdown",
        "csv": "text/csv", "tsv": "text/tab-separated-values", "ics": "text/calendar",
        "xml": "application/xml", "xsl": "application/xml", "rss": "application/rss+xml",
        "atom": "application/atom+xml", "svg": "image/svg+xml", "svgz": "image/svg+xml",
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg",
        "gif": "image/gif", "webp": "image/webp", "avif": "image/avif", "ico": "image/vnd.microsoft.icon",
        "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff",
        "pdf": "application/pdf", "zip": "application/zip", "gz": "application/gzip",
        "tgz": "application/gzip", "tar": "application/x-tar", "bz2": "application/x-bzip2",
        "xz": "application/x-xz", "7z": "application/x-7z-compressed", "rar": "application/vnd.rar",
        "mp4": "video/mp4", "m4v": "video/mp4", "webm": "video/webm", "ogv": "video/ogg",
        "mov": "video/quicktime", "avi": "video/x-msvideo", "mpeg": "video/mpeg", "mpg": "video/mpeg",
        "mp3": "audio/mpeg", "ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/ogg",
        "wav": "audio/x-wav", "flac": "audio/flac", "m4a": "audio/mp4", "aac": "audio/aac",
        "wasm": "application/wasm", "woff": "font/woff", "woff2": "font/woff2",
        "ttf": "font/ttf", "otf": "font/otf", "eot": "application/vnd.ms-fontobject",
        "bin": "application/octet-stream", "exe": "application/octet-stream",
        "iso": "application/x-iso9660-image", "deb": "application/vnd.debian.binary-package",
        "rtf": "application/rtf", "doc": "application/msword", "xls": "application/vnd.ms-excel",
        "ppt": "application/vnd.ms-powerpoint",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "webmanifest": "application/manifest+json", "appcache": "text/cache-manifest",
    ])
}
