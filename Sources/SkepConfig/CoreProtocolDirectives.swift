/// Core directives about the protocol and the request path, and about answers as a
/// whole: `Protocols`, `AllowEncodedSlashes`, `MergeSlashes`, `AddDefaultCharset`,
/// `CGIPassAuth`, and the 2.2 leftover `NameVirtualHost`.
extension CoreModule {
    static let protocolDirectives: [DirectiveSpec] = [
        DirectiveSpec("Protocols", .iterate, .server, help: "the protocols offered, in order of preference: http/1.1 (h2 and h2c come with HTTP/2)") { d, _ throws(ConfigError) in
            // Apache keeps any token, offering only those a loaded module speaks; HTTP/2 is
            // refused outright so a config that asks for it does not silently run without it.
            // Skep speaks only http/1.1, so the list has nothing else to choose.
            if let http2 = d.arguments.first(where: { ["h2", "h2c"].contains($0.lowercased()) }) {
                throw d.error("Protocols: \(http2) is HTTP/2, which Skep does not speak yet (mod_http2 is issue 21); use Protocols http/1.1")
            }
        },
        .accepted("ProtocolsHonorOrder", .flag, .server, help: "On to prefer the server's Protocols order over the client's",
                  note: "accepted; with http/1.1 the only protocol Skep speaks there is no choice to order"),
        server("AllowEncodedSlashes", .take1, "Off (a %2F is a 404), On (decoded) or NoDecode (kept encoded)") { d, c throws(ConfigError) in
            c.allowEncodedSlashes = try d.choice(0, ["On", "Off", "NoDecode"])
        },
        server("MergeSlashes", .flag, "On (the default) to merge repeated slashes in the URL path") { d, c throws(ConfigError) in
            c.mergeSlashes = try d.flag()
        },
        dir("AddDefaultCharset", .take1, "On (iso-8859-1), Off, or a charset added to text/plain and text/html answers") { d, c in
            switch d.arguments[0].lowercased() {
            case "on": c.addDefaultCharset = "iso-8859-1"
            case "off": c.addDefaultCharset = ""
            default: c.addDefaultCharset = d.arguments[0]
            }
        },
        // Per directory only, as Apache's (OR_AUTHCFG): not in the server's own context.
        DirectiveSpec("CGIPassAuth", .flag, .perDirectory, help: "On to hand the Authorization header to CGI and FastCGI scripts as HTTP_AUTHORIZATION") { d, scope throws(ConfigError) in
            scope.directory[CoreDirConfig.self].cgiPassAuth = try d.flag()
        },
        DirectiveSpec("NameVirtualHost", .take1, .serverConfig, help: "no effect since Apache 2.3.11 (name-based hosting is automatic)") { d, scope throws(ConfigError) in
            scope.warnings.append(d.warning("AH00548: NameVirtualHost has no effect and will be removed in the next release"))
        },
    ]
}
