import SkepConfig
import SkepHTTP
import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// Apache's core `default_handler`: serves the mapped file with `ETag`, `Last-Modified`,
/// conditional requests (`ap_meets_conditions`), byte ranges (the byterange filter) and
/// HEAD, and answers directories that no module claimed.
public enum StaticFiles {
    /// The handler name Apache gives a directory (its content type).
    public static let directoryType = "httpd/unix-directory"

    public static func handle(_ r: Request, _ context: ServerContext) -> Response {
        let processor = RequestProcessor(context: context)
        var allow: String { allowedMethods(context) }
        switch r.head.method {
        case .get, .head, .post:
            // As Apache's default handler, POST to a file is answered like GET.
            break
        case .options:
            var response = Response(status: .ok, headers: [("Allow", allow)])
            response.sendsBody = false
            return response
        case .put, .delete, .connect, .patch:
            return processor.error(.methodNotAllowed, r, allow: allow)
        default:
            // Apache answers a method it does not know with 501.
            return processor.error(isKnownMethod(r.method) ? .methodNotAllowed : .notImplemented, r, allow: allow)
        }
        // The body is read and dropped first, so a slow or broken one gets its own answer.
        if let failure = r.discardBody() { return processor.error(failure, r) }
        guard let filename = r.filename, let status = r.fileStatus ?? (try? r.lookUp(filename, in: context.fileCache)) else {
            if r.wouldBlock { return RequestProcessor.stopped }
            context.errorLog.log(.info, module: "core", client: r.client,
                                 "AH00128: File does not exist: \(r.filename ?? r.uri)\(r.pathInfo)")
            return processor.error(.notFound, r)
        }
        if status.isDirectory {
            // A directory no DirectoryIndex or autoindex answered.
            let autoindex = context.config.isActive("autoindex_module")
            return processor.error(autoindex ? .forbidden : .notFound, r)
        }
        guard status.isRegularFile else { return processor.error(.forbidden, r) }
        // The default handler takes no path info (`AcceptPathInfo Default`).
        if !r.pathInfo.isEmpty { return processor.error(.notFound, r) }

        // A small file comes from the child's cache; on the listener nothing else may.
        let mayBlock = r.listenerRun == nil
        let source: Source
        if let bytes = context.fileCache.contents(of: filename, status: status, mayBlock: mayBlock) {
            source = .bytes(bytes)
        } else if !mayBlock {
            r.listenerRun?.blocked = true
            return RequestProcessor.stopped
        } else {
            do {
                source = .file(try File.openForReading(filename))
            } catch {
                context.errorLog.log(.error, module: "core", client: r.client,
                                     "AH00132: file permissions deny server access: \(filename)")
                return processor.error(.forbidden, r)
            }
        }
        let dir = r.config(CoreDirConfig.self)
        let etag = entityTag(status, components: dir.fileETag ?? .default)
        let lastModified = HTTPDate(secondsSince1970: status.modificationTime.seconds)
        var headers: [(name: String, value: String)] = []
        // Room for every field below, so the array grows once.
        headers.reserveCapacity(8)
        headers.append(("Last-Modified", lastModified.description))
        if let language = r.contentLanguage { headers.append(("Content-Language", language)) }
        if let encoding = r.contentEncoding { headers.append(("Content-Encoding", encoding)) }
        if let etag { headers.append(("ETag", etag.description)) }

        headers.append(("Accept-Ranges", "bytes"))
        if let failure = Conditional.evaluate(r, etag: etag, lastModified: lastModified) {
            source.close()
            if failure == .notModified {
                // Apache's 304 keeps the validators and Accept-Ranges (it drops the entity fields).
                var response = Response(status: .notModified, headers: headers)
                response.sendsBody = false
                response.isErrorResponse = true
                return response
            }
            return processor.error(failure, r)
        }

        // The whole file, for HEAD too: a content filter (DEFLATE) may need its bytes to
        // say the length a GET would get; the connection sends no body for HEAD. Ranges
        // are the BYTERANGE filter's, after the content filters.
        var response = Response(status: .ok, headers: headers, body: source.body(offset: 0, length: status.size, head: false))
        if let type = r.contentType { response.headers.append(("Content-Type", type)) }
        response.sourceFile = Response.SourceFile(path: filename, status: status)
        return response
    }

    /// Files up to this size are read and sent with the head in one `writev`, as Apache
    /// sends small files from memory: a second system call (and packet) per response costs
    /// more than the copy.
    static let inlineLimit: Int64 = Int64(FileCache.largestFile)  // trap-safe: a 64 KiB constant

    /// Where a file's bytes come from: the child's file cache, or the open file.
    enum Source {
        case bytes([UInt8])
        case file(File)

