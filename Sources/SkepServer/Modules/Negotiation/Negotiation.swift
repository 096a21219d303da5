import SkepConfig
import SkepHTTP
import SkepSystem

/// The request-side steps of mod_negotiation: finding the directory and name MultiViews
/// negotiates over, reading the directory into variants (Apache's `read_types_multi`),
/// and turning `VariantSelection`'s answer into a response.
enum Negotiation {
    /// The type Apache gives a file that only a handler knows (`CGI_MAGIC_TYPE`).
    static let cgiMagicType = "application/x-httpd-cgi"
    /// A type map by type (`MAP_FILE_MAGIC_TYPE`) and by handler name.
    static let mapType = "application/x-type-map"
    static let typeMapHandler = "type-map"

    /// Where a negotiation happens: the directory (no trailing slash), the name the
    /// request asked for in it, the path info after that name, and the URL of the directory.
    struct Place {
        var directory: String
        var base: String
        var pathInfo: String
        var uriDirectory: String
    }

    /// The directory that holds the missing name: the deepest existing directory above
    /// the filename, with what follows the name as path info (Apache's directory walk
    /// stops at the first missing component). Nil when the URL and filename disagree.
    static func locate(filename: String, uri: String, _ r: Request, _ server: ServerContext) -> Place? {
        var candidate = Substring(filename)
        while let slash = candidate.lastIndex(of: "/") {
            let parent = candidate[..<slash]
            let base = candidate[candidate.index(after: slash)...]
            let pathInfo = filename.dropFirst(candidate.count)
            if let st = try? r.lookUp(parent.isEmpty ? "/" : String(parent), in: server.fileCache) {
                guard st.isDirectory, !base.isEmpty else { return nil }
                // The URL of the directory: the URL without the path info and the name.
                let uriName = uri.dropLast(pathInfo.count)
                guard uri.hasSuffix(pathInfo), let uriSlash = uriName.lastIndex(of: "/") else { return nil }
                return Place(directory: String(parent), base: String(base), pathInfo: String(pathInfo),
                             uriDirectory: String(uriName[...uriSlash]))
            }
            candidate = parent
        }
        return nil
    }

    enum Scan {
        /// No name in the directory extends the requested one.
        case none
        case failed(HTTPStatus)
        /// The variants: the files, sorted, or the entries of a type map among them.
        case variants([Variant])
    }

    /// Apache's `read_types_multi`: each file named `base.` something that mod_mime
    /// labels with a type and whose other name parts match the request's, as a
    /// variant; a type map among them replaces the list with its own.
    static func scanDirectory(_ place: Place, _ r: Request, _ server: ServerContext) -> Scan {
        let entries: [Directory.Entry]
        do {
            entries = try Directory.entries(at: place.directory.isEmpty ? "/" : place.directory)
        } catch {
            server.errorLog.log(.error, module: "negotiation", client: r.client, "AH00686: cannot read directory for multi: \(place.directory)/")
            return .failed(.forbidden)
        }
        guard let mime = server.modules.lazy.compactMap({ $0 as? MimeModule }).first else {
            return entries.contains { $0.name.hasPrefix(place.base + ".") } ? .failed(.notFound) : .none
        }
        let requestParts = place.base.split(separator: ".", omittingEmptySubsequences: false)
        let walk = server.sectionWalk(for: r.server)
        var anyMatch = false
        var variants: [Variant] = []
        for entry in entries where entry.name.utf8.starts(with: place.base.utf8) {
            guard entry.name.utf8.dropFirst(place.base.utf8.count).first == UInt8(ascii: "."), entry.type != .directory else { continue }
            anyMatch = true
            let path = place.directory + "/" + entry.name
            guard let st = try? r.lookUp(path, in: server.fileCache), st.isRegularFile else { continue }
            // The file's own per-directory record (a <Files> section may label it).
            let uri = place.uriDirectory + entry.name
            // The request's own walk read this directory's `.htaccess` already: a failure
            // here is a file changed since, and the variant is passed over.
            guard let config = try? walk.merge(filename: path, isDirectory: false, uri: uri, uriBytes: Array(uri.utf8), for: r),
                  !r.wouldBlock else { continue }
            let mimeConfig = config[MimeDirConfig.self]
            let labels = mime.resolve(filename: path, config: mimeConfig)
            let setHandler = config[CoreDirConfig.self].handler.flatMap { $0.isEmpty ? nil : $0 }
            let handler = setHandler ?? labels.handler
            var contentType = labels.contentType
            if handler != nil && contentType == nil { contentType = cgiMagicType }
            guard let exceptions = mime.multiviewsExceptions(name: entry.name, config: mimeConfig),
                  exceptionsMatch(exceptions, requestParts), let contentType,
                  variantAllowed(path: path, uri: uri, status: st, config: config, r, server) else { continue }
            if contentType == mapType || handler == typeMapHandler {
                switch readTypeMap(path, r, server) {
                case .success(let mapped): return .variants(mapped)
                case .failure(let status): return .failed(status.status)
                }
            }
            var variant = Variant(fileName: entry.name)
            // Apache's sub-request ran fix_encoding: the variant lists the client's spelling.
            variant.encoding = labels.contentEncoding.map { NegotiationModule.clientSpelling(of: $0, acceptEncoding: r.header("Accept-Encoding")) }
            variant.languages = labels.contentLanguage.map { $0.split(separator: ",").map { $0.lowercased() } } ?? []
            variant.setType(AcceptHeader.parseEntry(contentType))
            variant.bytes = st.size
            variant.hasHandler = handler != nil
            variants.append(variant)
        }
        if variants.isEmpty {
            guard anyMatch else { return .none }
            server.errorLog.log(.error, module: "negotiation", client: r.client,
                                "AH00687: Negotiation: discovered file(s) matching request: \(place.directory)/\(place.base) (None could be negotiated).")
            return .failed(.notFound)
        }
        // Apache's canonical order: source quality, then name (byte order).
        variants.sort { a, b in
            if a.sourceQuality != b.sourceQuality { return a.sourceQuality > b.sourceQuality }
            return a.fileName.utf8.lexicographicallyPrecedes(b.fileName.utf8)
        }
        return .variants(variants)
    }

