import SkepConfig
import SkepHTTP

/// Apache's mod_alias: `Alias`/`AliasMatch` map URLs outside DocumentRoot,
/// `ScriptAlias`/`ScriptAliasMatch` do the same and hand the file to mod_cgi, and
/// `Redirect`/`RedirectMatch`/`RedirectPermanent`/`RedirectTemp` answer with a redirect.
/// As in Apache, redirects are checked before aliases, each in configuration order.
public struct AliasModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "alias_module", sourceName: "mod_alias.c", directives: [
        DirectiveSpec("Alias", .take2, .server, help: "a URL path and the file-system path it maps to") { d, scope throws(ConfigError) in
            scope.server[AliasConfig.self].aliases.append(.init(pattern: .prefix(d.arguments[0]), target: scope.serverRootRelative(d.arguments[1])))
        },
        DirectiveSpec("AliasMatch", .take2, .server, help: "a regular expression and the path it maps to, with $1...$9") { d, scope throws(ConfigError) in
            scope.server[AliasConfig.self].aliases.append(.init(pattern: .regex(try compile(d, d.arguments[0])), target: d.arguments[1]))
        },
        DirectiveSpec("ScriptAlias", .take12, [.server, .location], help: "a URL path and the CGI directory it maps to") { d, scope throws(ConfigError) in
            guard d.arguments.count == 2 else {
                guard scope.context.isDisjoint(with: .server) else {
                    throw d.error("ScriptAlias must have two arguments when used globally")
                }
                // Inside <Location>: every URL of the section maps to this one path
                // (Apache's `AliasPreservePath Off`). Apache reads it as an ap_expr string;
                // a plain one is its own value, a `%{...}` variable needs the evaluator
                // Skep does not have yet.
                let target = d.arguments[0]
                guard !target.contains("%{") else {
                    throw d.error("ScriptAlias with an expression (%{...}) is not supported by Skep yet: write the path itself")
                }
                scope.directory[AliasConfig.self].locationAlias = .init(pattern: .prefix(""), target: target, handler: Self.cgiHandler)
                scope.server[AliasConfig.self].hasLocationAliases = true
                return
            }
            guard !scope.context.isDisjoint(with: .server) else {
                throw d.error("ScriptAlias cannot occur within <Location> section")
            }
            scope.server[AliasConfig.self].aliases.append(.init(pattern: .prefix(d.arguments[0]), target: scope.serverRootRelative(d.arguments[1]), handler: Self.cgiHandler))
        },
        DirectiveSpec("ScriptAliasMatch", .take2, .server, help: "a regular expression and the CGI path it maps to, with $1...$9") { d, scope throws(ConfigError) in
            scope.server[AliasConfig.self].aliases.append(.init(pattern: .regex(try compile(d, d.arguments[0])), target: d.arguments[1], handler: Self.cgiHandler))
        },
        DirectiveSpec("Redirect", .take123, .anywhere, help: "an optional status, a URL path, and the URL to redirect to") { d, scope throws(ConfigError) in
            try addRedirect(d, &scope, regex: false, defaultStatus: nil)
        },
        DirectiveSpec("RedirectMatch", .take123, .anywhere, help: "an optional status, a regular expression, and the URL") { d, scope throws(ConfigError) in
            try addRedirect(d, &scope, regex: true, defaultStatus: nil)
        },
        DirectiveSpec("RedirectPermanent", .take2, .anywhere, help: "a URL path and the URL to redirect to with 301") { d, scope throws(ConfigError) in
            try addRedirect(d, &scope, regex: false, defaultStatus: 301)
        },
        DirectiveSpec("RedirectTemp", .take2, .anywhere, help: "a URL path and the URL to redirect to with 302") { d, scope throws(ConfigError) in
            try addRedirect(d, &scope, regex: false, defaultStatus: 302)
        },
    ], overrides: [
        "Redirect": .fileInfo,
        "RedirectMatch": .fileInfo,
        "RedirectPermanent": .fileInfo,
        "RedirectTemp": .fileInfo,
    ])

    /// The handler `ScriptAlias` sets (mod_cgi's).
    static let cgiHandler = "cgi-script"
    /// mod_alias's note naming the handler a `ScriptAlias` forced (`alias-forced-type`).
    public static let forcedTypeNote = "alias-forced-type"

    public init(config: ServerConfig) {}

    public func translate(_ r: Request, _ server: ServerContext) -> HookResult {
        let config = r.serverConfig(AliasConfig.self)
        if let answer = redirect(r, server, config.redirects) { return answer }
        // Apache tries the alias of the request's <Location> sections (walked before
        // translation) before the server's.
        if config.hasLocationAliases,
           let alias = server.sectionWalk(for: r.server).locations(uri: r.uri, uriBytes: r.uriBytes)[AliasConfig.self].locationAlias {
            r.filename = ServerRoot.relative(alias.target, to: server.config.serverRoot)
            forceHandler(alias, r)
            return .handled
        }
        for alias in config.aliases {
            guard let rest = alias.pattern.match(r.uri, bytes: r.matchedPathBytes) else { continue }
            r.filename = alias.pattern.substitute(alias.target, rest)
            if case .prefix(let prefix) = alias.pattern {
                r.contextPrefix = prefix
                r.contextDocumentRoot = alias.target
            }
            forceHandler(alias, r)
            return .handled
        }
        return .declined
    }

    /// A `ScriptAlias`'s handler; mod_cgi runs the file without `Options ExecCGI` when the
    /// note says the alias forced it.
    private func forceHandler(_ alias: AliasConfig.Alias, _ r: Request) {
        guard let handler = alias.handler else { return }
        r.handler = handler
        r.notes[Self.forcedTypeNote] = handler
    }

    /// Redirects written inside `<Directory>`/`<Location>` apply once the sections are merged.
    public func fixup(_ r: Request, _ server: ServerContext) -> HookResult {
        let config = r.config(AliasConfig.self)
        if let section = config.sectionRedirect { return sectionRedirect(section, r, server) }
        return redirect(r, server, config.redirects) ?? .declined
    }

    func redirect(_ r: Request, _ server: ServerContext, _ redirects: [AliasConfig.Redirect]) -> HookResult? {
        for redirect in redirects {
            guard let rest = redirect.pattern.match(r.uri, bytes: r.matchedPathBytes) else { continue }
            guard let target = redirect.target else { return .fail(HTTPStatus(code: redirect.status)) }
            var location = redirect.pattern.redirectTarget(target, rest)
            // A `RedirectMatch` target that is a path becomes an absolute URL on this
            // server, as Apache's `ap_construct_url` makes it (AH00673).
            if location.hasPrefix("/") { location = r.selfURLPrefix + location }
            if let query = r.query, !location.contains("?") { location += "?" + query }
            return .respond(RequestProcessor(context: server).error(HTTPStatus(code: redirect.status), r, location: location))
        }
        return nil
    }

    /// Compiles an `AliasMatch`/`RedirectMatch`/`ProxyPassMatch` expression with PCRE2, as
    /// Apache's `ap_pregcomp`; a bad one is a configuration error with PCRE2's reason.
    static func compile(_ d: Directive, _ pattern: String) throws(ConfigError) -> PCRERegex {
        do {
            return try PCRERegex(pattern)
        } catch {
            throw d.error("Regular expression could not be compiled: \(pattern): \(error)")
        }
    }

    /// Apache's `add_redirect_internal`: the first word is a status when it reads as one
    /// (`permanent`, `temp`, `seeother`, `gone`, digits), so `RedirectMatch 404 /\.git`
    /// answers 404 for what matches and `Redirect /old /new` redirects with 302. In a
    /// section, `Redirect 301 /new` (or `Redirect /new`) redirects the whole section there
    /// and `Redirect gone` answers that status for it.
    static func addRedirect(_ d: Directive, _ scope: inout DirectiveScope, regex: Bool, defaultStatus: Int?) throws(ConfigError) {
        let args = d.arguments
        var status = defaultStatus ?? 302
        // 1: the word is a redirect status; -1: another status; 0: not a status.
        var grok = 1
        switch args[0].lowercased() {
        case "permanent": status = 301
        case "temp": status = 302
        case "seeother": status = 303
        case "gone":
            status = 410
            grok = -1
        default:
            let digits = args[0].prefix { $0.isASCII && $0.isNumber }
            if digits.isEmpty {
                grok = 0
            } else {
                guard digits.count <= 3, let code = Int(digits), (100...599).contains(code) else {
                    throw d.error("\(d.name): \(args[0]) is not an HTTP status")
                }
                status = code
                if !(300...399).contains(code) { grok = -1 }
            }
        }
        let second = args.count > 1 ? args[1] : nil, third = args.count > 2 ? args[2] : nil
        if third != nil, grok == 0 { throw d.error("Redirect: invalid first argument (of three)") }
        let inSection = scope.context.isDisjoint(with: .server)
        if inSection, (grok > 0 && second != nil && third == nil) || (grok == 0 && second == nil) {
            let url = grok != 0 ? second ?? "" : args[0]
            do {
                scope.directory[AliasConfig.self].sectionRedirect = .init(url: try ApStringExpr(url), status: status)
            } catch {
                throw d.error("Cannot parse redirect expression '\(url)': \(error.message)")
            }
            return
        }
        if inSection, grok < 0, second == nil {
            scope.directory[AliasConfig.self].sectionRedirect = .init(url: nil, status: status)
            return
        }
        var path = second, url = third
        if third == nil, grok == 0 {
            path = args[0]
            url = second
        }
        guard let path else { throw d.error("\(d.name): a URL path to match is missing") }
        if (300...399).contains(status) {
            guard let url else { throw d.error("URL to redirect to is missing") }
            if !regex, !url.contains("://"), !url.hasPrefix("/") { throw d.error("Redirect to non-URL") }
        } else if url != nil {
            throw d.error("Redirect URL not valid for this status")
        }
        let pattern: AliasPattern = regex ? .regex(try compile(d, path)) : .prefix(path)
        let redirect = AliasConfig.Redirect(pattern: pattern, target: url, status: status)
        if inSection {
            scope.directory[AliasConfig.self].redirects.append(redirect)
        } else {
            scope.server[AliasConfig.self].redirects.append(redirect)
        }
    }

    /// `fixup_redir` for a section's own `Redirect`: its status, with the evaluated URL as
    /// the `Location` of a redirect.
    func sectionRedirect(_ section: AliasConfig.SectionRedirect, _ r: Request, _ server: ServerContext) -> HookResult {
        let status = HTTPStatus(code: section.status)
        guard let expression = section.url else { return .fail(status) }
        guard let url = expression.evaluate(r, server) else {
            server.errorLog.log(.error, module: "alias", client: r.client, "AH02825: Can't evaluate redirect expression: \(expression.source)")
            return .fail(.internalServerError)
        }
        guard (300...399).contains(section.status) else { return .fail(status) }
        var location = url
        if location.hasPrefix("/") { location = r.selfURLPrefix + location }
        if let query = r.query, !location.contains("?") { location += "?" + query }
        return .respond(RequestProcessor(context: server).error(status, r, location: location))
    }
}

