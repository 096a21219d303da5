import SkepHTTP
import SkepSystem

/// What a handler answers: a status, header fields in order, and a body. The
/// connection adds `Date`, `Server`, `Content-Length` and the connection headers.
public struct Response {
    public enum Body {
        /// No bytes; `length` is what a GET would have sent (the `Content-Length` of a HEAD answer).
        case empty(length: Int64 = 0)
        case bytes([UInt8])
        /// A range of an open file the response owns (closed after it is sent).
        case file(Descriptor, offset: Int64, length: Int64)
        /// Several parts, as `multipart/byteranges` needs.
        case parts([ResponseOutput.Part], owning: [Descriptor])
        /// Produced while it is sent, on the thread that ran the handler.
        case stream(ResponseStream)
    }

    public var status: HTTPStatus
    public var headers: [(name: String, value: String)]
    public var body: Body
    /// False for answers that must not carry a body (`304`, `204`, HEAD) even though
    /// their `Content-Length` describes one.
    public var sendsBody = true
    /// An error page (or a 304) as Apache's `ap_send_error_response` sends it: only the
    /// protocol filters run on it, never the content filters (DEFLATE, Header).
    public var isErrorResponse = false
    /// The handler asks the filter chain to evaluate the request's conditionals on its
    /// `ETag` and `Last-Modified` (a CGI or FastCGI script's answer, as Apache's
    /// `ap_scan_script_header_err` calls `ap_meets_conditions`).
    public var evaluatesConditions = false
    /// The body comes from a source that hands it over in parts as it is produced (a
    /// FastCGI script), as Apache's handlers pass brigades before the end-of-stream: its
    /// protocol filters never see it whole, so BYTERANGE leaves it and DEFLATE compresses
    /// even a few bytes of it. Set even when Skep happened to collect the whole body.
    public var isProgressive = false
    /// How many of `headers`, from the first, stand in Apache's `err_headers_out` rather
    /// than `headers_out`: a CGI or FastCGI script's own fields (`ScriptFields`). Both
    /// tables are sent, but `Header` without `always` and mod_expires' `Cache-Control`
    /// change only `headers_out`. A filter that removes one of these first fields
    /// lowers the count.
    public var errorTableCount = 0
    /// A reverse proxy's answer: the back end's `Date` and `Server` are sent instead of
    /// Skep's own, as Apache sends them for a proxied request.
    public var keepsOriginDateAndServer = false
    /// The request that answered after internal redirects (`DirectoryIndex`, a local
    /// `ErrorDocument`): the output filters read its configuration, as Apache's filters
    /// see the redirect's `r`. Nil for the request the connection made.
    public var finalRequest: Request?
    /// The whole of a regular file is the body (set by the default handler): a filter may
    /// cache what it derives from it under this identity (see `DeflateCache`).
    public var sourceFile: SourceFile?

    /// Which file, in which state, a body is the whole of.
    public struct SourceFile: Sendable, Hashable {
        public var path: String
        /// The `stat` the body was read under (inode, size, mtime and ctime identify it).
        public var status: FileStatus
        public init(path: String, status: FileStatus) {
            self.path = path
            self.status = status
        }
    }

    public init(status: HTTPStatus, headers: [(name: String, value: String)] = [], body: Body = .empty()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body's length; 0 for a stream of unknown length (see `ResponseStream.length`).
    public var contentLength: Int64 {
        switch body {
        case .stream(let stream): return stream.length ?? 0
        case .empty(let length): return length
        case .bytes(let b): return Int64(b.count)  // trap-safe: Int to Int64 widens
        case .file(_, _, let length): return length
        case .parts(let parts, _):
            // Saturating: the static handler never builds parts longer than Int64 holds
            // (`StaticFiles.multipartFits`); a sum past it must still not trap.
            return parts.reduce(0) { sum, part in
                let length: Int64
                switch part {
                case .bytes(let b): length = Int64(b.count)  // trap-safe: Int to Int64 widens
                case .file(_, _, let l): length = l
                }
                let (total, overflow) = sum.addingReportingOverflow(length)
                return overflow ? .max : total
            }
        }
    }

    /// Whether the body is produced while it is sent.
    public var isStream: Bool {
        if case .stream = body { return true }
        return false
    }

    public func header(_ name: String) -> String? {
        headers.first { Self.sameName($0.name, name) }?.value
    }

    public mutating func setHeader(_ name: String, _ value: String) {
        if let i = headers.firstIndex(where: { Self.sameName($0.name, name) }) {
            headers[i].value = value
        } else {
            headers.append((name, value))
        }
    }

    /// Field names compared as ASCII without regard to case, without building lowered
    /// copies: the filters look fields up several times a request.
    static func sameName(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                for i in 0..<x.count {
                    let p = x[i], q = y[i]
                    if p == q { continue }
                    let lp = p >= 0x41 && p <= 0x5A ? p | 0x20 : p
                    let lq = q >= 0x41 && q <= 0x5A ? q | 0x20 : q
                    if lp != lq { return false }
                }
                return true
            }
        }
    }

    /// Closes any file the body owns; for responses replaced before they were sent.
    public func discard() { body.discard() }
}

extension Response.Body {
    /// Releases what the body owns (its files, a stream's resources) when it will not be sent.
    public func discard() {
        switch self {
        case .file(let fd, _, _): fd.close()
        case .parts(_, let owned): owned.forEach { $0.close() }
        case .stream(let stream): stream.onAbandon?()
        default: break
        }
    }
}