    /// A status as an `Error`, for `Result`.
    struct Failure: Error { var status: HTTPStatus }

    /// Apache's `read_type_map`: the variants of the map at `path`, their lengths
    /// looked up next to it when the map gives none; 404/403 when it cannot be read,
    /// 500 when a field has no ':' or no value.
    static func readTypeMap(_ path: String, _ r: Request, _ server: ServerContext) -> Result<[Variant], Failure> {
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch {
            server.errorLog.log(.error, module: "negotiation", client: r.client, "AH00683: cannot access type map file: \(path)")
            let missing = (error as? SystemError).map { $0.errno == .noSuchFileOrDirectory || $0.errno == .notDirectory } ?? false
            return .failure(Failure(status: missing ? .notFound : .forbidden))
        }
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let parsed = TypeMap.parse(bytes, mapName: String(path[slash...]), mapPath: path)
        for warning in parsed.warnings { server.errorLog.log(.error, module: "negotiation", client: r.client, warning) }
        if let error = parsed.error {
            server.errorLog.log(.error, module: "negotiation", client: r.client, error.message)
            return .failure(Failure(status: .internalServerError))
        }
        let directory = path[..<slash]
        var variants = parsed.variants
        for k in variants.indices where variants[k].bytes < 0 && variants[k].body == nil {
            if let st = try? r.lookUp(directory + variants[k].fileName, in: server.fileCache) { variants[k].bytes = st.size }
        }
        return .success(variants)
    }

    /// Apache looks each variant up as a sub-request and drops those whose access checks
    /// fail (`<Files "*.fr.html"> Require all denied` leaves the other languages): the
    /// access, authentication and authorization phases, run for the variant's file and URL.
    static func variantAllowed(path: String, uri: String, status: FileStatus, config: ConfigVector, _ r: Request, _ server: ServerContext) -> Bool {
        guard let sub = r.redirected(to: "/") else { return false }
        sub.uri = uri
        sub.uriBytes = Array(uri.utf8)
        sub.filename = path
        sub.fileStatus = status
        sub.directory = config
        switch AccessPhases(context: server).run(sub) {
        case .declined, .handled: return true
        case .respond, .fail: return false
        }
    }

    /// Whether the parts mod_mime did not recognise are, in order, parts of the
    /// requested name: `index.html.foo` serves `index.foo` and `index.html.foo`, never
    /// `index.foo.html`.
    static func exceptionsMatch(_ exceptions: [String], _ requestParts: [Substring]) -> Bool {
        var remaining = exceptions[...]
        for part in requestParts {
            guard let next = remaining.first else { break }
            if part.isEmpty { break }
            if part == next { remaining = remaining.dropFirst() }
        }
        return remaining.isEmpty
    }

