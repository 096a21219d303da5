import SkepConfig

/// Apache's mod_authz_user: the `user` and `valid-user` providers of `Require`
/// (evaluated by `AuthzCoreModule`'s requirement tree).
public struct AuthzUserModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "authz_user_module", sourceName: "mod_authz_user.c")
    public init(config: ServerConfig) {}

    /// `Require user NAME...`: the authenticated user is one of `names` (compared exactly).
    static func check(_ r: Request, names: [String], _ server: ServerContext) -> AuthzResult {
        guard let user = r.user else { return .deniedNoUser }
        if names.contains(user) { return .granted }
        server.errorLog.log(.debug, module: "authz_user", client: r.client,
                            "AH01663: access to \(r.uri) failed, reason: user '\(user)' does not meet 'require'ments for user to be allowed access")
        return .denied
    }
}
