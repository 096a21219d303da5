import SkepConfig

/// `RewriteOptions` words, Apache's `OPTION_*` bits.
struct RewriteOptions: OptionSet, Sendable {
    let rawValue: UInt16
    static let inherit = RewriteOptions(rawValue: 1 << 0)
    static let inheritBefore = RewriteOptions(rawValue: 1 << 1)
    static let inheritDown = RewriteOptions(rawValue: 1 << 2)
    static let inheritDownBefore = RewriteOptions(rawValue: 1 << 3)
    static let ignoreInherit = RewriteOptions(rawValue: 1 << 4)
    static let allowNoSlash = RewriteOptions(rawValue: 1 << 5)
    static let allowAnyURI = RewriteOptions(rawValue: 1 << 6)
    static let mergeBase = RewriteOptions(rawValue: 1 << 7)
    static let ignoreContextInfo = RewriteOptions(rawValue: 1 << 8)
    static let legacyPrefixDocRoot = RewriteOptions(rawValue: 1 << 9)
    static let longURLOptimization = RewriteOptions(rawValue: 1 << 10)
    static let unsafePrefixStat = RewriteOptions(rawValue: 1 << 11)

    /// The option a word names, case-insensitively; nil for an unknown word.
    static func named(_ word: String) -> RewriteOptions? {
        switch word.lowercased() {
        case "inherit": return .inherit
        case "inheritbefore": return .inheritBefore
        case "inheritdown": return .inheritDown
        case "inheritdownbefore": return .inheritDownBefore
        case "ignoreinherit": return .ignoreInherit
        case "allownoslash": return .allowNoSlash
        case "allowanyuri": return .allowAnyURI
        case "mergebase": return .mergeBase
        case "ignorecontextinfo": return .ignoreContextInfo
        case "legacyprefixdocroot": return .legacyPrefixDocRoot
        case "longurloptimization": return .longURLOptimization
        case "unsafeprefixstat": return .unsafePrefixStat
        default: return nil
        }
    }

    /// Apache's inheritance of rule lists (`config_server_merge`/`config_perdir_merge`):
    /// the parent's rules after the child's (`Inherit`, or the parent's `InheritDown`),
    /// before them (`InheritBefore`, `InheritDownBefore`), or not at all.
    static func inheritedList<T>(parent: [T], child: [T], parentOptions: RewriteOptions, options: RewriteOptions) -> [T] {
        if options.contains(.inherit) || (parentOptions.contains(.inheritDown) && !options.contains(.ignoreInherit)) {
            return child + parent
        }
        if options.contains(.inheritBefore) || (parentOptions.contains(.inheritDownBefore) && !options.contains(.ignoreInherit)) {
            return parent + child
        }
        return child
    }
}

/// mod_rewrite's per-server record (`rewrite_server_conf`): the engine state, options
/// and the server-context rules, run by the translate hook.
public struct RewriteServerConfig: ModuleConfig {
    var engineOn = false
    var engineSet = false
    var options: RewriteOptions = []
    var optionsSet = false
    var rules: [RewriteRuleEntry] = []
    /// `RewriteCond`s read since the last `RewriteRule`, which takes them.
    var pendingConditions: [RewriteCondition] = []
    /// True for a virtual host's own record: one written in `<VirtualHost>` or merged
    /// into one. Skep hands a virtual host without a mod_rewrite directive the main
    /// server's record unmerged, where Apache merges an empty one (its rules not
    /// inherited): `rules(for:)` makes up for it.
    var isVirtualHostRecord = false

    public init() {}

    public func merged(with child: RewriteServerConfig) -> RewriteServerConfig {
        var out = RewriteServerConfig()
        out.engineOn = child.engineSet ? child.engineOn : engineOn
        out.engineSet = child.engineSet || engineSet
        out.options = child.optionsSet ? child.options : options
        out.optionsSet = child.optionsSet || optionsSet
        out.rules = RewriteOptions.inheritedList(parent: rules, child: child.rules, parentOptions: options, options: out.options)
        out.isVirtualHostRecord = true
        return out
    }

    /// The rules that apply to `server`: a virtual host that holds the main server's
    /// record as it is gets the result of merging an empty record into it.
    func rules(for server: VirtualHost) -> [RewriteRuleEntry] {
        guard !isVirtualHostRecord, !server.addresses.isEmpty else { return rules }
        return RewriteOptions.inheritedList(parent: rules, child: [], parentOptions: options, options: options)
    }
}

/// mod_rewrite's per-directory record (`rewrite_perdir_conf`): the state, options,
/// `RewriteBase` and rules of a `<Directory>` (or `.htaccess`), with the directory
/// whose prefix the rules strip (Apache's `cmd->path`).
public struct RewriteDirConfig: ModuleConfig {
    var engineOn = false
    var engineSet = false
    var options: RewriteOptions = []
    var optionsSet = false
    var baseURL: String?
    var baseURLSet = false
    /// The directory with a trailing slash; nil at server level (the fixup hook then
    /// does nothing, as Apache's `dconf->directory == NULL`).
    var directory: String?
    var rules: [RewriteRuleEntry] = []
    var pendingConditions: [RewriteCondition] = []

    public init() {}

    public func merged(with child: RewriteDirConfig) -> RewriteDirConfig {
        var out = RewriteDirConfig()
        out.engineOn = child.engineSet ? child.engineOn : engineOn
        out.engineSet = child.engineSet || engineSet
        out.options = child.optionsSet ? child.options : options
        out.optionsSet = child.optionsSet || optionsSet
        if out.options.contains(.mergeBase) {
            out.baseURL = child.baseURLSet ? child.baseURL : baseURL
            out.baseURLSet = child.baseURLSet || baseURLSet
        } else {
            out.baseURL = child.baseURL
            out.baseURLSet = child.baseURLSet
        }
        out.directory = child.directory
        out.rules = RewriteOptions.inheritedList(parent: rules, child: child.rules, parentOptions: options, options: out.options)
        out.pendingConditions = RewriteOptions.inheritedList(parent: pendingConditions, child: child.pendingConditions, parentOptions: options, options: out.options)
        return out
    }
}