    /// Whether mod_dir's look-up of `index` in `directory` would be answered by
    /// MultiViews: a variant is chosen, or (when it is the only DirectoryIndex name, as
    /// Apache's mod_dir then passes a 406 on) none is acceptable.
    static func negotiatesIndex(directory: String, index: String, onlyName: Bool, _ r: Request, _ server: ServerContext) -> Bool {
        guard server.config.isActive(NegotiationModule.descriptor.name),
              r.config(CoreDirConfig.self).effectiveOptions.contains(.multiViews) else { return false }
        if let run = r.listenerRun {
            run.blocked = true
            return false
        }
        var dir = directory
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        let uriDirectory = r.uri.hasSuffix("/") ? r.uri : r.uri + "/"
        let place = Place(directory: dir, base: index, pathInfo: "", uriDirectory: uriDirectory)
        guard case .variants(let variants) = scanDirectory(place, r, server) else { return false }
        let config = r.config(NegotiationDirConfig.self)
        var selection = VariantSelection(variants: variants, languagePriority: config.languagePriority, force: config.forcePriority ?? [])
        selection.run(selectionRequest(r, pathInfo: "", isMap: false))
        if case .choice = selection.outcome { return true }
        return onlyName
    }

    /// What the selection needs from the request.
    static func selectionRequest(_ r: Request, pathInfo: String, isMap: Bool) -> VariantSelection.Request {
        var request = VariantSelection.Request(accept: r.header("Accept"), acceptLanguage: r.header("Accept-Language"),
                                               acceptCharset: r.header("Accept-Charset"), acceptEncoding: r.header("Accept-Encoding"))
        request.negotiate = r.header("Negotiate")
        request.userAgent = r.header("User-Agent")
        let getOrHead = r.head.method == .get || r.head.method == .head
        request.isGetOrHead = getOrHead
        request.hasPathInfo = !pathInfo.isEmpty
        request.prefersScripts = !isMap && (!getOrHead || r.query != nil || !pathInfo.isEmpty)
        request.preferLanguage = r.environment["prefer-language"]
        request.noGzip = r.environment["no-gzip"] != nil
        request.gzipOnlyTextHTML = r.environment["gzip-only-text/html"] == "1"
        return request
    }

    /// Runs the selection for `r` and answers: the chosen variant through an internal
    /// redirect (or its inline body), or the 406/300 list.
    static func negotiate(_ variants: [Variant], place: Place, _ r: Request, _ server: ServerContext,
                          isMap: Bool = false) -> Response {
        let config = r.config(NegotiationDirConfig.self)
        var selection = VariantSelection(variants: variants, languagePriority: config.languagePriority, force: config.forcePriority ?? [])
        selection.run(selectionRequest(r, pathInfo: place.pathInfo, isMap: isMap))

        var fields: [(name: String, value: String)] = []
        if let alternates = selection.alternates { fields.append(("Alternates", alternates)) }
        if let vary = selection.vary { fields.append(("Vary", vary)) }
        if let tcn = selection.tcn { fields.append(("TCN", tcn)) }

        let processor = RequestProcessor(context: server)
        let index: Int
        switch selection.outcome {
        case .notAcceptable:
            server.errorLog.log(.error, module: "negotiation", client: r.client, "AH00690: no acceptable variant: \(r.filename ?? r.uri)")
            return listResponse(.notAcceptable, selection, fields, r, server)
        case .multipleChoices:
            return listResponse(.multipleChoices, selection, fields, r, server)
        case .choice(let k):
            index = k
        }
        let best = selection.variants[index]
        if selection.isTransparent {
            // A variant that is itself negotiated (a type map) cannot be chosen (506).
            if let mime = server.modules.lazy.compactMap({ $0 as? MimeModule }).first,
               mime.resolve(filename: best.fileName, config: r.config(MimeDirConfig.self)).handler == typeMapHandler {
                return processor.error(HTTPStatus(code: 506), r)
            }
            fields.insert(("Content-Location", escapePathSegment(best.fileName)), at: 0)
        }
        // Apache lets HTTP/1.0 caches keep nothing negotiated (`Expires` now), unless
        // `CacheNegotiatedDocs On` (or MultiViews found a single file); MultiViews loses
        // the mark in its fast redirect anyway, so only type maps show it.
        let cacheable = r.serverConfig(NegotiationServerConfig.self).cacheNegotiatedDocs ?? false
        if isMap && !cacheable && r.head.version < .http11 {
            fields.append(("Expires", HTTPDate(secondsSince1970: r.received.seconds).description))
        }
        if let body = best.body {
            return inlineBody(body, best, fields, r, server)
        }
        // A file MultiViews found is named as it is on disk, so its URL is escaped; a
        // type map's `URI:` is a URL already (Apache appends it unescaped).
        var target = isMap ? place.uriDirectory + best.fileName + place.pathInfo
            : place.uriDirectory + PathEscaping.escape(best.fileName) + PathEscaping.escape(place.pathInfo)
        if let query = r.query { target += "?" + query }
        guard let redirect = r.redirected(to: target) else { return processor.error(.internalServerError, r) }
        var response = processor.process(redirect)
        response.headers.append(contentsOf: fields)
        // The log sees the variant: MultiViews is Apache's fast redirect, which makes the
        // request the variant's (`%U` and `%f`); a type map's internal redirect leaves the
        // URL the client asked for and serves the variant's file (`%f`).
        if !isMap {
            r.uri = redirect.uri
            r.uriBytes = redirect.uriBytes
        }
        r.filename = redirect.filename
        return response
    }