/// How an alias or redirect matches a URL path.
enum AliasPattern: Sendable {
    /// A URL-path prefix that matches whole segments (`/icons` matches `/icons/a` not `/iconsx`).
    case prefix(String)
    case regex(PCRERegex)

    /// What a URL matched: the rest after a prefix (as text and as the path's bytes), or
    /// a regex's groups.
    enum Match {
        case rest(String, bytes: ArraySlice<UInt8>)
        case groups(PCRERegex.Match)
    }

    /// The rest of the URL after the prefix, or the regex's match; nil when it does not
    /// match. A regex matches the path's bytes (`bytes`, the decoded path; `uri`'s UTF-8
    /// when not given), so a byte that is not UTF-8 is matched as itself, as in Apache.
    func match(_ uri: String, bytes: @autoclosure () -> [UInt8]? = nil) -> Match? {
        switch self {
        case .prefix(let prefix):
            guard uri.hasPrefix(prefix) else { return nil }
            let rest = String(uri.dropFirst(prefix.count))
            if !prefix.hasSuffix("/") && !rest.isEmpty && !rest.hasPrefix("/") { return nil }
            let all = bytes() ?? Array(uri.utf8)
            let restBytes = all.count >= prefix.utf8.count ? all[prefix.utf8.count...] : ArraySlice(rest.utf8)
            return .rest(rest, bytes: restBytes)
        case .regex(let regex):
            return regex.firstMatch(utf8: bytes() ?? Array(uri.utf8)).map(Match.groups)
        }
    }