        /// The body for a range: bytes for a small range (the file is then closed), else the
        /// open file for sendfile. A HEAD answer needs neither.
        func body(offset: Int64, length: Int64, head: Bool) -> Response.Body {
            if head {
                close()
                return .empty(length: length)
            }
            switch self {
            case .bytes(let bytes):
                if offset == 0 && length == Int64(bytes.count) { return .bytes(bytes) }  // trap-safe: Int to Int64 widens
                // In bounds: the ranges lie within `size`, the cached bytes' count (the cache
                // serves them only while a fresh stat agrees).
                return .bytes(Array(bytes[Int(offset)..<Int(offset + length)]))  // trap-safe: offset and length lie within bytes (see `body`); Int64 and Int are one width
            case .file(let file):
                guard length <= inlineLimit else { return .file(file.descriptor, offset: offset, length: length) }
                var bytes = [UInt8](repeating: 0, count: Int(length))  // trap-safe: length <= inlineLimit, checked above
                let read = bytes.withUnsafeMutableBytes { (try? file.read(into: $0, at: offset)) ?? -1 }
                guard read == Int(length) else { return .file(file.descriptor, offset: offset, length: length) }  // trap-safe: length <= inlineLimit, checked above
                file.close()
                return .bytes(bytes)
            }
        }

        func close() {
            if case .file(let file) = self { file.close() }
        }
    }

    /// The `Allow` value of Apache's default handler: TRACE is listed while `TraceEnable` allows it.
    static func allowedMethods(_ context: ServerContext) -> String {
        context.config.main.server[CoreServerConfig.self].traceEnabled ? "GET,POST,OPTIONS,HEAD,TRACE" : "GET,POST,OPTIONS,HEAD"
    }

    /// Methods Apache registers; others are "not implemented" (501) rather than "not allowed".
    static func isKnownMethod(_ method: String) -> Bool {
        ["GET", "PUT", "POST", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PROPFIND", "PROPPATCH",
         "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "VERSION-CONTROL", "CHECKOUT", "UNCHECKOUT", "CHECKIN",
         "UPDATE", "LABEL", "REPORT", "MKWORKSPACE", "MKACTIVITY", "BASELINE-CONTROL", "MERGE", "HEAD"].contains(method)
    }

    /// Apache's `ap_make_etag`: hex fields joined by `-`, in the order inode, size, mtime
    /// (microseconds); nil for `FileETag None`.
    /// Written straight into the string's storage: this runs for every file served.
    static func entityTag(_ status: FileStatus, components: ETagComponents) -> EntityTag? {
        // Three fields of at most a sign and 16 digits, and two separators.
        let opaque = String(unsafeUninitializedCapacity: 3 * 17 + 2) { out in
            var count = 0
            func field(negative: Bool, _ magnitude: UInt64) {
                if count > 0 { out[count] = UInt8(ascii: "-"); count += 1 }
                if negative { out[count] = UInt8(ascii: "-"); count += 1 }
                var digits = 1
                while digits < 16 && magnitude >> (4 * digits) != 0 { digits += 1 }
                for k in 0..<digits {
                    let nibble = UInt8(truncatingIfNeeded: magnitude >> (4 * (digits - 1 - k))) & 0xF
                    out[count + k] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
                }
                count += digits
            }
            if components.contains(.inode) { field(negative: false, status.inode) }
            if components.contains(.size) { field(negative: status.size < 0, status.size.magnitude) }
            let mtime = status.modificationTime.microseconds
            if components.contains(.mtime) { field(negative: mtime < 0, mtime.magnitude) }
            return count
        }
        return opaque.isEmpty ? nil : EntityTag(opaque)
    }

}

/// Apache's `ap_meets_conditions`, in RFC 7232's order.
enum Conditional {
    /// nil when the request may proceed; `.notModified` or `.preconditionFailed` otherwise.
    static func evaluate(_ r: Request, etag: EntityTag?, lastModified: HTTPDate) -> HTTPStatus? {
        let getOrHead = r.head.method == .get || r.head.method == .head
        if let ifMatch = r.header("If-Match") {
            if ifMatch.trimmingBlanks != "*" {
                guard let etag, etag.isMatched(byList: ifMatch, .strong) else { return .preconditionFailed }
            }
        } else if let since = r.header("If-Unmodified-Since"), let date = HTTPDate(since), lastModified > date {
            return .preconditionFailed
        }
        if let ifNoneMatch = r.header("If-None-Match") {
            let matched = ifNoneMatch.trimmingBlanks == "*" || (etag.map { $0.isMatched(byList: ifNoneMatch, .weak) } ?? false)
            if matched { return getOrHead ? .notModified : .preconditionFailed }
        } else if getOrHead, let since = r.header("If-Modified-Since"), let date = HTTPDate(since), lastModified <= date,
                  date.secondsSince1970 <= r.received.seconds {
            // A date later than the request's own time is ignored, as Apache's
            // `ap_condition_if_modified_since` (`ims <= reqtime`).
            return .notModified
        }
        return nil
    }
}

extension String {
    var trimmingBlanks: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
