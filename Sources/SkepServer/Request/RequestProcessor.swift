import SkepConfig
import SkepHTTP
import SkepSystem

/// Runs one request through Apache's phases: URI resolution, translate (modules, then
/// DocumentRoot), the per-directory walk, access checks, fixups, the handler, and the
/// error document when the answer is an error. Knows nothing of sockets or MPMs.
public struct RequestProcessor {
    public let context: ServerContext

    public init(context: ServerContext) { self.context = context }

    public func process(_ r: Request) -> Response {
        // Every internal redirect nests here: a loop (a script's Location to itself, an
        // ErrorDocument that fails again) stops at `LimitInternalRecursion`, as Apache's
        // `ap_is_recursion_limit_exceeded`.
        let limit = r.serverConfig(CoreServerConfig.self).internalRedirectLimit
        if r.internalRedirects >= limit {
            context.errorLog.log(.error, module: "core", client: r.client,
                                 "AH00124: Request (\(r.originalURI ?? r.uri)) exceeded the limit of \(limit) internal redirects due to probable configuration error. Use 'LimitInternalRecursion' to increase the limit if necessary. Use 'LogLevel debug' to get a backtrace.")
            return error(.internalServerError, r)
        }
        var response = run(r)
        if r.wouldBlock { return response }
        // No handler's final status may be interim: a 1xx head followed by a body would
        // read to the client as a second, forged response. (The Skep API refuses a status
        // outside 100-999 itself.)
        if response.status.code < 200 {
            response.discard()
            context.errorLog.log(.error, module: "core", client: r.client,
                                 "the handler for \(r.uri) answered with the interim status \(response.status.code) as its final status: answered 500")
            return error(.internalServerError, r)
        }
        // A response an internal redirect produced (mod_rewrite's, a script's local
        // Location) had its ErrorDocument applied by the request that answered it.
        let answeredHere = response.finalRequest == nil || response.finalRequest === r
        if answeredHere, response.status.code >= 400 || (response.status.code >= 300 && response.status.code < 400 && response.contentLength == 0 && response.header("Location") != nil) {
            response = errorDocument(for: response, r)
        }
        addDefaultCharset(&response, r)
        if response.finalRequest == nil, r.internalPath != nil { response.finalRequest = r }
        return response
    }

    /// `AddDefaultCharset`, as Apache's `ap_make_content_type`: a `Content-Type` that
    /// contains `text/plain` or `text/html` and no `charset=` (both matched as substrings,
    /// case-sensitively) gets `; charset=` and the configured charset, whichever handler
    /// produced it.
    private func addDefaultCharset(_ response: inout Response, _ r: Request) {
        guard let charset = r.config(CoreDirConfig.self).addDefaultCharset, !charset.isEmpty,
              let i = response.headers.firstIndex(where: { $0.name.lowercased() == "content-type" }) else { return }
        let type = response.headers[i].value
        guard !type.isEmpty, !type.contains("charset="), type.contains("text/plain") || type.contains("text/html") else { return }
        response.headers[i].value = type + "; charset=" + charset
    }

