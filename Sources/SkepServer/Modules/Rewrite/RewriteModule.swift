import SkepConfig
import SkepHTTP
import SkepSystem

/// Apache's mod_rewrite: `RewriteRule`s (with their `RewriteCond`s) rewrite the URL in
/// server context, before any other module maps it (the translate hook runs first), and
/// in per-directory context (`<Directory>`, `.htaccess`), after mapping, with the
/// directory stripped and an internal redirect to the result (the fixup hook runs
/// first). `RewriteMap` lookups are `RewriteMaps`'.
public struct RewriteModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "rewrite_module", sourceName: "mod_rewrite.c", directives: [
        DirectiveSpec("RewriteEngine", .flag, .anywhere, help: "On or Off to enable or disable (default) the whole rewriting engine") { d, scope throws(ConfigError) in
            let on = d.arguments[0].lowercased() == "on"
            if isServerCommand(scope) {
                touchServer(&scope)
                scope.server[RewriteServerConfig.self].engineOn = on
                scope.server[RewriteServerConfig.self].engineSet = true
            }
            touchDirectory(&scope)
            scope.directory[RewriteDirConfig.self].engineOn = on
            scope.directory[RewriteDirConfig.self].engineSet = true
        },
        DirectiveSpec("RewriteOptions", .iterate, .anywhere, help: "List of option strings to set") { d, scope throws(ConfigError) in
            var options: RewriteOptions = []
            for word in d.arguments {
                if word.lowercased().hasPrefix("maxredirects=") {
                    scope.warnings.append(d.warning("AH00664: RewriteOptions: MaxRedirects option has been removed in favor of the global LimitInternalRecursion directive and will be ignored."))
                    continue
                }
                guard let option = RewriteOptions.named(word) else { throw d.error("RewriteOptions: unknown option '\(word)'") }
                options.insert(option)
            }
            if isServerCommand(scope) {
                touchServer(&scope)
                scope.server[RewriteServerConfig.self].options.formUnion(options)
                scope.server[RewriteServerConfig.self].optionsSet = true
                // The same options decide whether a virtual host sees the main server's maps.
                scope.server[RewriteMapConfig.self].setInheritance(scope.server[RewriteServerConfig.self].options)
            }
            touchDirectory(&scope)
            scope.directory[RewriteDirConfig.self].options.formUnion(options)
            scope.directory[RewriteDirConfig.self].optionsSet = true
        },
        DirectiveSpec("RewriteBase", .take1, .anywhere, help: "the base URL of the per-directory context") { d, scope throws(ConfigError) in
            guard !isServerCommand(scope) else { throw d.error("RewriteBase: only valid in per-directory config files") }
            try refuseOutsideDirectory(d, scope)
            let base = d.arguments[0]
            guard !base.isEmpty else { throw d.error("RewriteBase: empty URL not allowed") }
            guard base.hasPrefix("/") else { throw d.error("RewriteBase: argument is not a valid URL") }
            touchDirectory(&scope)
            scope.directory[RewriteDirConfig.self].baseURL = base
            scope.directory[RewriteDirConfig.self].baseURLSet = true
        },
        DirectiveSpec("RewriteCond", .raw, .anywhere, help: "an input string and a to be applied regexp-pattern") { d, scope throws(ConfigError) in
            let condition: RewriteCondition
            do {
                condition = try RewriteParser.condition(argumentText(d))
            } catch {
                throw d.error("RewriteCond: \(error)")
            }
            if isServerCommand(scope) {
                touchServer(&scope)
                scope.server[RewriteServerConfig.self].pendingConditions.append(condition)
            } else {
                try refuseOutsideDirectory(d, scope)
                touchDirectory(&scope)
                scope.directory[RewriteDirConfig.self].pendingConditions.append(condition)
            }
        },
        DirectiveSpec("RewriteRule", .raw, .anywhere, help: "an URL-applied regexp-pattern and a substitution URL") { d, scope throws(ConfigError) in
            var rule: RewriteRuleEntry
            do {
                rule = try RewriteParser.rule(argumentText(d))
            } catch {
                throw d.error("RewriteRule: \(error)")
            }
            // The conditions written since the last rule belong to this one.
            if isServerCommand(scope) {
                touchServer(&scope)
                rule.conditions = scope.server[RewriteServerConfig.self].pendingConditions
                scope.server[RewriteServerConfig.self].pendingConditions = []
                scope.server[RewriteServerConfig.self].rules.append(rule)
            } else {
                try refuseOutsideDirectory(d, scope)
                touchDirectory(&scope)
                rule.conditions = scope.directory[RewriteDirConfig.self].pendingConditions
                scope.directory[RewriteDirConfig.self].pendingConditions = []
                scope.directory[RewriteDirConfig.self].rules.append(rule)
            }
        },
    ] + RewriteMaps.directives, overrides: [
        "RewriteEngine": .fileInfo, "RewriteOptions": .fileInfo, "RewriteBase": .fileInfo,
        "RewriteCond": .fileInfo, "RewriteRule": .fileInfo,
    ])

    /// Notes between the rule engine and the later phases.
    static let forcedTypeNote = "rewrite-forced-mimetype"
    static let forcedHandlerNote = "rewrite-forced-handler"
    static let uriReducedNote = "mod_rewrite_uri_reduced"
    /// Set when an `END` rule applied; carried over rewrite's internal redirects (Apache
    /// keeps it in the request pool, which its internal redirects share).
    static let endNote = "rewrite-end"
    /// The `Set-Cookie` values `CO=` made, for a successful response.
    static let cookiesNote = "rewrite-cookies"

    public init(config: ServerConfig) throws {
        try RewriteMaps.prepare(config)
    }

    /// Apache's `cmd->path == NULL`: outside any per-directory section.
    static func isServerCommand(_ scope: DirectiveScope) -> Bool {
        scope.path == nil && !scope.context.isDisjoint(with: .server)
    }

    /// Marks a record written inside `<VirtualHost>` as the host's own (Apache merges the
    /// main server's into it even when the main server has none).
    static func touchServer(_ scope: inout DirectiveScope) {
        guard scope.context.contains(.virtualHost) else { return }
        scope.server[RewriteServerConfig.self].isVirtualHostRecord = true
        scope.server[RewriteMapConfig.self].writtenInVirtualHost = true
    }

    /// Records the section's directory (`config_perdir_create`'s `path`) in its record.
    static func touchDirectory(_ scope: inout DirectiveScope) {
        guard !isServerCommand(scope), let path = scope.path else { return }
        scope.directory[RewriteDirConfig.self].directory = path.hasSuffix("/") ? path : path + "/"
    }

    /// Rules in `<Location>` or `<Files>`, where Apache strips the section's URL or name
    /// as if it were a directory, are not supported: refused rather than ignored.
    static func refuseOutsideDirectory(_ d: Directive, _ scope: DirectiveScope) throws(ConfigError) {
        guard scope.path == nil else { return }
        throw d.error("\(d.name) in <Location> or <Files> is not supported by Skep: write it in <Directory> or at server level")
    }

    /// The text of a RAW_ARGS directive after its name, as Apache hands it.
    static func argumentText(_ d: Directive) -> [UInt8] {
        var text = Substring(d.text)
        while let c = text.first, c == " " || c == "\t" { text = text.dropFirst() }
        text = text.drop { $0 != " " && $0 != "\t" }
        return Array(text.utf8)
    }

    // MARK: Server context

    /// Apache's `hook_uri2file`.
    public func translate(_ r: Request, _ server: ServerContext) -> HookResult {
        let dconf = r.config(RewriteDirConfig.self)
        guard dconf.engineOn else { return .declined }
        let conf = r.serverConfig(RewriteServerConfig.self)
        let log = RewriteLog(r, server)
        if r.notes[Self.endNote] != nil {
            log(8, nil, "Declining, no further rewriting due to END flag")
            return .declined
        }
        if !dconf.options.contains(.allowAnyURI), r.head.targetForm == .asterisk || r.uriBytes.first != UInt8(ascii: "/") {
            log(8, nil, "Declining, request-URI '\(r.uri)' is not a URL-path. Consult the manual entry for the RewriteOptions directive for options and caveats about matching other strings.")
            return .declined
        }
        // SCRIPT_URL and SCRIPT_URI, kept from the first request over internal redirects.
        let scriptURL = r.environment["REDIRECT_SCRIPT_URL"] ?? r.uri
        r.environment["SCRIPT_URL"] = scriptURL
        let port = r.serverPortForURL
        r.environment["SCRIPT_URI"] = r.scheme + "://" + r.serverNameForURL + (port == r.defaultPort ? "" : ":\(port)") + scriptURL

        let originalQuery = r.query
        var run = RewriteRun(r, server, perdir: nil, filename: r.filename.map { Array($0.utf8) } ?? r.uriBytes, log: log)
        if r.filename == nil {
            log(2, nil, "init rewrite engine with requested uri \(r.uri)")
        } else {
            log(2, nil, "init rewrite engine with passed filename \(r.filename ?? ""). Original uri = \(r.uri)")
        }
        let outcome = run.apply(conf.rules(for: r.server))
        if run.ended { r.notes[Self.endNote] = "1" }
        if r.wouldBlock { return .declined }
        switch outcome {
        case .unchanged:
            log(1, nil, "pass through \(run.filename.text), filename \(r.filename ?? "n/a")")
            return .declined
        case .status(let code):
            return Self.fail(code, r, server)
        case .changed(let noEscape):
            return finishServerContext(&run, noEscape: noEscape, originalQuery: originalQuery, r, server)
        }
    }

    private func finishServerContext(_ run: inout RewriteRun, noEscape: Bool, originalQuery: String?, _ r: Request, _ server: ServerContext) -> HookResult {
        let log = run.log
        let scheme = RewriteRun.absoluteURIScheme(run.filename)
        let toProxy = run.filename.count > 6 && run.filename.starts(with: RewriteRun.proxyPrefix)
        if let args = run.args, !(scheme.length > 0 && !noEscape), args.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            server.errorLog.log(.error, module: "rewrite", client: r.client, "AH10410: Rewritten query string contains control characters or spaces")
            return .fail(.forbidden)
        }
        if toProxy {
            return proxy(&run, noEscape: noEscape, addPathInfo: true, r, server)
        }
        if scheme.length > 0 {
            return .respond(redirect(&run, scheme: scheme.length, noEscape: noEscape, originalQuery: originalQuery, r, server))
        }
        setQuery(run.args, r)
        if run.filename.count > 12, run.filename.starts(with: Array("passthrough:".utf8)) {
            // [PT]: the new URL goes on to the other translate hooks (mod_alias...) as
            // if the client had asked for it.
            let uri = Array(run.filename.dropFirst(12))
            r.uri = uri.text
            r.uriBytes = uri
            r.filename = nil
            return .declined
        }
        log(2, nil, "local path result: \(run.filename.text)")
        guard run.filename.first == UInt8(ascii: "/") else { return .fail(.badRequest) }
        let conf = r.serverConfig(RewriteServerConfig.self)
        var filename = run.filename
        let reduced = conf.options.contains(.legacyPrefixDocRoot) ? false : r.notes[Self.uriReducedNote] != nil
        if reduced || !run.prefixStat(filename, lastSubstitution: conf.options.contains(.unsafePrefixStat) ? nil : run.lastSubstitution) {
            // Not an existing path of the file system: a URL under DocumentRoot (ap_core_translate).
            var root = r.serverConfig(CoreServerConfig.self).documentRoot ?? server.config.serverRoot + "/htdocs"
            if root.hasSuffix("/") { root.removeLast() }
            filename = Array(root.utf8) + filename
            log(2, nil, "prefixed with document_root to \(filename.text)")
        }
        if r.wouldBlock { return .declined }
        r.filename = filename.text
        log(1, nil, "go-ahead with \(filename.text) [OK]")
        return .handled
    }

    /// `[P]`: hands the URL to mod_proxy as `ProxyPass` does (its note and handler); a
    /// scheme no proxy module serves answers 500 there, as Apache without the scheme's
    /// handler (AH01144).
    private func proxy(_ run: inout RewriteRun, noEscape: Bool, addPathInfo: Bool, _ r: Request, _ server: ServerContext) -> HookResult {
        guard server.config.isActive(ProxyModule.descriptor.name) else {
            server.errorLog.log(.error, module: "rewrite", client: r.client,
                                "AH00669: attempt to make remote request from mod_rewrite without proxy enabled: \(run.filename.text)")
            return .fail(.forbidden)
        }
        var url = Array(run.filename.dropFirst(RewriteRun.proxyPrefix.count))
        if addPathInfo { url += run.pathInfo }
        if noEscape, let args = run.args { url += [UInt8(ascii: "?")] + args }
        setQuery(run.args, r)
        r.notes[ProxyModule.targetNote] = url.text
        r.filename = "proxy:" + url.text
        r.handler = ProxyModule.handlerName
        run.log(1, run.perdir, "go-ahead with proxy request proxy:\(url.text) [OK]")
        return .handled
    }

    /// An external redirect to the absolute URL the rules produced.
    private func redirect(_ run: inout RewriteRun, scheme: Int, noEscape: Bool, originalQuery: String?, _ r: Request, _ server: ServerContext) -> Response {
        var location = run.filename
        if !noEscape {
            run.log(1, run.perdir, "escaping \(location.text) for redirect")
            location = RewriteRun.escapeAbsoluteURI(location, schemeLength: scheme)
        }
        if let args = run.args {
            let keep = noEscape || originalQuery.map { Array($0.utf8) == args } == true
            let written = keep ? args : RewriteRun.escapeURI(args)
            location += [UInt8(ascii: "?")] + written
            run.log(1, run.perdir, "\(keep ? "copying" : "escaping") \(args.text) to query string for redirect \(keep ? "" : written.text)")
        }
        let code = (300...399).contains(run.status) ? run.status : 302
        run.log(1, run.perdir, "redirect to \(location.text) [REDIRECT/\(code)]")
        return RequestProcessor(context: server).error(HTTPStatus(code: code), r, location: location.text)
    }

    /// A status a rule answers with (`F`, `G`, `R=4xx`, a loop): as Apache's `ap_die`,
    /// a 405 names the methods the request may use, none but TRACE before a handler.
    static func fail(_ code: Int, _ r: Request, _ server: ServerContext) -> HookResult {
        guard code == 405 else { return .fail(HTTPStatus(code: code)) }
        let trace = server.config.main.server[CoreServerConfig.self].traceEnabled
        return .respond(RequestProcessor(context: server).error(HTTPStatus(code: code), r, allow: trace ? "TRACE" : ""))
    }

    /// The query a rule set, as the request's (`r->args`).
    private func setQuery(_ args: [UInt8]?, _ r: Request) {
        let query = args.map { $0.text }
        guard query != r.query else { return }
        r.internalQuery = query
        r.queryDropped = query == nil
    }

    // MARK: Per-directory context

    /// Apache's `hook_fixup` (hooked first among the fixups): the directory's rules, and
    /// an internal redirect to a changed local result. `T=` and `H=` are applied last,
    /// by `RewriteForcedTypeModule`.
    public func fixup(_ r: Request, _ server: ServerContext) -> HookResult {
        let dconf = r.config(RewriteDirConfig.self)
        guard dconf.engineOn, let directory = dconf.directory else { return .declined }
        let isProxy = r.filename?.hasPrefix("proxy:") ?? false
        // The directory itself without its slash: mod_dir is to redirect first.
        if !isProxy, !dconf.options.contains(.allowNoSlash), let filename = r.filename, filename + "/" == directory {
            return .declined
        }
        let log = RewriteLog(r, server)
        if r.notes[Self.endNote] != nil {
            log(8, directory, "Declining, no further rewriting due to END flag")
            return .declined
        }
        let options = r.config(CoreDirConfig.self).effectiveOptions
        guard options.contains(.followSymLinks) || options.contains(.symLinksIfOwnerMatch) else {
            server.errorLog.log(.error, module: "rewrite", client: r.client,
                                "AH00670: Options FollowSymLinks and SymLinksIfOwnerMatch are both off, so the RewriteRule directive is also forbidden due to its similar ability to circumvent directory restrictions : \(r.filename ?? r.uri)")
            return .fail(.forbidden)
        }
        let originalFilename = r.filename
        let originalQuery = r.query
        if r.filename == nil { log(2, directory, "init rewrite engine with requested uri \(r.uri)") }
        var run = RewriteRun(r, server, perdir: directory, filename: r.filename.map { Array($0.utf8) } ?? r.uriBytes, log: log)
        let outcome = run.apply(dconf.rules)
        if run.ended { r.notes[Self.endNote] = "1" }
        if r.wouldBlock { return .declined }
        let noEscape: Bool
        switch outcome {
        case .unchanged:
            log(1, directory, "pass through \(run.filename.text), filename \(originalFilename ?? "n/a")")
            return .declined
        case .status(let code):
            return Self.fail(code, r, server)
        case .changed(let flag):
            noEscape = flag
        }
        let scheme = RewriteRun.absoluteURIScheme(run.filename)
        if let args = run.args, !(scheme.length > 0 && !noEscape), args.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            server.errorLog.log(.error, module: "rewrite", client: r.client, "AH10411: Rewritten query string contains control characters or spaces")
            return .fail(.forbidden)
        }
        r.pathInfo = run.pathInfo.text
        if run.filename.count > 6, run.filename.starts(with: RewriteRun.proxyPrefix) {
            // The path info is in the URL already (per-directory rules match with it).
            return proxy(&run, noEscape: noEscape, addPathInfo: false, r, server)
        }
        if scheme.length > 0 {
            // A RewriteBase replaces the directory in a redirect built from it.
            if let base = dconf.baseURL, let slash = run.filename[scheme.length...].firstIndex(of: UInt8(ascii: "/")), slash + 1 < run.filename.count {
                log(2, directory, "trying to replace prefix \(directory) with \(base)")
                let path = Array(run.filename[(slash + 1)...])
                let replaced = run.substitutePrefix(path, match: String(directory.dropFirst(directory.hasPrefix("/") ? 1 : 0)), subst: String(base.dropFirst()))
                if replaced != path { run.filename = Array(run.filename[...slash]) + replaced }
            }
            return .respond(redirect(&run, scheme: scheme.length, noEscape: noEscape, originalQuery: originalQuery, r, server))
        }
        if run.filename.count > 12, run.filename.starts(with: Array("passthrough:".utf8)) {
            run.filename.removeFirst(12)
        }
        log(2, nil, "local path result: \(run.filename.text)")
        guard run.filename.first == UInt8(ascii: "/") else { return .fail(.badRequest) }
        if let originalFilename, run.filename == Array(originalFilename.utf8) {
            log(1, directory, "initial URL equal rewritten URL: \(run.filename.text) [IGNORING REWRITE]")
            setQuery(run.args, r)
            return .declined
        }
        let before = run.filename
        var target = run.filename
        if let base = dconf.baseURL {
            log(2, directory, "trying to replace prefix \(directory) with \(base)")
            target = run.substitutePrefix(target, match: directory, subst: base)
        } else {
            var root = Array((r.serverConfig(CoreServerConfig.self).documentRoot ?? server.config.serverRoot + "/htdocs").utf8)
            if root.last == UInt8(ascii: "/") { root.removeLast() }
            if target.count > root.count, target.starts(with: root), target[root.count] == UInt8(ascii: "/") {
                let stripped = Array(target[root.count...])
                log(2, directory, "strip document_root prefix: \(target.text) -> \(stripped.text)")
                target = stripped
            }
        }
        if target == before, !dconf.options.contains(.ignoreContextInfo), let contextRoot = r.contextDocumentRoot, let prefix = r.contextPrefix {
            log(2, directory, "trying to replace context docroot \(contextRoot) with context prefix \(prefix)")
            target = run.substitutePrefix(target, match: contextRoot, subst: prefix)
        }
        // The request being replaced carries the rewritten query (`REDIRECT_QUERY_STRING`).
        setQuery(run.args, r)
        log(1, directory, "internal redirect with \(target.text) [INTERNAL REDIRECT]")
        // As Apache, the redirect is the handler's: the fixups after this one still run
        // (a `RedirectMatch 404` in the same .htaccess answers first).
        var url = target
        if let query = run.args { url += [UInt8(ascii: "?")] + query }
        r.notes[Self.redirectNote] = url.text
        r.handler = Self.redirectHandler
        return .declined
    }

    /// Apache's `REWRITE_REDIRECT_HANDLER_NAME`.
    static let redirectHandler = "redirect-handler"
    /// The URL (with its query) a per-directory rule redirects to, for `redirectHandler`.
    static let redirectNote = "rewrite-redirect"

    public var handlers: [String: Handler] {
        [Self.redirectHandler: { r, server in
            guard let url = r.notes[Self.redirectNote] else { return RequestProcessor(context: server).error(.internalServerError, r) }
            return Self.internalRedirect(to: url, r, server)
        }]
    }

    /// The redirect runs the new request's phases, which stop for a worker themselves
    /// where they would block.
    public var nonBlockingHandlers: Set<String> { [Self.redirectHandler] }

    /// Apache's `handler_redirect`: `ap_internal_redirect` to the rewritten URL, the
    /// request's variables passed on as `REDIRECT_*`; `LimitInternalRecursion` stops a loop.
    private static func internalRedirect(to url: String, _ r: Request, _ server: ServerContext) -> Response {
        guard let target = r.redirected(to: url, keepingQuery: false) else {
            return RequestProcessor(context: server).error(.badRequest, r)
        }
        target.environment = Self.redirectEnvironment(r.environment)
        target.redirectedFrom = r
        target.errorHeaders = r.errorHeaders
        for name in [endNote, cookiesNote] { if let value = r.notes[name] { target.notes[name] = value } }
        return RequestProcessor(context: server).process(target)
    }

    /// Apache's `rename_original_env`: every variable as `REDIRECT_` + its name.
    static func redirectEnvironment(_ environment: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        out.reserveCapacity(environment.count)
        for (name, value) in environment { out["REDIRECT_" + name] = value }
        return out
    }

    // MARK: After the handler

    public func insertFilters(_ r: Request, _ server: ServerContext, into chain: inout OutputFilterChain) {
        if r.notes[Self.cookiesNote] != nil { chain.add(RewriteCookieFilter()) }
    }
}

