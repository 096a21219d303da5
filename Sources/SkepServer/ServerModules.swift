import SkepConfig

/// The modules of SkepServer: the request-handling modules Apache users know. Each is
/// one file that declares its directives, its records and its hooks; this list is what
/// the configuration reader, `skep -M` and the request phases see, in hook order
/// (mod_mime is Apache's type_checker, so it runs before mod_dir's fixup; mod_proxy's
/// translate runs before mod_alias's, as Apache's `proxy_trans` is hooked first).
public enum ServerModules {
    public static let types: [any HTTPModule.Type] = [
        ProxyModule.self,
        AliasModule.self,
        AuthzCoreModule.self,
        AuthzHostModule.self,
        MimeModule.self,
        DirModule.self,
        // Its translate runs after mod_alias's, which Apache's mod_userdir names as its predecessor.
        UserDirModule.self,
        AutoindexModule.self,
        ReqtimeoutModule.self,
        LogConfigModule.self,
        StatusModule.self,
        ProxyFCGIModule.self,
        CGIModule.self,
        CGIDModule.self,
    ]

    public static var all: [ModuleDescriptor] { types.map { $0.descriptor } }
}
