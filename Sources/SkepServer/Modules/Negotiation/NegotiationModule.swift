import SkepConfig
import SkepHTTP
import SkepSystem

/// Apache's mod_negotiation: `Options MultiViews` (a request for a file that does not
/// exist is answered with the best of the files whose names extend it), type maps
/// (handler `type-map`), `LanguagePriority`, `ForceLanguagePriority` and
/// `CacheNegotiatedDocs`, with Apache's algorithm (`VariantSelection`) and the fields it
/// sends (`Content-Location`, `Vary`, `TCN`, `Alternates`), and its 406 page.
///
/// Hooked after mod_mime, before mod_dir: Apache's `handle_multi` is a type checker run
/// first, which only matters for a file that exists (it declines those), so running it
/// after mod_mime labelled the missing name changes nothing, and lets `fix_encoding`
/// (a fixup) see mod_mime's encoding.
public struct NegotiationModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "negotiation_module", sourceName: "mod_negotiation.c", directives: [
        DirectiveSpec("CacheNegotiatedDocs", .flag, .serverConfig, help: "On to let HTTP/1.0 caches keep negotiated documents") { d, scope throws(ConfigError) in
            scope.server[NegotiationServerConfig.self].cacheNegotiatedDocs = try d.flag()
        },
        DirectiveSpec("LanguagePriority", .iterate, .anywhere, help: "languages in order of preference when the client's do not decide") { d, scope throws(ConfigError) in
            // Apache appends each directive's languages to the section's list.
            scope.directory[NegotiationDirConfig.self].languagePriority = (scope.directory[NegotiationDirConfig.self].languagePriority ?? []) + d.arguments
        },
        DirectiveSpec("ForceLanguagePriority", .iterate, .anywhere, help: "None, or Prefer and/or Fallback") { d, scope throws(ConfigError) in
            var force = scope.directory[NegotiationDirConfig.self].forcePriority ?? []
            for word in d.arguments {
                switch word.lowercased() {
                case "none":
                    if !force.subtracting(.none).isEmpty { throw d.error("Cannot combine ForceLanguagePriority options with None") }
                    force = .none
                case "prefer":
                    if force.contains(.none) { throw d.error("Cannot combine ForceLanguagePriority options None and Prefer") }
                    force.insert(.prefer)
                case "fallback":
                    if force.contains(.none) { throw d.error("Cannot combine ForceLanguagePriority options None and Fallback") }
                    force.insert(.fallback)
                default:
                    throw d.error("Invalid ForceLanguagePriority option \(word)")
                }
            }
            scope.directory[NegotiationDirConfig.self].forcePriority = force
        },
    ], overrides: [
        "LanguagePriority": .fileInfo,
        "ForceLanguagePriority": .fileInfo,
    ])

    public init(config: ServerConfig) {}

    public var handlers: [String: Handler] {
        let handler: Handler = { r, server in Self.handleMap(r, server) }
        return [Negotiation.typeMapHandler: handler, Negotiation.mapType: handler]
    }

    public func fixup(_ r: Request, _ server: ServerContext) -> HookResult {
        if let result = multiViews(r, server) { return result }
        Self.fixEncoding(r)
        return .declined
    }

    // MARK: - MultiViews

    /// Apache's `handle_multi`: for a name that maps to no file where `Options
    /// MultiViews` is on, negotiates over the files that extend the name.
    func multiViews(_ r: Request, _ server: ServerContext) -> HookResult? {
        guard r.fileStatus == nil, !r.lookupForbidden, let filename = r.filename, filename.hasPrefix("/"),
              r.config(CoreDirConfig.self).effectiveOptions.contains(.multiViews) else { return nil }
        // Reading a directory may block: the listener hands the request to a worker.
        if let run = r.listenerRun {
            run.blocked = true
            return .declined
        }
        // The walk left the path info after the missing name; `locate` finds the name again.
        guard let place = Negotiation.locate(filename: filename + r.pathInfo, uri: r.uri, r, server) else { return nil }
        let scan = Negotiation.scanDirectory(place, r, server)
        switch scan {
        case .none:
            return nil
        case .failed(let status):
            return .fail(status)
        case .variants(let variants):
            return .respond(Negotiation.negotiate(variants, place: place, r, server))
        }
    }

    /// Apache's `fix_encoding`: answers with the client's spelling of the encoding
    /// (`gzip` or `x-gzip`) when it named one of them.
    static func fixEncoding(_ r: Request) {
        guard let encoding = r.contentEncoding else { return }
        r.contentEncoding = clientSpelling(of: encoding, acceptEncoding: r.header("Accept-Encoding"))
    }

    /// The encoding as the client's `Accept-Encoding` spells it (`gzip` before `x-gzip`),
    /// else as configured.
    static func clientSpelling(of encoding: String, acceptEncoding: String?) -> String {
        guard !encoding.isEmpty, let acceptEncoding else { return encoding }
        let bare = encoding.hasPrefix("x-") ? String(encoding.dropFirst(2)) : encoding
        var xSpelling: String?
        for item in AcceptHeader.parseList(acceptEncoding) {
            if item.name == bare { return item.name }
            if item.name == "x-" + bare { xSpelling = item.name }
        }
        return xSpelling ?? encoding
    }

    // MARK: - Type maps

    /// Apache's `handle_map_file`: negotiates over the map's variants; an inline body is
    /// sent from the map, a file by an internal redirect.
    static func handleMap(_ r: Request, _ server: ServerContext) -> Response {
        let processor = RequestProcessor(context: server)
        guard let filename = r.filename else { return processor.error(.notFound, r) }
        let variants: [Variant]
        switch Negotiation.readTypeMap(filename, r, server) {
        case .success(let mapped): variants = mapped
        case .failure(let failure): return processor.error(failure.status, r)
        }
        let directory = filename.lastIndex(of: "/").map { String(filename[..<$0]) } ?? ""
        // The URL of the map without path info: variants are relative to its directory.
        var uri = r.uri
        if !r.pathInfo.isEmpty, uri.hasSuffix(r.pathInfo) { uri = String(uri.dropLast(r.pathInfo.count)) }
        let uriDirectory = uri.lastIndex(of: "/").map { String(uri[...$0]) } ?? "/"
        let place = Negotiation.Place(directory: directory, base: "", pathInfo: r.pathInfo, uriDirectory: uriDirectory)
        return Negotiation.negotiate(variants, place: place, r, server, isMap: true)
    }
}

/// mod_negotiation's per-directory record (Apache's `neg_dir_config`).
public struct NegotiationDirConfig: ModuleConfig {
    public var languagePriority: [String]?
    public var forcePriority: VariantSelection.ForcePriority?
    public init() {}
    public func merged(with child: NegotiationDirConfig) -> NegotiationDirConfig {
        var out = NegotiationDirConfig()
        out.languagePriority = child.languagePriority ?? languagePriority
        out.forcePriority = child.forcePriority ?? forcePriority
        return out
    }
}

/// mod_negotiation's per-server record: `CacheNegotiatedDocs` (Apache keeps it per server, unmerged).
public struct NegotiationServerConfig: ModuleConfig {
    public var cacheNegotiatedDocs: Bool?
    public init() {}
    public func merged(with child: NegotiationServerConfig) -> NegotiationServerConfig {
        var out = self
        out.cacheNegotiatedDocs = child.cacheNegotiatedDocs ?? cacheNegotiatedDocs
        return out
    }
}
