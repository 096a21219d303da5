import SkepConfig
import SkepHTTP
import SkepSystem

/// Apache's mod_expires: `Expires` and `Cache-Control: max-age` on responses, from the
/// response's content type (`ExpiresByType`) or a default (`ExpiresDefault`), counted
/// from the request's time or the file's modification time. A filter just before
/// mod_headers' (`CONTENT_SET-2`), on 304s too, and on the error path, where it serves
/// redirects but never a 4xx or 5xx.
public struct ExpiresModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "expires_module", sourceName: "mod_expires.c", directives: [
        DirectiveSpec("ExpiresActive", .flag, .anywhere, help: "Limited to 'on' or 'off'") { d, scope throws(ConfigError) in
            scope.directory[ExpiresConfig.self].active = try d.flag()
        },
        DirectiveSpec("ExpiresByType", .take2, .anywhere, help: "a MIME type followed by an expiry date code") { d, scope throws(ConfigError) in
            let type = d.arguments[0], code = d.arguments[1]
            guard let slash = type.lastIndex(of: "/") else { throw d.error("Invalid mimetype: should contain a slash") }
            let code_: ExpiresCode
            do throws(ExpiresCode.Failure) {
                code_ = try ExpiresCode.parse(code)
            } catch {
                throw d.error("'ExpiresByType \(type) \(code)': \(error.message)")
            }
            var config = scope.directory[ExpiresConfig.self]
            if type[type.index(after: slash)...] == "*" { config.wildcards = true }
            config.byType.removeAll { $0.type.lowercased() == type.lowercased() }
            config.byType.append((type, code_))
            scope.directory[ExpiresConfig.self] = config
        },
        DirectiveSpec("ExpiresDefault", .take1, .anywhere, help: "an expiry date code") { d, scope throws(ConfigError) in
            do throws(ExpiresCode.Failure) {
                scope.directory[ExpiresConfig.self].byDefault = try ExpiresCode.parse(d.arguments[0])
            } catch {
                throw d.error("'ExpiresDefault \(d.arguments[0])': \(error.message)")
            }
        },
    ], overrides: [
        "ExpiresActive": .indexes,
        "ExpiresByType": .indexes,
        "ExpiresDefault": .indexes,
    ])

    public init(config: ServerConfig) {}

    public var outputFilters: [any OutputFilter] { [ExpiresFilter()] }

    /// Apache's `expires_insert_filter`, for the content chain and the error path alike.
    public func insertFilters(_ r: Request, _ server: ServerContext, into chain: inout OutputFilterChain) {
        if ExpiresFilter.wanted(r) { chain.add(ExpiresFilter()) }
    }

    public func insertErrorFilters(_ r: Request, _ server: ServerContext, into chain: inout OutputFilterChain) {
        if ExpiresFilter.wanted(r) { chain.add(ExpiresFilter()) }
    }
}

/// mod_expires' record per directory, merged as Apache's `merge_expires_dir_configs`.
public struct ExpiresConfig: ModuleConfig {
    /// nil: not said here (Apache's `ACTIVE_DONTCARE`), the enclosing scope's holds.
    public var active: Bool?
    public var byDefault: ExpiresCode?
    /// Types in the order written; a later line for a type replaces the earlier.
    public var byType: [(type: String, code: ExpiresCode)] = []
    /// An `ExpiresByType type/*` was written in this scope. Not inherited, as in Apache.
    public var wildcards = false

    public init() {}

    public func merged(with child: ExpiresConfig) -> ExpiresConfig {
        var out = ExpiresConfig()
        out.active = child.active ?? active
        out.byDefault = child.byDefault ?? byDefault
        out.wildcards = child.wildcards
        out.byType = byType.filter { parent in !child.byType.contains { $0.type.lowercased() == parent.type.lowercased() } } + child.byType
        return out
    }

    /// The code for a response of `contentType` (parameters included, as Apache's
    /// `r->content_type`), or nil when none applies.
    func code(for contentType: String?) -> ExpiresCode? {
        let bare = contentType.map { String($0.prefix { $0 != ";" }).trimmingBlanks }
        if let bare, let hit = byType.first(where: { $0.type.lowercased() == bare.lowercased() }) { return hit.code }
        if wildcards, let contentType, let slash = contentType.firstIndex(of: "/") {
            // Apache puts a '*' in place of what follows the slash: "text/html; charset=x"
            // is looked up as "text/*"; the default applies when that is not there either.
            let wildcard = contentType[...slash] + "*"
            return byType.first { $0.type.lowercased() == wildcard.lowercased() }?.code ?? byDefault
        }
        return byDefault
    }
}

/// The `MOD_EXPIRES` filter: sets `Expires` and adds `max-age` to `Cache-Control`
/// unless the response already has an `Expires`.
struct ExpiresFilter: OutputFilter {
    var name: String { "MOD_EXPIRES" }
    var stage: OutputFilterStage { .contentSet }

    static func wanted(_ r: Request) -> Bool {
        let config = r.config(ExpiresConfig.self)
        return config.active == true && (!config.byType.isEmpty || config.byDefault != nil)
    }

    func filter(_ response: inout Response, _ r: Request, _ context: ServerContext) {
        // Apache's `ap_is_HTTP_ERROR`: 400 to 599.
        guard !(400...599).contains(response.status.code) else { return }
        // An `Expires` in either table (a script's own) is kept, with no `max-age` added.
        guard response.header("Expires") == nil else { return }
        let contentType = response.header("Content-Type") ?? r.contentType
        guard let code = r.config(ExpiresConfig.self).code(for: contentType),
              let expiry = code.expiry(requestTime: r.received, modified: r.fileStatus?.modificationTime) else { return }
        var tables = HeadersFixup.Tables(response)
        // Apache changes `headers_out`: a script's own `Cache-Control` (in
        // `err_headers_out`) stays a field of its own.
        tables.out.merge("Cache-Control", "max-age=\(expiry.maxAge)")
        tables.out.set("Expires", HTTPDate(secondsSince1970: expiry.expires).description)
        tables.store(in: &response)
    }
}