/// `CO=` cookies on a successful response (an error page gets them from the request's
/// error headers, as Apache's `err_headers_out`).
struct RewriteCookieFilter: OutputFilter {
    var name: String { "REWRITE_COOKIES" }
    var stage: OutputFilterStage { .contentSet }

    func filter(_ response: inout Response, _ r: Request, _ context: ServerContext) {
        guard let cookies = r.notes[RewriteModule.cookiesNote] else { return }
        for cookie in cookies.split(separator: "\n") { response.headers.append(("Set-Cookie", String(cookie))) }
    }
}

/// The second half of mod_rewrite's fixups (Apache's `hook_mimetype`, hooked
/// `APR_HOOK_LAST`): the type and handler `T=` and `H=` chose replace what mod_mime
/// set. A separate entry of `ServerModules` so it runs after every other fixup; it has
/// mod_rewrite's name and no directives.
public struct RewriteForcedTypeModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "rewrite_module", sourceName: "mod_rewrite.c")

    public init(config: ServerConfig) {}

    public func fixup(_ r: Request, _ server: ServerContext) -> HookResult {
        if let type = r.notes[RewriteModule.forcedTypeNote], !type.isEmpty {
            RewriteLog(r, server)(1, nil, "force filename \(r.filename ?? "") to have MIME-type '\(type)'")
            r.contentType = type
        }
        if let handler = r.notes[RewriteModule.forcedHandlerNote], !handler.isEmpty {
            RewriteLog(r, server)(1, nil, "force filename \(r.filename ?? "") to have the Content-handler '\(handler)'")
            r.handler = handler
        }
        return .declined
    }
}
