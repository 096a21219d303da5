import SkepConfig
import SkepHTTP
import SkepSystem

/// One request as the modules see it, Apache's `request_rec`: the parsed head (still in
/// the connection's buffer), where it came from, and what the mapping phases decided.
/// Valid only while the request is being handled.
public final class Request {
    public let head: RequestHead
    /// The head's bytes; the ranges in `head` index into it.
    public let bytes: UnsafeRawBufferPointer
    /// The user agent's address (Apache's `useragent_addr`): the connection's peer, or the
    /// client mod_remoteip found in a trusted proxy's header.
    public internal(set) var client: SocketAddress
    /// The connection's peer (Apache's `c->client_addr`: `%{c}a`, `CONN_REMOTE_ADDR`).
    public let peer: SocketAddress
    public let local: SocketAddress
    /// The server (main or virtual host) the request was routed to.
    public internal(set) var server: VirtualHost
    /// When the request head was complete, for `%t`, `%D`, `%T`.
    public let received: Timestamp
    public let receivedMonotonicNanoseconds: UInt64
    /// 1 for the first request on the connection (`%k` counts the ones after it).
    public let sequence: Int

    /// The URL path after percent-decoding and normalisation (Apache's `r->uri`).
    public internal(set) var uri: String = "/"
    /// The same path as bytes: `uri` repairs a byte that is not UTF-8 (to U+FFFD), these
    /// keep it, and `<LocationMatch>` matches them as Apache's PCRE matches `r->uri`.
    public internal(set) var uriBytes: [UInt8] = [UInt8(ascii: "/")]
    /// The file the URL maps to, once translated (Apache's `r->filename`).
    public var filename: String? {
        didSet { if filename != oldValue { fileStatus = nil } }
    }
    /// The status of `filename` as the map-to-storage phase found it (Apache's
    /// `r->finfo`): looked up once, used by every later phase; nil when it does not exist.
    public internal(set) var fileStatus: FileStatus?
    /// The part of the URL after the file, when `AcceptPathInfo` allows it.
    public var pathInfo: String = ""
    /// The per-directory configuration merged for this request.
    public internal(set) var directory: ConfigVector
    /// The handler chosen by `SetHandler`, `AddHandler` or the default.
    public var handler: String?
    public var contentType: String?
    public var contentLanguage: String?
    public var contentEncoding: String?
    /// Variables for `%{NAME}e` and handlers (Apache's `subprocess_env`).
    public var environment: [String: String] = [:]
    /// The authenticated user (`%u`, `REMOTE_USER`), when a module set one.
    public var user: String?
    /// The authentication scheme that set `user` (`AUTH_TYPE`), Apache's `r->ap_auth_type`.
    public var authType: String?
    /// Headers an error response carries too (Apache's `err_headers_out`):
    /// `WWW-Authenticate` on a 401.
    public var errorHeaders: [(name: String, value: String)] = []
    /// The status that was originally answered before an internal redirect (ErrorDocument).
    public var originalStatus: HTTPStatus?
    /// The file system refused to look the path up (too long, no permission): Apache's 403.
    var lookupForbidden = false
    /// The client's double-reverse DNS name once looked up (`doubleReverseHost()`); the
    /// inner nil when it has none.
    var remoteHostLookup: String??
    /// The request body, read on demand (`read(into:)` until 0).
    public internal(set) var body: BodyReader?
    /// For an internal redirect: the URL path processed instead of the one in the head.
    public private(set) var internalPath: String?
    /// For an internal redirect that keeps its history (ErrorDocument, a CGI local
    /// redirect; not DirectoryIndex): the request it replaced, Apache's `r->prev`.
    public internal(set) var redirectedFrom: Request?
    /// Internal redirects made to reach this request (any kind), for `LimitInternalRecursion`.
    private(set) var internalRedirects = 0
    /// The URL path of the request the client sent, for a redirected one.
    private(set) var originalURI: String?
    /// The method a CGI local redirect turns the request into (GET), Apache's
    /// rewriting of `r->method`.
    var methodOverride: String?
    /// The query of an internal redirect's target, when it has one.
    var internalQuery: String?
    /// An internal redirect to a path without a query that does not keep the client's.
    var queryDropped = false
    /// The URL prefix and directory an alias or user directory mapped (Apache's
    /// `ap_set_context_info`): a script's `CONTEXT_PREFIX` and `CONTEXT_DOCUMENT_ROOT`.
    public var contextPrefix: String?
    public var contextDocumentRoot: String?
    /// Notes between modules (Apache's `r->notes`): mod_proxy's target URL, say.
    public var notes: [String: String] = [:]
    /// Bytes of the head in `bytes` (the request line and fields, with the blank line).
    public let headLength: Int
    /// For a head refused while it was read (400, 408, 414): the range of `bytes` that the
    /// access log's `%r` shows, as far as the line was read. Nil for every other request.
    public internal(set) var refusedRequestLine: Range<Int>?
    /// Set when the request runs where it must not block (the event MPM's listener);
    /// shared with its internal redirects, so a lookup anywhere in the chain stops it.
    var listenerRun: ListenerRun?
    /// Whether this request has applied the file cache's queued reports (its first
    /// lookup does; later ones trust what that left remembered).
    private var appliedCacheReports = false
    /// The connection's TLS session (mod_ssl): `HTTPS`, the `https` scheme, `%{...}x`.
    public internal(set) var tls: TLSSession?
    /// `http` or `https`, as the connection came (Apache's `ap_http_scheme`).
    public var scheme: String { tls == nil ? "http" : "https" }
    /// The port a URL of this scheme leaves out.
    var defaultPort: Int { tls == nil ? 80 : 443 }
    /// Request headers an expression read (`<If>`, `Require expr`, `SetEnvIfExpr`), which
    /// Apache adds to a successful response's `Vary`. An internal redirect records them in
    /// the request the connection answers (`varyOwner`). Empty costs no allocation.
    private(set) var varyHeaders = VaryHeaders()
    private(set) var varyOwner: Request?