    /// The URL of a redirect, escaped as mod_alias escapes it: for a prefix, the rest of
    /// the (decoded) path is escaped before it is appended; for a regex, the substituted
    /// URL is escaped up to its query or fragment, which are kept as they are. Escaping
    /// works on bytes, so a path byte that is not UTF-8 comes back as its own `%hh`.
    func redirectTarget(_ target: String, _ match: Match) -> String {
        switch match {
        case .rest(_, let bytes):
            return target + PathEscaping.escape(bytes: bytes)
        case .groups(let groups):
            let url = groups.substituteBytes(target)
            guard let end = url.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) else {
                return PathEscaping.escape(bytes: url)
            }
            return PathEscaping.escape(bytes: url[..<end]) + String(decoding: url[end...], as: UTF8.self)
        }
    }

    /// The target with the match applied: the rest appended for a prefix, `$N` replaced
    /// for a regex (Apache's `ap_pregsub`).
    func substitute(_ target: String, _ match: Match) -> String {
        switch match {
        case .rest(let rest, _): return target + rest
        case .groups(let groups): return groups.substitute(target)
        }
    }
}

/// mod_alias's records: aliases and redirects per server, redirects per directory too.
public struct AliasConfig: ModuleConfig {
    struct Alias: Sendable {
        let pattern: AliasPattern
        let target: String
        /// `cgi-script` for `ScriptAlias`/`ScriptAliasMatch`.
        var handler: String? = nil
    }
    struct Redirect: Sendable {
        let pattern: AliasPattern
        let target: String?
        let status: Int
    }
    /// A section's own `Redirect` (Apache's `redirect_set`): nil URL for a status alone.
    struct SectionRedirect: Sendable {
        let url: ApStringExpr?
        let status: Int
    }
    var aliases: [Alias] = []
    var redirects: [Redirect] = []
    var sectionRedirect: SectionRedirect?
    /// Per directory: the one-argument `ScriptAlias` of a `<Location>`.
    var locationAlias: Alias?
    /// Per server: some `<Location>` has one, so translation walks the locations.
    var hasLocationAliases = false
    public init() {}
    public func merged(with child: AliasConfig) -> AliasConfig {
        var out = AliasConfig()
        out.aliases = child.aliases + aliases
        out.redirects = child.redirects + redirects
        out.sectionRedirect = child.sectionRedirect ?? sectionRedirect
        out.locationAlias = child.locationAlias ?? locationAlias
        out.hasLocationAliases = child.hasLocationAliases || hasLocationAliases
        return out
    }
}

extension Request {
    /// The decoded path's bytes for a regex to match (`uriBytes`, which keep a byte that is
    /// not UTF-8), or `uri`'s UTF-8 when a module has changed `uri` since they were taken.
    var matchedPathBytes: [UInt8] {
        // The common case, a valid UTF-8 path, is a byte comparison without a copy.
        if uri.utf8.elementsEqual(uriBytes) { return uriBytes }
        return String(decoding: uriBytes, as: UTF8.self) == uri ? uriBytes : Array(uri.utf8)
    }
}