    /// A type map's inline `Body:` variant, as Apache's `handle_map_file` sends it.
    static func inlineBody(_ body: [UInt8], _ best: Variant, _ fields: [(name: String, value: String)], _ r: Request, _ server: ServerContext) -> Response {
        let processor = RequestProcessor(context: server)
        guard r.head.method == .get || r.head.method == .head || r.head.method == .post else {
            // Apache's error keeps the negotiation fields (they are `err_headers_out`).
            var refusal = processor.error(.methodNotAllowed, r, allow: StaticFiles.allowedMethods(server))
            refusal.headers.append(contentsOf: fields)
            return refusal
        }
        var headers = fields
        headers.append(("Accept-Ranges", "bytes"))
        // Apache checks the conditions with no entity tag and no modification time, which
        // its checks read as "now": `If-None-Match: *` is a 304, `If-Match` a 412.
        if let failure = Conditional.evaluate(r, etag: nil, lastModified: HTTPDate(secondsSince1970: SystemClock.now().seconds)) {
            if failure == .notModified {
                var response = Response(status: .notModified, headers: headers)
                response.sendsBody = false
                return response
            }
            var refusal = processor.error(failure, r)
            refusal.headers.append(contentsOf: fields)
            return refusal
        }
        if let failure = r.discardBody() { return processor.error(failure, r) }
        if !best.mimeType.isEmpty {
            headers.append(("Content-Type", best.charset.isEmpty ? best.mimeType : best.mimeType + "; charset=" + best.charset))
        }
        if let languages = best.languageList { headers.append(("Content-Language", languages)) }
        if let encoding = best.encoding, !encoding.isEmpty { headers.append(("Content-Encoding", encoding)) }
        return Response(status: .ok, headers: headers, body: r.isHead ? .empty(length: Int64(body.count)) : .bytes(body))  // trap-safe: Int to Int64 widens
    }

    /// The 406 (or 300) page: Apache's error text and the variant list.
    static func listResponse(_ status: HTTPStatus, _ selection: VariantSelection, _ fields: [(name: String, value: String)], _ r: Request, _ server: ServerContext) -> Response {
        // An ErrorDocument page for the 406 keeps the fields, as Apache's err_headers_out.
        r.errorHeaders.append(contentsOf: fields)
        let body = ErrorPages.body(status, method: r.method, signature: RequestProcessor.signature(r, server), note: selection.variantList())
        var headers = fields
        headers.append(("Content-Type", "text/html; charset=iso-8859-1"))
        return Response(status: status, headers: headers, body: .bytes(Array(body.utf8)))
    }

    /// Apache's `ap_escape_path_segment`: as `ap_escape_uri`, and `/` and `;` too.
    static func escapePathSegment(_ name: String) -> String {
        var out = ""
        for scalar in PathEscaping.escape(name).unicodeScalars {
            switch scalar {
            case "/": out += "%2f"
            case ";": out += "%3b"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The whole of a (type map) file.
    static func readFile(_ path: String) throws -> [UInt8] {
        let file = try File.openForReading(path)
        defer { file.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try file.read(into: $0) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            // A type map is a page of text; a huge file is not one.
            if bytes.count > 1 << 20 { break }
        }
        return bytes
    }
}