    /// Notes that an expression read request header `name`, for `Vary`.
    func noteVary(_ name: String) {
        let owner = varyOwner ?? self
        owner.varyHeaders.add(name)
    }
    /// The run met something that may block and stopped: a worker is to run the request
    /// again from the start, and what this run produced is dropped.
    public var wouldBlock: Bool { listenerRun?.blocked ?? false }

    init(head: RequestHead, bytes: UnsafeRawBufferPointer, headLength: Int, client: SocketAddress, local: SocketAddress,
         server: VirtualHost, sequence: Int) {
        self.head = head
        self.headLength = headLength
        self.bytes = bytes
        self.client = client
        self.peer = client
        self.local = local
        self.server = server
        self.directory = server.defaults
        self.received = SystemClock.now()
        self.receivedMonotonicNanoseconds = SystemClock.monotonicNanoseconds()
        self.sequence = sequence
    }

    /// A new request for `path` with this one's head and connection: Apache's internal
    /// redirect, as `ErrorDocument` and `DirectoryIndex` use. The query is the one in
    /// `path`; without one, the client's is kept when `keepingQuery` (mod_dir appends it
    /// to the index it tries) and dropped otherwise (`ap_internal_redirect` of an
    /// `ErrorDocument` or a script's `Location`, whose query is only its own).
    public func redirected(to path: String, keepingQuery: Bool = true) -> Request? {
        guard path.hasPrefix("/") else { return nil }
        let r = Request(head: head, bytes: bytes, headLength: headLength, client: peer, local: local,
                        server: server, sequence: sequence)
        r.client = client
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        r.internalPath = String(parts[0])
        r.internalRedirects = internalRedirects + 1
        r.originalURI = originalURI ?? uri
        if parts.count == 2 { r.internalQuery = String(parts[1]) }
        r.queryDropped = parts.count == 1 && !keepingQuery
        r.environment = environment
        // Apache's redirect shares `headers_in`, with what `RequestHeader` did to it.
        r.editedHeaders = editedHeaders
        r.body = body
        r.methodOverride = methodOverride
        r.listenerRun = listenerRun
        r.tls = tls
        r.remoteHostLookup = remoteHostLookup
        r.varyOwner = varyOwner ?? self
        return r
    }

    /// Reads and drops the request body before a handler that has no use for it answers,
    /// as Apache's default handler does (`ap_discard_request_body`): nil when that went
    /// well, else the status to answer (408 timeout, 400 bad chunking, 413 over
    /// `LimitRequestBody`).
    public func discardBody() -> HTTPStatus? {
        guard let body, !body.isFinished else { return nil }
        return body.discard(limit: config(CoreDirConfig.self).requestBodyLimit)?.status
    }

