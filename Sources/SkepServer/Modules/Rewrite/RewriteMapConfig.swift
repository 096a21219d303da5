import SkepConfig

/// The `RewriteMap`s of one server (mod_rewrite's `rewritemaps` hash in its per-server
/// record), and how a virtual host gets its main server's maps.
struct RewriteMapConfig: ModuleConfig {
    /// The maps by name (case-sensitive, as Apache's hash).
    var maps: [String: RewriteMap] = [:]
    /// The `RewriteOptions` inheritance options of this server, and whether any was
    /// written here (Apache's `options`/`options_set`), which decide the merge. The rule
    /// engine's `RewriteOptions` sets them with `setInheritance`.
    private(set) var inheritance: RewriteOptions = []
    private(set) var inheritanceSet = false
    /// True when a directive of this record was written inside `<VirtualHost>`. A host
    /// without one has no record of its own, so the configuration vector hands it the
    /// main server's unmerged: `maps(for:)` then merges as Apache merges every host.
    var writtenInVirtualHost = false

    init() {}

    /// The maps `server` sees: this record's, or for a virtual host that wrote none of
    /// mod_rewrite's server directives, what Apache's merge with an empty record gives.
    func maps(for server: VirtualHost) -> [String: RewriteMap] {
        guard server.location != nil, !writtenInVirtualHost else { return maps }
        return merged(with: RewriteMapConfig()).maps
    }

    /// Records the `RewriteOptions` of this server that decide whether a virtual host
    /// sees its main server's maps.
    mutating func setInheritance(_ options: RewriteOptions) {
        inheritance = options.intersection([.inherit, .inheritBefore, .inheritDown, .inheritDownBefore, .ignoreInherit])
        inheritanceSet = true
    }

    /// Apache's `config_server_merge` for the maps: a virtual host has only its own maps,
    /// unless `RewriteOptions Inherit` (the host's maps win) or `InheritBefore` (the main
    /// server's win), in the host or, as `InheritDown`/`InheritDownBefore`, in the main
    /// server without the host's `IgnoreInherit`.
    func merged(with child: RewriteMapConfig) -> RewriteMapConfig {
        var result = child
        result.writtenInVirtualHost = true
        let options = child.inheritanceSet ? child.inheritance : inheritance
        result.inheritance = options
        result.inheritanceSet = child.inheritanceSet || inheritanceSet
        let ignores = options.contains(.ignoreInherit)
        if options.contains(.inherit) || (inheritance.contains(.inheritDown) && !ignores) {
            result.maps = maps.merging(child.maps) { _, own in own }
        } else if options.contains(.inheritBefore) || (inheritance.contains(.inheritDownBefore) && !ignores) {
            result.maps = child.maps.merging(maps) { _, main in main }
        }
        return result
    }
}