    private func run(_ r: Request) -> Response {
        switch r.head.targetForm {
        case .asterisk:
            // `OPTIONS *` asks about the server itself (Apache answers with the methods it allows).
            guard r.head.method == .options else { return error(.badRequest, r) }
            var response = Response(status: .ok)
            response.sendsBody = false
            return response
        case .authority:
            // Apache answers CONNECT with 405 and keeps the connection: Skep is no proxy.
            return error(.methodNotAllowed, r, allow: StaticFiles.allowedMethods(context))
        default:
            break
        }
        if r.head.expectation == .unsupported {
            return error(.expectationFailed, r)
        }
        if r.head.method == .trace {
            return trace(r)
        }

        // The path is resolved from the head's bytes in place: a copy would cost an allocation
        // per request.
        let core = r.serverConfig(CoreServerConfig.self)
        let slashes: RequestPath.EncodedSlashes
        switch core.encodedSlashes {
        case "On": slashes = .on
        case "NoDecode": slashes = .noDecode
        default: slashes = .off
        }
        let resolved: Result<RequestPath, RequestPath.Failure>
        if let redirectPath = r.internalPath {
            guard redirectPath.utf8.first == UInt8(ascii: "/") else { return error(.badRequest, r) }
            resolved = RequestPath.resolve(redirectPath, encodedSlashes: slashes, mergeSlashes: core.slashesMerged)
        } else if r.head.pathRange.isEmpty {
            resolved = RequestPath.resolve("/", encodedSlashes: slashes, mergeSlashes: core.slashesMerged)
        } else {
            let raw = UnsafeRawBufferPointer(rebasing: r.bytes[r.head.pathRange])
            guard raw.first == UInt8(ascii: "/") else { return error(.badRequest, r) }
            resolved = RequestPath.resolve(raw, encodedSlashes: slashes, mergeSlashes: core.slashesMerged)
        }
        switch resolved {
        case .failure(let failure):
            return error(failure.status, r)
        case .success(let path):
            r.uri = path.string
            r.uriBytes = path.bytes
        }

        // Apache's post_read_request (mod_setenvif's server-wide rules); every module runs.
        for module in context.modules {
            switch module.postReadRequest(r, context) {
            case .declined, .handled: continue
            case .respond(let response): return response
            case .fail(let status): return error(status, r)
            }
        }

        // Translate: modules first (Alias, Redirect), then DocumentRoot.
        for module in context.modules {
            switch module.translate(r, context) {
            case .declined: continue
            case .handled: break
            case .respond(let response): return response
            case .fail(let status): return error(status, r)
            }
            break
        }
        if r.filename == nil {
            let root = r.serverConfig(CoreServerConfig.self).documentRoot ?? context.config.serverRoot + "/htdocs"
            r.filename = root + r.uri
        }

        // Map to storage: find the file, and any path info beyond it.
        let status = mapToStorage(r)
        r.fileStatus = status
        if r.wouldBlock { return Self.stopped }
        if r.lookupForbidden { return error(.forbidden, r) }
        do {
            r.directory = try context.sectionWalk(for: r.server).merge(filename: r.filename, isDirectory: status?.isDirectory ?? false,
                                                                        uri: r.uri, uriBytes: r.uriBytes, for: r)
        } catch {
            context.errorLog.log(error.level, module: "core", client: r.client, error.message)
            return self.error(error.status, r)
        }
        if r.wouldBlock { return Self.stopped }
        if status != nil, !symlinksAllowed(r) {
            if r.wouldBlock { return Self.stopped }
            context.errorLog.log(.error, module: "core", client: r.client,
                                 "AH00037: Symbolic link not allowed or link target not accessible: \(r.filename ?? r.uri)")
            return error(.forbidden, r)
        }
        IfWalk.apply(r, context)
        if r.wouldBlock { return Self.stopped }
        for module in context.modules {
            switch module.headerParser(r, context) {
            case .declined, .handled: continue
            case .respond(let response): return response
            case .fail(let status): return error(status, r)
            }
        }

        switch AccessPhases(context: context).run(r) {
        case .declined, .handled: break
        case .respond(let response): return response
        case .fail(let status): return error(status, r)
        }
        if r.wouldBlock { return Self.stopped }

        if let handler = r.config(CoreDirConfig.self).handler, !handler.isEmpty { r.handler = handler }
        for module in context.modules {
            switch module.fixup(r, context) {
            case .declined, .handled: continue
            case .respond(let response): return response
            case .fail(let status): return error(status, r)
            }
        }
        if r.wouldBlock { return Self.stopped }
        // As Apache's `ap_invoke_handler`: with no handler set, a directory is offered to
        // the `httpd/unix-directory` handler (mod_autoindex) and a file to the default one;
        // `r.handler` stays unset, so `%R` logs `-` as Apache's does.
        var name = r.handler ?? "default-handler"
        if r.handler == nil, r.fileStatus?.isDirectory == true { name = StaticFiles.directoryType }
        if let run = r.listenerRun, !context.runsWithoutBlocking(name) {
            run.blocked = true
            run.blockedByHandler = true
            return Self.stopped
        }
        // Whatever no module claims goes to the default handler, which serves the file
        // (an `AddHandler cgi-script` without mod_cgi serves the script's text).
        if let handler = context.handler(named: name) {
            do {
                return try handler(r, context)
            } catch {
                context.errorLog.log(.error, module: "core", client: r.client, "handler \(name) failed for \(r.filename ?? r.uri): \(error)")
                return self.error(.internalServerError, r)
            }
        }
        return StaticFiles.handle(r, context)
    }

