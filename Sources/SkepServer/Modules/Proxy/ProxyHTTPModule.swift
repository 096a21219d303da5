import SkepConfig

/// Apache's mod_proxy_http: serves `http://` back ends for mod_proxy (`ProxyPass /app/
/// http://127.0.0.1:8080/`). Each request is one `HTTPExchange` on a connection from the
/// child's pool, which keeps connections for the next request (Apache's default for HTTP
/// workers; `disablereuse=On` turns it off, `max=` bounds them). The worker thread (or
/// prefork child) waits on the back end, as in Apache.
public struct ProxyHTTPModule: ProxySchemeModule {
    public static let descriptor = ModuleDescriptor(name: "proxy_http_module", sourceName: "mod_proxy_http.c", requires: ["proxy_module"], directives: [])

    public let scheme = "http"
    let pool = BackendPool()

    public init(config: ServerConfig) {}

    public func handle(_ p: ProxyRequest, _ context: ServerContext) throws -> Response {
        HTTPExchange(p: p, context: context, pool: pool).run()
    }
}
