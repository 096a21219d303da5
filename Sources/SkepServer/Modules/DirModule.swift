import SkepConfig
import SkepHTTP
import SkepSystem

/// Apache's mod_dir: `DirectorySlash` redirects `/dir` to `/dir/`, `DirectoryIndex`
/// answers `/dir/` with its index file through an internal redirect, and
/// `FallbackResource` answers URLs that map to no file.
public struct DirModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "dir_module", sourceName: "mod_dir.c", directives: [
        DirectiveSpec("DirectoryIndex", .iterate, .anywhere, help: "file names to look for in a directory, or disabled") { d, scope throws(ConfigError) in
            if d.arguments.count == 1 && d.arguments[0].lowercased() == "disabled" {
                scope.directory[DirConfig.self].indexes = []
            } else {
                scope.directory[DirConfig.self].indexes = d.arguments
            }
        },
        DirectiveSpec("DirectorySlash", .flag, .anywhere, help: "On to redirect /dir to /dir/") { d, scope throws(ConfigError) in
            scope.directory[DirConfig.self].slash = try d.flag()
        },
        DirectiveSpec("FallbackResource", .take1, .anywhere, help: "a local URL for requests that map to no file, or disabled") { d, scope throws(ConfigError) in
            scope.directory[DirConfig.self].fallback = d.arguments[0].lowercased() == "disabled" ? "" : d.arguments[0]
        },
        .accepted("DirectoryCheckHandler", .flag, .anywhere, help: "whether mod_dir looks at directories other handlers own",
                  note: "accepted; Skep's mod_dir always looks at directories the default handler would serve"),
    ], overrides: [
        "DirectoryIndex": .indexes,
        "DirectorySlash": .indexes,
        "FallbackResource": .indexes,
        "DirectoryCheckHandler": .indexes,
    ])

    public init(config: ServerConfig) {}

    public func fixup(_ r: Request, _ server: ServerContext) -> HookResult {
        guard r.handler == nil || r.handler == StaticFiles.directoryType, let filename = r.filename,
              r.head.method == .get || r.head.method == .head || r.head.method == .post else { return .declined }
        let dir = r.config(DirConfig.self)
        guard let status = r.fileStatus else {
            if let fallback = dir.fallback, !fallback.isEmpty, r.originalStatus == nil, r.internalPath != fallback,
               let target = r.redirected(to: fallback) {
                return .respond(RequestProcessor(context: server).process(target))
            }
            return .declined
        }
        guard status.isDirectory else { return .declined }
        if !r.uri.hasSuffix("/") {
            guard dir.slash ?? true else { return .declined }
            // Apache's `ap_construct_url`: the host and port the request named (validated
            // by the parser; an absolute-form target's, never a raw `Host` field's), else
            // `ServerName`'s; the path escaped again.
            var location = "\(r.selfURLPrefix)\(PathEscaping.escape(r.uri))/"
            if let query = r.query { location += "?" + query }
            return .respond(RequestProcessor(context: server).error(.movedPermanently, r, location: location))
        }
        for index in dir.indexes ?? ["index.html"] {
            let candidate = index.hasPrefix("/") ? nil : filename + (filename.hasSuffix("/") ? "" : "/") + index
            guard let candidate, let st = try? r.lookUp(candidate, in: server.fileCache), !st.isDirectory else {
                if r.wouldBlock { return .declined }
                // Apache looks each name up as a sub-request, which MultiViews may answer
                // (`index.html` served by `index.html.en`).
                guard candidate != nil, !index.contains("/"),
                      Negotiation.negotiatesIndex(directory: filename, index: index, onlyName: (dir.indexes ?? ["index.html"]).count == 1, r, server)
                else {
                    if r.wouldBlock { return .declined }
                    continue
                }
                var path = r.uri + index
                if let query = r.query { path += "?" + query }
                guard let target = r.redirected(to: path) else { continue }
                return .respond(Self.fastRedirect(r, to: target, server))
            }
            var path = r.uri + index
            if let query = r.query { path += "?" + query }
            guard let target = r.redirected(to: path) else { continue }
            return .respond(Self.fastRedirect(r, to: target, server))
        }
        return .declined
    }

    /// Apache's mod_dir serves an index with `ap_internal_fast_redirect`, which makes the
    /// request the index's: the access log's `%U` and `%f` name the index file (the
    /// variant, when MultiViews chose one).
    static func fastRedirect(_ r: Request, to target: Request, _ server: ServerContext) -> Response {
        let response = RequestProcessor(context: server).process(target)
        if !r.wouldBlock {
            r.uri = target.uri
            r.uriBytes = target.uriBytes
            r.filename = target.filename
        }
        return response
    }
}

/// mod_dir's per-directory record.
public struct DirConfig: ModuleConfig {
    public var indexes: [String]?
    public var slash: Bool?
    public var fallback: String?
    public init() {}
    public func merged(with child: DirConfig) -> DirConfig {
        var out = DirConfig()
        out.indexes = child.indexes ?? indexes
        out.slash = child.slash ?? slash
        out.fallback = child.fallback ?? fallback
        return out
    }
}