    /// What a run that stopped for a worker returns; it is never sent.
    static var stopped: Response { Response(status: .ok) }

    /// Apache's `ap_directory_walk` file lookup: the longest existing prefix of the
    /// filename, with what follows it kept as path info. Below an existing directory the
    /// walk stops at the first missing name, which stays in the filename while the rest
    /// becomes path info, as Apache's: so `<Files>` sees `setup` for a missing
    /// `setup/index.php`, and a `<FilesMatch "\.php$">` handler does not claim it.
    /// A `proxy:` target is no file (mod_proxy's own map-to-storage hook skips the walk).
    private func mapToStorage(_ r: Request) -> FileStatus? {
        guard var filename = r.filename, !filename.hasPrefix("proxy:") else { return nil }
        // `Alias /app /srv/app/` makes `/srv/app//x` of `/app/x`: the walk's
        // `apr_filepath_merge` makes it `/srv/app/x`, the name every later phase sees
        // (per-directory rewrite rules strip the directory from it).
        if Self.hasDoubledSlash(filename) {
            filename = Self.collapsingSlashes(filename)
            r.filename = filename
        }
        do {
            if let st = try r.lookUp(filename, in: context.fileCache) { return st }
        } catch where error.errno == .fileNameTooLong || error.errno == .permissionDenied {
            // Apache answers a path the file system refuses to look up with 403.
            r.lookupForbidden = true
            return nil
        } catch {
            return nil
        }
        var prefix = Substring(filename)
        while let slash = prefix.lastIndex(of: "/"), slash > prefix.startIndex, !r.wouldBlock {
            prefix = prefix[..<slash]
            if let st = try? r.lookUp(String(prefix), in: context.fileCache) {
                if st.isRegularFile {
                    r.pathInfo = String(filename[slash...])
                    r.filename = String(prefix)
                    return st
                }
                if st.isDirectory, let missing = filename[filename.index(after: slash)...].firstIndex(of: "/"),
                   filename.index(after: missing) < filename.endIndex {
                    r.pathInfo = String(filename[missing...])
                    r.filename = String(filename[..<missing])
                }
                return nil
            }
        }
        return nil
    }

