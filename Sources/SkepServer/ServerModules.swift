import SkepConfig

/// The modules of SkepServer: the request-handling modules Apache users know
/// (mod_mime, mod_dir, mod_alias, mod_log_config, mod_status...). Each is one file
/// that declares its directives, its records and its hooks; this list is what the
/// configuration reader and `skep -M` see.
public enum ServerModules {
    public static var all: [ModuleDescriptor] { [] }
}
