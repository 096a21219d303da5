import SkepConfig

/// mod_rewrite's `RewriteMap`s: the `RewriteMap` directive and `${name:key|default}`
/// lookups. The seam between the rule engine (`RewriteModule`) and the map types
/// (`txt`, `rnd`, `int`, `prg`), which are built separately.
enum RewriteMaps {
    /// The `RewriteMap` directive, part of mod_rewrite's table.
    static let directives: [DirectiveSpec] = []

    /// Called once per generation from `RewriteModule.init(config:)`: starts what the maps
    /// need (a `prg:` map's helper process).
    static func prepare(_ config: ServerConfig) throws {}

    /// `${name:key}`: the map's value for `key`; nil when the map has no such key (the
    /// rule then uses the default after `|`, or the empty string) or no map has the name.
    static func lookup(_ name: String, key: String, _ r: Request, _ context: ServerContext) -> String? { nil }
}