    /// Whether `path` has two slashes in a row: a byte scan (`String.contains` of a
    /// string goes through the regex machinery, a cost on every request).
    static func hasDoubledSlash(_ path: String) -> Bool {
        var previous: UInt8 = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/"), previous == byte { return true }
            previous = byte
        }
        return false
    }

    /// `path` with each run of slashes made one.
    static func collapsingSlashes(_ path: String) -> String {
        var out = ""
        out.reserveCapacity(path.utf8.count)
        var previous: Character? = nil
        for c in path where !(c == "/" && previous == "/") {
            out.append(c)
            previous = c
        }
        return out
    }

    /// `Options FollowSymLinks` and `SymLinksIfOwnerMatch`: without them, no component of
    /// the path below DocumentRoot (or the Alias target) may be a symbolic link, as
    /// Apache's directory walk checks each one.
    private func symlinksAllowed(_ r: Request) -> Bool {
        let options = r.config(CoreDirConfig.self).effectiveOptions
        guard !options.contains(.followSymLinks), let filename = r.filename else { return true }
        let root = r.serverConfig(CoreServerConfig.self).documentRoot ?? ""
        var path = filename.hasPrefix(root + "/") ? root : ""
        let rest = filename.dropFirst(path.count).split(separator: "/")
        for component in rest {
            path += "/" + component
            guard let link = try? r.lookUp(path, followSymlinks: false, in: context.fileCache), link.isSymbolicLink else {
                if r.wouldBlock { return false }
                continue
            }
            guard options.contains(.symLinksIfOwnerMatch), let target = try? r.lookUp(path, in: context.fileCache),
                  link.userID == target.userID else {
                return false
            }
        }
        return true
    }

    private func trace(_ r: Request) -> Response {
        guard context.config.main.server[CoreServerConfig.self].traceEnabled else {
            return error(.methodNotAllowed, r, allow: "")
        }
        // Apache refuses a TRACE that carries a body (413) rather than echo it.
        if r.head.framing != .none {
            r.body?.abandon()
            return error(.requestEntityTooLarge, r)
        }
        // Apache echoes the request head as received.
        let head = Array(UnsafeRawBufferPointer(rebasing: r.bytes[0..<r.headLength]))
        return Response(status: .ok, headers: [("Content-Type", "message/http")], body: .bytes(head))
    }

    /// Apache's error response for `status`, with its HTML body.
    public func error(_ status: HTTPStatus, _ r: Request, allow: String? = nil, location: String? = nil) -> Response {
        Self.errorResponse(status, r, context, allow: allow, location: location)
    }

    static func errorResponse(_ status: HTTPStatus, _ r: Request, _ context: ServerContext, allow: String? = nil, location: String? = nil) -> Response {
        var headers: [(name: String, value: String)] = []
        if let location { headers.append(("Location", location)) }
        if let allow { headers.append(("Allow", allow)) }
        let body = ErrorPages.body(status, method: r.method, location: location, signature: signature(r, context),
                                   serverAdmin: r.serverConfig(CoreServerConfig.self).serverAdmin ?? "[no address given]")
        headers.append(("Content-Type", "text/html; charset=iso-8859-1"))
        headers += r.errorHeaders
        var response = Response(status: status, headers: headers, body: .bytes(Array(body.utf8)))
        response.isErrorResponse = true
        return response
    }

    /// `ServerSignature On`: the `<address>` line under error pages.
    static func signature(_ r: Request, _ context: ServerContext) -> String? {
        guard let setting = r.config(CoreDirConfig.self).serverSignature, setting != "Off" else { return nil }
        let core = r.serverConfig(CoreServerConfig.self)
        let name = core.serverName.map { ServerContext.hostPart($0) } ?? r.hostName ?? "localhost"
        return "<address>\(context.serverBanner) Server at \(ErrorPages.escape(name)) Port \(r.local.port)</address>\n"
    }

    /// `ErrorDocument`: a local URL answered in place of the error (its status kept), a
    /// full URL as a 302 redirect, or a text message.
    private func errorDocument(for response: Response, _ r: Request) -> Response {
        guard let document = r.config(CoreDirConfig.self).errorDocuments[response.status.code], r.originalStatus == nil else {
            return response
        }
        if document.hasPrefix("http://") || document.hasPrefix("https://") {
            response.discard()
            return error(.found, r, location: document)
        }
        if document.hasPrefix("/") {
            guard let target = r.redirected(to: document, keepingQuery: false) else { return response }
            target.originalStatus = response.status
            target.redirectedFrom = r
            var answer = process(target)
            if answer.status == .ok {
                response.discard()
                answer.status = response.status
                // Apache's internal redirect keeps `err_headers_out`: a custom 401 page
                // still carries its challenge.
                answer.headers += r.errorHeaders
                // Apache's `%u` is the final request's user: the error document's (none
                // unless its own location authenticates), not the refused one's.
                r.user = target.user
                return answer
            }
            answer.discard()
            return response
        }
        response.discard()
        var text = document
        if text.hasPrefix("\"") { text.removeFirst() }
        var message = Response(status: response.status, headers: r.errorHeaders + [("Content-Type", "text/html; charset=iso-8859-1")], body: .bytes(Array(text.utf8)))
        message.isErrorResponse = true
        return message
    }
}