    public var method: String { methodOverride ?? head.method(in: bytes) }
    public var isHead: Bool { methodOverride == nil && head.method == .head }
    /// The target as sent, still encoded (`%U%q` is the decoded path and the query).
    public var target: String { head.target(in: bytes) }
    public var query: String? { queryDropped ? nil : internalQuery ?? head.query(in: bytes) }
    /// The request line as sent (`%r`).
    public var requestLine: String {
        if head.version == .http09 { return "\(method) \(target)" }
        return "\(method) \(target) \(head.version)"
    }
    public var protocolName: String { head.version.description }
    public func header(_ name: String) -> String? {
        guard let editedHeaders else { return head.firstValue(of: name, in: bytes) }
        return editedHeaders.first { $0.name.lowercased() == name.lowercased() }?.value
    }
    public func headerValues(_ name: String) -> [String] {
        guard let editedHeaders else { return head.values(of: name, in: bytes) }
        return editedHeaders.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }
    /// The request's header fields once a module changed them (mod_headers'
    /// `RequestHeader`, which edits Apache's `r->headers_in` in place); nil while they are
    /// the ones the client sent, read from `head` without a copy. What `header(_:)`, the
    /// access log's `%{...}i`, expressions and the CGI/FastCGI `HTTP_*` variables see.
    public var editedHeaders: [(name: String, value: String)]?
    /// The header fields as they stand: edited, or as the client sent them.
    public var headerFields: [(name: String, value: String)] {
        editedHeaders ?? head.fields.map { (head.string($0.name, in: bytes), head.string($0.value, in: bytes)) }
    }
    /// The host the client asked for, lowercased, without port.
    public var hostName: String? { head.host(in: bytes) }

    /// `ap_get_server_name_for_url` with `UseCanonicalName Off`: the host the client
    /// asked for (an IPv6 one in brackets), else `ServerName`, else the local address.
    public var serverNameForURL: String {
        if let host = hostName, !host.isEmpty { return host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host }
        if let name = serverConfig(CoreServerConfig.self).serverName { return ServerContext.hostPart(name) }
        return local.host
    }

    /// `ap_get_server_port` with `UseCanonicalName Off` and `UseCanonicalPhysicalPort Off`:
    /// the port the client named with the host, else `ServerName`'s, else 80.
    public var serverPortForURL: Int {
        if let port = head.port { return port }
        if let name = serverConfig(CoreServerConfig.self).serverName, let port = ServerContext.portPart(name) { return port }
        return defaultPort
    }

    /// `http://host[:port]` for a URL back to this server, as Apache's `ap_construct_url`
    /// (the port left out when it is 80).
    public var selfURLPrefix: String {
        let port = serverPortForURL
        return port == defaultPort ? "\(scheme)://\(serverNameForURL)" : "\(scheme)://\(serverNameForURL):\(port)"
    }

    /// Apache's `stat` of a path for this request, through the child's file cache. On the
    /// listener, a path the cache does not know stops the request (`wouldBlock`) and reads
    /// as missing; the processor returns at its next phase.
    func lookUp(_ path: String, followSymlinks: Bool = true, in cache: FileCache) throws(SystemError) -> FileStatus? {
        guard let run = listenerRun else {
            defer { appliedCacheReports = true }
            return try cache.lookUp(path, followSymlinks: followSymlinks, applyReports: !appliedCacheReports).get()
        }
        guard let known = cache.remembered(path, followSymlinks: followSymlinks) else {
            run.blocked = true
            return nil
        }
        return try known.get()
    }

    /// A module's per-directory record for this request.
    public func config<C: ModuleConfig>(_ type: C.Type) -> C { directory[type] }
    /// A module's per-server record for this request's server.
    public func serverConfig<C: ModuleConfig>(_ type: C.Type) -> C { server.server[type] }
}

/// The header names behind a response's `Vary`, in the order they were read.
struct VaryHeaders {
    private(set) var names: [String] = []

    mutating func add(_ name: String) {
        if !names.contains(where: { $0.lowercased() == name.lowercased() }) { names.append(name) }
    }

    /// `existing` (a response's own `Vary`) with these names added, without repeats,
    /// joined with "," as Apache's `fix_vary` writes it.
    func merged(into existing: String?) -> String {
        var tokens: [String] = []
        for token in (existing ?? "").split(separator: ",").map({ $0.trimmingASCIISpaces }) + names
        where !token.isEmpty && !tokens.contains(where: { $0.lowercased() == token.lowercased() }) {
            tokens.append(token)
        }
        return tokens.joined(separator: ",")
    }
}

extension Substring {
    fileprivate var trimmingASCIISpaces: String { String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()) }
}

/// A request's run on the event listener: set once something in it may block.
final class ListenerRun {
    var blocked = false
    /// The block was the handler's (not a file lookup the cache did not know yet).
    var blockedByHandler = false
}
