import SkepConfig
import SkepHTTP

/// Apache's mod_headers: `Header` changes the response's fields (as a content-set
/// output filter, so a FastCGI or proxied answer gets them too; `always` ones also on
/// error pages and 304s, through the error path), `RequestHeader` the request's (in
/// the fixup phase, before a handler or a FastCGI back end reads them). `early`
/// entries run in post-read-request.
public struct HeadersModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "headers_module", sourceName: "mod_headers.c", directives: [
        DirectiveSpec("Header", .raw, .anywhere,
                      help: "an optional condition, an action, header and value followed by optional env clause") { d, scope throws(ConfigError) in
            try add(d, &scope, request: false)
        },
        DirectiveSpec("RequestHeader", .raw, .anywhere,
                      help: "an action, header and value followed by optional env clause") { d, scope throws(ConfigError) in
            try add(d, &scope, request: true)
        },
    ], overrides: [
        "Header": .fileInfo,
        "RequestHeader": .fileInfo,
    ])

    static func add(_ d: Directive, _ scope: inout DirectiveScope, request: Bool) throws(ConfigError) {
        let parsed: (HeaderTable, HeaderEntry)
        do throws(HeaderParseError) {
            parsed = try HeaderEntry.parse(d.arguments, directive: d.name, request: request)
        } catch {
            throw d.error(error.message)
        }
        scope.directory[HeadersConfig.self].append(parsed.1, to: parsed.0)
    }

    public init(config: ServerConfig) {}

    public var outputFilters: [any OutputFilter] { [HeadersFilter()] }

    /// Apache's `ap_headers_early`: the `early` entries of the server's configuration
    /// (the URL's sections are not known yet).
    public func postReadRequest(_ r: Request, _ server: ServerContext) -> HookResult {
        let config = r.server.defaults[HeadersConfig.self]
        if config.request.contains(where: \.isEarly) { HeadersModule.fixRequest(config.request, pass: .early, r, server) }
        return .declined
    }

    /// Apache's `ap_headers_fixup` (hooked last): `RequestHeader` on the request's fields.
    public func fixup(_ r: Request, _ server: ServerContext) -> HookResult {
        let entries = r.config(HeadersConfig.self).request
        if !entries.isEmpty { HeadersModule.fixRequest(entries, pass: .late, r, server) }
        return .declined
    }

    static func fixRequest(_ entries: [HeaderEntry], pass: HeadersFixup.Pass, _ r: Request, _ server: ServerContext) {
        var tables = HeadersFixup.Tables(request: HeaderFields.merged(r.headerFields))
        HeadersFixup.run(entries, on: \.request, &tables, pass: pass, r, server)
        r.editedHeaders = tables.request.fields
    }

    /// Apache's `ap_headers_insert_output_filter`.
    public func insertFilters(_ r: Request, _ server: ServerContext, into chain: inout OutputFilterChain) {
        if HeadersFilter.hasResponseEntries(r) { chain.add(HeadersFilter()) }
    }

    /// Apache's `ap_headers_insert_error_filter`: only `Header always` reaches an error page.
    public func insertErrorFilters(_ r: Request, _ server: ServerContext, into chain: inout OutputFilterChain) {
        if !r.config(HeadersConfig.self).always.isEmpty || r.server.defaults[HeadersConfig.self].always.contains(where: \.isEarly) {
            chain.add(HeadersFilter())
        }
    }
}

/// mod_headers' record per server and directory: the three lists, a nested scope's
/// entries after the enclosing one's (Apache's `merge_headers_config`).
public struct HeadersConfig: ModuleConfig {
    public private(set) var request: [HeaderEntry] = []
    public private(set) var onSuccess: [HeaderEntry] = []
    public private(set) var always: [HeaderEntry] = []

    public init() {}

    mutating func append(_ entry: HeaderEntry, to table: HeaderTable) {
        switch table {
        case .request: request.append(entry)
        case .onSuccess: onSuccess.append(entry)
        case .always: always.append(entry)
        }
    }

    public func merged(with child: HeadersConfig) -> HeadersConfig {
        var out = self
        out.request += child.request
        out.onSuccess += child.onSuccess
        out.always += child.always
        return out
    }
}

/// `FIXUP_HEADERS_OUT` and `FIXUP_HEADERS_ERR` in one: on a response the content
/// filters run on, `Header always` entries build Apache's `err_headers_out` and the
/// others change `headers_out` (the handler's fields); on an error page only the
/// `always` entries run, on an `err_headers_out` of their own, so they never unset
/// or edit the page's own fields. Both tables are sent, `err_headers_out` first: a
/// `Header set` and a `Header always set` of one name both reach the client.
struct HeadersFilter: OutputFilter {
    var name: String { "FIXUP_HEADERS_OUT" }
    var stage: OutputFilterStage { .contentSet }

    static func hasResponseEntries(_ r: Request) -> Bool {
        let config = r.config(HeadersConfig.self), server = r.server.defaults[HeadersConfig.self]
        return !config.onSuccess.isEmpty || !config.always.isEmpty
            || server.onSuccess.contains(where: \.isEarly) || server.always.contains(where: \.isEarly)
    }

    func filter(_ response: inout Response, _ r: Request, _ context: ServerContext) {
        let config = r.config(HeadersConfig.self), server = r.server.defaults[HeadersConfig.self]
        var tables = HeadersFixup.Tables(response)
        // A 304 passes the content filters in Apache (the default handler sends it down
        // the chain): it gets both lists, as a 200 would.
        let error = response.isErrorResponse && response.status != .notModified
        // `early` entries ran before the handler in Apache; Skep has no response fields
        // then, so they run first here, on the same tables.
        HeadersFixup.run(server.always, on: \.err, &tables, pass: .early, r, context)
        if !error {
            HeadersFixup.run(server.onSuccess, on: \.out, &tables, pass: .early, r, context)
        }
        HeadersFixup.run(config.always, on: \.err, &tables, pass: .late, r, context)
        if !error {
            HeadersFixup.run(config.onSuccess, on: \.out, &tables, pass: .late, r, context)
        }
        // Content-Type is `r->content_type` in Apache, which a `set` in either table
        // changes: one field, the last value set.
        if let type = tables.err.get("Content-Type") {
            tables.err.unset("Content-Type")
            tables.out.set("Content-Type", type)
        }
        tables.store(in: &response)
    }
}
