import SkepConfig
import SkepHTTP

/// Apache's mod_proxy, as far as a FastCGI gateway needs it: `ProxyPass` and
/// `ProxyPassMatch` map URLs to a back end, `SetHandler "proxy:..."` hands matching
/// files to one, `ProxySet`/`<Proxy>` and `key=value` set a back end's parameters, and
/// `ProxyTimeout` bounds the wait. The schemes are served by their own modules
/// (`proxy_fcgi` for `fcgi://`), which register with `ProxySchemes`.
public struct ProxyModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "proxy_module", sourceName: "mod_proxy.c", directives: [
        DirectiveSpec("ProxyPass", .iterate, [.server, .location], help: "a virtual path and a URL, or ! to exclude the path; the URL alone inside <Location>") { d, scope throws(ConfigError) in
            try addPass(d, &scope, regex: false)
        },
        DirectiveSpec("ProxyPassMatch", .iterate, .server, help: "a regular expression and a URL with $1...$9, or !") { d, scope throws(ConfigError) in
            try addPass(d, &scope, regex: true)
        },
        DirectiveSpec("ProxySet", .iterate, .server, help: "a worker URL (outside <Proxy>) and key=value parameters") { d, scope throws(ConfigError) in
            var args = d.arguments
            let url: String
            if let first = args.first, !first.contains("=") {
                url = first
                args.removeFirst()
            } else if let open = scope.server[ProxyConfig.self].openSection {
                url = open
            } else {
                throw d.error("ProxySet can not occur outside a <Proxy> section without a URL")
            }
            try setParameters(d, &scope, url: url, args)
        },
        DirectiveSpec("Proxy", .take1, .server, help: "a back end's URL; its ProxySet applies to it", isSection: true) { d, scope throws(ConfigError) in
            guard ProxyWorker.parse(d.arguments[0]) != nil else {
                throw d.error("<Proxy \(d.arguments[0])>: Skep proxies only http://, fcgi:// and unix:...|fcgi:// back ends")
            }
            scope.server[ProxyConfig.self].openSection = d.arguments[0]
        },
        DirectiveSpec("ProxyTimeout", .take1, .server, help: "seconds to wait for a back end") { d, scope throws(ConfigError) in
            guard let seconds = Int(d.arguments[0]), (1...Directive.longestSeconds).contains(seconds) else {
                throw d.error("Proxy Timeout must be at least 1 second (and at most \(Directive.longestSeconds)).")
            }
            scope.server[ProxyConfig.self].timeoutMilliseconds = seconds * 1000
        },
        DirectiveSpec("ProxyRequests", .flag, .server, help: "forward proxying; Skep is a gateway only") { d, scope throws(ConfigError) in
            if d.arguments[0].lowercased() == "on" { throw d.error("ProxyRequests On: Skep does not act as a forward proxy") }
        },
        DirectiveSpec("ProxyPreserveHost", .flag, .anywhere, help: "On: an HTTP back end gets the client's Host") { d, scope throws(ConfigError) in
            scope.directory[ProxyDirConfig.self].preserveHost = try d.flag()
        },
        DirectiveSpec("ProxyAddHeaders", .flag, .anywhere, help: "On (default): X-Forwarded-For, -Host and -Server to HTTP back ends") { d, scope throws(ConfigError) in
            scope.directory[ProxyDirConfig.self].addHeaders = try d.flag()
        },
        DirectiveSpec("ProxyStatus", .take1, .server, help: "Off, On or Full: show the load balancers in mod_status") { d, _ throws(ConfigError) in
            // mod_proxy's status hook lists balancers only, and Skep has none yet (issue
            // 20): with none, Apache's server-status shows nothing more either.
            _ = try d.choice(0, ["Off", "On", "Full"])
        },
        .accepted("ProxyErrorOverride", .iterate, .anywhere, help: "not supported yet",
                  note: "not supported yet: the back end's error pages are passed through"),
        DirectiveSpec("ProxyPassReverse", .iterate, .anywhere, help: "a path and the back end URL whose redirects map back to it; the URL alone inside <Location>") { d, scope throws(ConfigError) in
            if d.arguments.count == 1 {
                guard let location = scope.location else { throw d.error("ProxyPassReverse needs a path when not defined in a location") }
                scope.directory[ProxyDirConfig.self].reverse.append(.init(alias: location, url: d.arguments[0]))
                return
            }
            scope.directory[ProxyDirConfig.self].reverse.append(.init(alias: d.arguments[0], url: d.arguments[1]))
        },
        .accepted("ProxyVia", .take1, .server, help: "no effect on FastCGI back ends"),
    ])

    /// The handler name `ProxyPass` sets, as Apache's.
    public static let handlerName = "proxy-server"
    /// Names starting with this (`SetHandler "proxy:unix:...|fcgi://localhost"`) reach the proxy too.
    public static let handlerPrefix = "proxy:"
    /// The note that carries the target URL from the mapping phases to the handler.
    static let targetNote = "proxy-target"
    /// Set when the target came from `SetHandler` (mod_proxy's `proxy-sethandler` note).
    static let setHandlerNote = "proxy-sethandler"

    public init(config: ServerConfig) {}

    /// Apache's `proxy_trans`: a `ProxyPass` match makes the request a proxy request.
    public func translate(_ r: Request, _ server: ServerContext) -> HookResult {
        for rule in r.serverConfig(ProxyConfig.self).passes {
            guard let match = rule.pattern.match(r.uri, bytes: r.matchedPathBytes) else { continue }
            guard let target = rule.target else { return .declined }
            let url = rule.pattern.substitute(target, match)
            r.notes[Self.targetNote] = url
            r.filename = "proxy:" + url
            r.handler = Self.handlerName
            return .handled
        }
        return .declined
    }

    /// A `SetHandler "proxy:URL"` sends the mapped file to the back end: the target is
    /// the URL with the file's path after it (mod_proxy's `r->filename = handler + filename`).
    public func fixup(_ r: Request, _ server: ServerContext) -> HookResult {
        if r.notes[Self.targetNote] != nil {
            r.handler = Self.handlerName
        } else if let handler = r.handler, handler.lowercased().hasPrefix(Self.handlerPrefix), let filename = r.filename {
            r.notes[Self.targetNote] = String(handler.dropFirst(Self.handlerPrefix.count)) + filename
            r.notes[Self.setHandlerNote] = "1"
        }
        return .declined
    }

    public var handlers: [String: Handler] {
        [Self.handlerName: Self.handle, Self.handlerPrefix: Self.handle]
    }

    /// Apache's `proxy_handler`: finds the back end and the scheme's handler.
    static func handle(_ r: Request, _ context: ServerContext) throws -> Response {
        let processor = RequestProcessor(context: context)
        func noHandler(_ scheme: String) -> Response {
            context.errorLog.log(.warn, module: "proxy", client: r.client, "AH01144: No protocol handler was valid for the URL \(r.uri) (scheme '\(scheme)'). If you are using a DSO version of mod_proxy, make sure the proxy submodules are included in the configuration using LoadModule.")
            return processor.error(.internalServerError, r)
        }
        guard let url = r.notes[targetNote], let (worker, mapped) = ProxyWorker.parse(url) else {
            return noHandler(r.notes[targetNote] ?? "")
        }
        // A `ProxyPass` target holds the decoded URL path: it goes on escaped, as the
        // scheme's canon hook sends it (a `SetHandler` target is a file path, checked by
        // the scheme).
        let path = r.notes[setHandlerNote] == nil ? canonicalPath(mapped) : mapped
        guard let scheme = context.modules.lazy.compactMap({ $0 as? any ProxySchemeModule }).first(where: { $0.scheme == worker.scheme }) else {
            return noHandler(worker.scheme)
        }
        let config = r.serverConfig(ProxyConfig.self)
        var configured = worker
        configured.parameters = config.parameters(for: worker)
        let timeout = configured.parameters.timeoutMilliseconds ?? config.timeoutMilliseconds
            ?? r.serverConfig(CoreServerConfig.self).timeout
        return try scheme.handle(ProxyRequest(request: r, worker: configured, path: path, timeoutMilliseconds: timeout), context)
    }

    /// mod_proxy's `ap_proxy_canonenc` of a reverse-proxied path (`enc_path`): every byte
    /// other than a letter, a digit, '/' and `~$-_.+!*'(),;:@&=` percent-encoded, so a
    /// decoded `?`, space, CR or LF cannot change what the back end reads.
    static func canonicalPath(_ path: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(path.utf8.count)
        for byte in path.utf8 {
            let isAlphanumeric = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            if isAlphanumeric || canonicalAllowed.contains(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]  // trap-safe: nibbles, 0...15
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let canonicalAllowed = Set("~$-_.+!*'(),;:@&=/".utf8)
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    static func addPass(_ d: Directive, _ scope: inout DirectiveScope, regex: Bool) throws(ConfigError) {
        // Inside <Location /path/> the path is the section's and the URL comes first, as
        // Apache's `cmd->path`; a second path there is Apache's error.
        var arguments = d.arguments
        if scope.context.contains(.location) || scope.context.contains(.directory) || scope.context.contains(.files) {
            guard let location = scope.location else { throw d.error("\(d.name) cannot occur within <\(scope.context == .location ? "LocationMatch" : "Directory")> section") }
            guard let first = arguments.first, first.contains("://") || first == "!" else {
                throw d.error("ProxyPass|ProxyPassMatch can not have a path when defined in a location.")
            }
            arguments.insert(location, at: 0)
        }
        guard arguments.count >= 2 else { throw d.error("\(d.name) needs a path and a URL") }
        let path = arguments[0]
        let target = arguments[1]
        let pattern: AliasPattern = regex ? .regex(try AliasModule.compile(d, path)) : .prefix(path)
        if target == "!" {
            scope.server[ProxyConfig.self].passes.append(.init(pattern: pattern, target: nil))
            return
        }
        guard ProxyWorker.parse(target) != nil else {
            throw d.error("\(d.name) \(target): Skep proxies only to http://, fcgi:// and unix:/path|fcgi:// back ends")
        }
        try setParameters(d, &scope, url: target, Array(arguments.dropFirst(2)))
        scope.server[ProxyConfig.self].passes.append(.init(pattern: pattern, target: target))
    }

    static func setParameters(_ d: Directive, _ scope: inout DirectiveScope, url: String, _ assignments: [String]) throws(ConfigError) {
        guard let (worker, _) = ProxyWorker.parse(url) else { throw d.error("\(d.name): '\(url)' is not a back end URL Skep can use") }
        var parameters = scope.server[ProxyConfig.self].workers[worker.key] ?? ProxyWorkerParameters()
        for assignment in assignments {
            if let error = parameters.set(assignment) { throw d.error("\(d.name): \(error) (\(assignment))") }
        }
        scope.server[ProxyConfig.self].workers[worker.key] = parameters
    }
}

/// mod_proxy's per-server records.
public struct ProxyConfig: ModuleConfig {
    struct Pass: Sendable {
        let pattern: AliasPattern
        /// nil for `ProxyPass /path !`: the path is not proxied.
        let target: String?
    }
    var passes: [Pass] = []
    /// Parameters per back end, by `ProxyWorker.key`.
    var workers: [String: ProxyWorkerParameters] = [:]
    var timeoutMilliseconds: Int?
    /// The URL of the `<Proxy>` section whose directives are being read.
    var openSection: String?

    public init() {}

    public func merged(with child: ProxyConfig) -> ProxyConfig {
        var out = child
        out.passes = child.passes + passes
        out.workers = workers.merging(child.workers) { $0.overridden(by: $1) }
        out.timeoutMilliseconds = child.timeoutMilliseconds ?? timeoutMilliseconds
        return out
    }

    func parameters(for worker: ProxyWorker) -> ProxyWorkerParameters {
        workers[worker.key] ?? ProxyWorkerParameters()
    }
}

/// mod_proxy's per-directory records (Apache's `proxy_dir_conf`).
public struct ProxyDirConfig: ModuleConfig {
    struct ReverseMapping: Sendable {
        let alias: String
        let url: String
    }
    /// `ProxyPassReverse`, in order.
    var reverse: [ReverseMapping] = []
    var preserveHost: Bool?
    var addHeaders: Bool?

    public init() {}

    public func merged(with child: ProxyDirConfig) -> ProxyDirConfig {
        var out = child
        out.reverse = reverse + child.reverse
        out.preserveHost = child.preserveHost ?? preserveHost
        out.addHeaders = child.addHeaders ?? addHeaders
        return out
    }
}

/// A request on its way to a back end: the target worker with its parameters, and the
/// path after the worker's URL.
public struct ProxyRequest {
    public let request: Request
    public let worker: ProxyWorker
    /// The URL's path after the authority: `/var/www/index.php` for `fcgi://host/var/www/index.php`.
    public let path: String
    public let timeoutMilliseconds: Int
}

/// A module that serves one proxy scheme (`fcgi` for mod_proxy_fcgi): Apache's
/// `proxy_scheme_handler` hook.
public protocol ProxySchemeModule: HTTPModule {
    var scheme: String { get }
    func handle(_ request: ProxyRequest, _ context: ServerContext) throws -> Response
}
