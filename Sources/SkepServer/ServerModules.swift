import SkepConfig

/// The modules of SkepServer: the request-handling modules Apache users know. Each is
/// one file that declares its directives, its records and its hooks; this list is what
/// the configuration reader, `skep -M` and the request phases see, in hook order.
public enum ServerModules {
    public static let types: [any HTTPModule.Type] = [
        AliasModule.self,
        AuthzCoreModule.self,
        AuthzHostModule.self,
        DirModule.self,
        AutoindexModule.self,
        ReqtimeoutModule.self,
    ]

    public static var all: [ModuleDescriptor] { types.map { $0.descriptor } }
}
