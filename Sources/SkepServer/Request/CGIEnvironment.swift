import SkepConfig
import SkepHTTP
import Glibc

/// The CGI/1.1 variables of a request, as Apache's `ap_add_common_vars` and
/// `ap_add_cgi_vars` build them for a script (mod_proxy_fcgi sends them as FastCGI
/// params), in Apache's order: the request's own environment, the request headers as
/// `HTTP_*`, then the server's and the script's variables.
public struct CGIEnvironment {
    public private(set) var variables: [(name: String, value: String)] = []
    /// Where each name is in `variables`.
    private var positions: [String: Int] = [:]

    /// The server's `PATH` (Apache's fallback when it has none), read once.
    static let serverPath = environmentValue("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
    static let serverLibraryPath = environmentValue("LD_LIBRARY_PATH")

    static func environmentValue(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// - Parameters:
    ///   - scriptFilename: `SCRIPT_FILENAME` (mod_proxy_fcgi passes its `proxy:` URL to PHP-FPM).
    ///   - pathTranslated: `PATH_TRANSLATED` for the request's path info, when it has one.
    public init(_ r: Request, _ context: ServerContext, scriptFilename: String, pathTranslated: String?) {
        variables.reserveCapacity(40)
        positions.reserveCapacity(40)
        for (name, value) in r.environment.sorted(by: { $0.key < $1.key }) { set(name, value) }
        addHeaders(r)
        let core = r.serverConfig(CoreServerConfig.self)
        set("PATH", Self.serverPath)
        if let libraryPath = Self.serverLibraryPath { set("LD_LIBRARY_PATH", libraryPath) }
        let signature = RequestProcessor.signature(r, context) ?? ""
        set("SERVER_SIGNATURE", signature)
        set("SERVER_SOFTWARE", context.serverBanner)
        set("SERVER_NAME", ErrorPages.escape(r.serverNameForURL))
        set("SERVER_ADDR", r.local.host)
        set("SERVER_PORT", String(Self.serverPort(r)))
        set("REMOTE_ADDR", r.client.host)
        let documentRoot = core.documentRoot ?? context.config.serverRoot + "/htdocs"
        set("DOCUMENT_ROOT", documentRoot)
        set("REQUEST_SCHEME", r.scheme)
        set("CONTEXT_PREFIX", r.contextPrefix ?? "")
        set("CONTEXT_DOCUMENT_ROOT", r.contextDocumentRoot ?? documentRoot)
        set("SERVER_ADMIN", core.serverAdmin ?? "[no address given]")
        set("SCRIPT_FILENAME", scriptFilename)
        set("REMOTE_PORT", String(r.client.port))
        if let user = r.user {
            set("REMOTE_USER", user)
        } else {
            // An error document: the user of the request it answers, as Apache names it.
            var back = r.redirectedFrom
            while let earlier = back {
                if let user = earlier.user {
                    set("REDIRECT_REMOTE_USER", user)
                    break
                }
                back = earlier.redirectedFrom
            }
        }
        if let authType = r.authType { set("AUTH_TYPE", authType) }
        if let original = r.redirectedFrom {
            set("REDIRECT_URL", original.uri)
            if let query = original.query { set("REDIRECT_QUERY_STRING", query) }
        }

        set("GATEWAY_INTERFACE", "CGI/1.1")
        set("SERVER_PROTOCOL", r.protocolName)
        set("REQUEST_METHOD", r.method)
        set("QUERY_STRING", r.query ?? "")
        set("REQUEST_URI", r.target)
        if r.pathInfo.isEmpty {
            set("SCRIPT_NAME", r.uri)
        } else {
            set("SCRIPT_NAME", String(decoding: r.uri.utf8.prefix(Self.pathInfoStart(uri: r.uri, pathInfo: r.pathInfo)), as: UTF8.self))
            set("PATH_INFO", r.pathInfo)
        }
        if let pathTranslated { set("PATH_TRANSLATED", pathTranslated) }
    }

    /// `PATH_TRANSLATED`: the path info mapped like a URL under DocumentRoot; nil without
    /// path info.
    static func pathTranslated(_ r: Request, _ context: ServerContext) -> String? {
        guard !r.pathInfo.isEmpty else { return nil }
        let root = r.serverConfig(CoreServerConfig.self).documentRoot ?? context.config.serverRoot + "/htdocs"
        return root + r.pathInfo
    }

    /// Sets `name`, replacing an earlier value (Apache's `apr_table_setn` on the
    /// environment table; the request's own variables come first and are overridden).
    public mutating func set(_ name: String, _ value: String) {
        if let i = positions[name] {
            variables[i].value = value
        } else {
            positions[name] = variables.count
            variables.append((name, value))
        }
    }

    public func value(_ name: String) -> String? { positions[name].map { variables[$0].value } }

    /// Every request header as `HTTP_*`, repeated fields joined with ", " as Apache
    /// merges them. `Content-Type`/`Content-Length` become `CONTENT_TYPE`/`CONTENT_LENGTH`;
    /// `Proxy` is dropped (httpoxy: it would become the `HTTP_PROXY` that HTTP libraries
    /// take for their proxy setting), and so are `Authorization` and `Proxy-Authorization`
    /// unless `CGIPassAuth On`, and names with characters other than letters, digits and '-'.
    mutating func addHeaders(_ r: Request) {
        let passAuth = r.config(CoreDirConfig.self).cgiPassAuth ?? false
        for (name, value) in r.headerFields {
            let key: String
            switch name.lowercased() {
            case "content-type": key = "CONTENT_TYPE"
            case "content-length": key = "CONTENT_LENGTH"
            case "proxy": continue
            case "authorization" where !passAuth, "proxy-authorization" where !passAuth: continue
            default:
                guard let envName = Self.environmentName(forHeader: name) else { continue }
                key = envName
            }
            if let i = positions[key] {
                variables[i].value += ", " + value
            } else {
                set(key, value)
            }
        }
    }

    /// `HTTP_` and the name upper-cased with '-' as '_'; nil for a name with other
    /// characters (Apache's `http2env` will not export it).
    static func environmentName(forHeader name: String) -> String? {
        var out = "HTTP_"
        for c in name.utf8 {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): out.unicodeScalars.append(Unicode.Scalar(c - 32))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): out.unicodeScalars.append(Unicode.Scalar(c))
            case UInt8(ascii: "-"): out.append("_")
            default: return nil
            }
        }
        return out
    }

    /// `ap_get_server_port` with `UseCanonicalName Off`: the port in the `Host` header,
    /// else the port the connection came in on.
    static func serverPort(_ r: Request) -> Int {
        r.head.port ?? Int(r.local.port)  // trap-safe: UInt16 to Int widens
    }

    /// Apache's `ap_find_path_info`: where the path info starts in the URI (the URI's
    /// tail matched against the path info from the end).
    static func pathInfoStart(uri: String, pathInfo: String) -> Int {
        let u = Array(uri.utf8), p = Array(pathInfo.utf8)
        // Apache's loop decrements both indexes before comparing, so a mismatch leaves
        // `lu` on the mismatching byte.
        var lu = u.count, lp = p.count
        while lu > 0 {
            lu -= 1
            guard lp > 0 else { break }
            lp -= 1
            guard u[lu] == p[lp] else { break }
            if p[lp] == UInt8(ascii: "/") {
                while lu > 0 && u[lu - 1] == UInt8(ascii: "/") { lu -= 1 }
            }
        }
        while lu < u.count && u[lu] != UInt8(ascii: "/") { lu += 1 }
        return lu
    }
}
