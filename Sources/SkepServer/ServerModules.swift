import SkepConfig

/// The modules of SkepServer: the request-handling modules Apache users know. Each is
/// one file that declares its directives, its records and its hooks; this list is what
/// the configuration reader, `skep -M` and the request phases see, in hook order
/// (mod_mime is Apache's type_checker, so it runs before mod_dir's fixup; mod_proxy's
/// translate runs before mod_alias's, as Apache's `proxy_trans` is hooked first;
/// mod_negotiation's MultiViews runs after mod_mime labelled the request and before
/// mod_env's and mod_dir's fixups, see `NegotiationModule`). The access, authentication and authorization
/// modules each own one of the phases that `AccessPhases` runs in Apache's order
/// (mod_authn_core's `check_user_id` is Apache's last, after mod_auth_basic's).
public enum ServerModules {
    public static let types: [any HTTPModule.Type] = [
        // mod_rewrite's translate and fixup are hooked APR_HOOK_FIRST, before mod_proxy's
        // (and mod_setenvif has no translate or fixup hook).
        RewriteModule.self,
        SetEnvIfModule.self,
        ProxyModule.self,
        AliasModule.self,
        AccessCompatModule.self,
        AuthnFileModule.self,
        AuthBasicModule.self,
        AuthnCoreModule.self,
        AuthzCoreModule.self,
        AuthzHostModule.self,
        AuthzUserModule.self,
        AuthzGroupfileModule.self,
        MimeModule.self,
        NegotiationModule.self,
        EnvModule.self,
        DirModule.self,
        // Its translate runs after mod_alias's, which Apache's mod_userdir names as its predecessor.
        UserDirModule.self,
        AutoindexModule.self,
        ReqtimeoutModule.self,
        LogConfigModule.self,
        StatusModule.self,
        ProxyFCGIModule.self,
        ProxyHTTPModule.self,
        RemoteIPModule.self,
        // No hooks: its per-directory settings are read by mod_proxy_fcgi.
        PHPFPMModule.self,
        CGIModule.self,
        CGIDModule.self,
        // `HTTPS` and `SSL_*` are set in its fixup, before any handler builds a script's environment.
        SSLModule.self,
        SocacheShmcbModule.self,
        FilterModule.self,
        DeflateModule.self,
        // mod_expires' insert_filter runs before mod_headers' (APR_HOOK_LAST), so a
        // `Header` line sees the Expires and Cache-Control it added.
        ExpiresModule.self,
        HeadersModule.self,
        // mod_rewrite's `hook_mimetype` (T=, H=) is a fixup hooked APR_HOOK_LAST.
        RewriteForcedTypeModule.self,
    ]

    public static var all: [ModuleDescriptor] { types.map { $0.descriptor } }
}
