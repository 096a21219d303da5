import SkepConfig
import SkepHTTP
import SkepSystem

/// Apache's mod_proxy_fcgi: serves `fcgi://` back ends (PHP-FPM) for mod_proxy. Each
/// request is one FastCGI responder exchange: BEGIN_REQUEST, the CGI environment as
/// PARAMS, the request body as STDIN, then STDOUT (the script's headers and body, sent
/// on as they come), STDERR (to the error log) and END_REQUEST. The worker thread (or
/// prefork child) waits on the back end, as in Apache.
public struct ProxyFCGIModule: ProxySchemeModule {
    public static let descriptor = ModuleDescriptor(name: "proxy_fcgi_module", sourceName: "mod_proxy_fcgi.c", requires: ["proxy_module"], directives: [
        DirectiveSpec("ProxyFCGIBackendType", .take1, .anywhere, help: "FPM or GENERIC: how the back end reads SCRIPT_FILENAME") { d, scope throws(ConfigError) in
            switch d.arguments[0].lowercased() {
            case "fpm": scope.directory[ProxyFCGIDirConfig.self].backendType = .fpm
            case "generic": scope.directory[ProxyFCGIDirConfig.self].backendType = .generic
            default: throw d.error("ProxyFCGIBackendType requires one of the following arguments: 'GENERIC', 'FPM'")
            }
        },
        .accepted("ProxyFCGISetEnvIf", .take23, .anywhere, help: "an expression, a variable and a value",
                  note: "not supported yet (Skep has no ap_expr): the variables are sent as Apache computes them by default"),
    ], overrides: [
        "ProxyFCGIBackendType": .fileInfo,
        "ProxyFCGISetEnvIf": .fileInfo,
    ])

    public let scheme = "fcgi"
    let pool = BackendPool()

    public init(config: ServerConfig) {}

    public func handle(_ p: ProxyRequest, _ context: ServerContext) throws -> Response {
        FastCGIExchange(p, context, pool: pool).run()
    }
}

/// mod_proxy_fcgi's per-directory record.
public struct ProxyFCGIDirConfig: ModuleConfig {
    enum BackendType: Sendable { case fpm, generic }
    /// Unset means FPM, as in Apache ("we will assume FPM").
    var backendType: BackendType?
    public init() {}
    public func merged(with child: ProxyFCGIDirConfig) -> ProxyFCGIDirConfig {
        var out = self
        out.backendType = child.backendType ?? backendType
        return out
    }
}
