/// What a module tells the configuration reader about itself, as Apache's `module`
/// struct does: its names and its directive table. SkepConfig knows no module; the
/// program hands the reader the list of modules it was built with.
public struct ModuleDescriptor: Sendable {
    /// The name `LoadModule` and `<IfModule>` use: `status_module`.
    public var name: String
    /// The source-file name `<IfModule mod_status.c>` uses.
    public var sourceName: String
    /// Compiled in and always active, as `core_module` or Debian's `log_config_module`;
    /// otherwise active only after `LoadModule`.
    public var isStatic: Bool
    public var directives: [DirectiveSpec]
    /// Modules that must be loaded too, as a DSO needs the symbols of another
    /// (`proxy_fcgi_module` needs `proxy_module`).
    public var requires: [String]

    /// `overrides` tags directives of the table with their `AllowOverride` classes
    /// (Apache's `OR_*` bits), by directive name; a name not in the table is a programming
    /// error that `ModuleOverrideTests` reports.
    public init(name: String, sourceName: String, isStatic: Bool = false, requires: [String] = [],
                directives: [DirectiveSpec] = [], overrides: [String: OverrideClass] = [:]) {
        self.name = name
        self.sourceName = sourceName
        self.isStatic = isStatic
        self.requires = requires
        self.directives = directives.map { spec in
            var spec = spec
            if let classes = overrides[spec.name] { spec.overrides = classes }
            return spec
        }
        self.unknownOverrides = Set(overrides.keys).subtracting(directives.map(\.name)).sorted()
    }

    /// Names in the `overrides` table that no directive of the module has (should be none).
    public let unknownOverrides: [String]

    /// `true` when `identifier` names this module in either of Apache's forms.
    public func isNamed(_ identifier: String) -> Bool {
        identifier == name || identifier == sourceName
    }
}
