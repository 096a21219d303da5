import SkepConfig

/// Apache's mod_authn_core: `AuthType` and `AuthName`, which the authentication
/// modules (mod_auth_basic) and `ap_auth_type` read.
public struct AuthnCoreModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "authn_core_module", sourceName: "mod_authn_core.c", directives: [
        DirectiveSpec("AuthType", .take1, .perDirectory, help: "an HTTP authorization type (e.g., \"Basic\"), or None") { d, scope throws(ConfigError) in
            try AuthnCoreConfig.refuseExpression(d)
            scope.directory[AuthnCoreConfig.self].authTypeSetting = .some(d.arguments[0])
        },
        DirectiveSpec("AuthName", .take1, .perDirectory, help: "the authentication realm (e.g. \"Members Only\")") { d, scope throws(ConfigError) in
            try AuthnCoreConfig.refuseExpression(d)
            scope.directory[AuthnCoreConfig.self].authName = d.arguments[0]
        },
    ], overrides: [
        "AuthType": .authConfig,
        "AuthName": .authConfig,
    ])

    public init(config: ServerConfig) {}

    /// Apache's `authenticate_no_user`, the last `check_user_id` hook: with no AuthType
    /// nobody needs authenticating (and the core then refuses the request that needs a
    /// user); an AuthType no module took is a configuration error.
    public func checkUserID(_ r: Request, _ server: ServerContext) -> HookResult {
        guard let type = AccessPhases.authType(r) else { return .handled }
        server.errorLog.log(.error, module: "authn_core", client: r.client,
                            "AH01796: AuthType \(type) configured without corresponding module")
        return .fail(.internalServerError)
    }
}

/// mod_authn_core's per-directory record.
public struct AuthnCoreConfig: ModuleConfig {
    /// `AuthType` as written: nil when not set here, `.some` when set (even to None).
    var authTypeSetting: String??
    public var authName: String?

    public init() {}

    /// The `AuthType` in effect, nil when none or `None` (Apache's `authn_ap_auth_type`).
    public var authType: String? {
        guard case .some(.some(let type)) = authTypeSetting, type.lowercased() != "none" else { return nil }
        return type
    }

    /// The realm as the challenge quotes it: `"` escaped as Apache's `ap_escape_quotes`
    /// does (a quote already escaped is kept).
    public var quotedRealm: String? {
        guard let authName else { return nil }
        var out = ""
        var chars = authName.makeIterator()
        while let c = chars.next() {
            if c == "\\" {
                out.append(c)
                if let next = chars.next() { out.append(next) }
            } else if c == "\"" {
                out += "\\\""
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// Apache's `merge_authn_core_dir_config`: each setting from the nested section when set there.
    public func merged(with child: AuthnCoreConfig) -> AuthnCoreConfig {
        var out = self
        if child.authTypeSetting != nil { out.authTypeSetting = child.authTypeSetting }
        if child.authName != nil { out.authName = child.authName }
        return out
    }

    /// Apache parses these as ap_expr strings; Skep takes plain text and refuses an
    /// expression rather than send it literally.
    static func refuseExpression(_ d: Directive) throws(ConfigError) {
        if d.arguments[0].contains("%{") {
            throw d.error("\(d.name): Skep takes plain text here, not an expression")
        }
    }
}
