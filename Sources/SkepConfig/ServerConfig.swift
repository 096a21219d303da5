/// The processed configuration: typed module records for the main server and each
/// virtual host, with the per-directory sections in the order Apache merges them.
/// Immutable once built; a graceful restart builds a new one.
public struct ServerConfig: Sendable {
    /// The file the configuration was read from (or the embedded default's name).
    public var configFile: String
    public var serverRoot: String
    /// The main server: directives outside any `<VirtualHost>`.
    public var main: VirtualHost
    /// Every `<VirtualHost>`, in file order; the first for an address is its default.
    public var virtualHosts: [VirtualHost]
    public var loadedModules: [ConfigReader.LoadedModule]
    public var activeModules: Set<String>
    public var defines: [String: String?]
    /// Start-up warnings and notes, each with file:line.
    public var warnings: [ConfigDiagnostic]

    /// A record of the main server, for process-wide settings (Listen, PidFile, MPM sizing).
    public subscript<C: ModuleConfig>(_ type: C.Type) -> C { main.server[type] }

    public func isActive(_ module: String) -> Bool { activeModules.contains(module) }
}

/// The main server or one `<VirtualHost>`.
public struct VirtualHost: Sendable {
    /// The `<VirtualHost>` arguments as written (`*:80`, `127.0.0.1:8080`); empty for the main server.
    public var addresses: [String]
    public var location: SourceLocation?
    /// Per-server records, already merged with the main server's (Apache's `merge_server_config`).
    public var server: ConfigVector
    /// Per-directory records written outside any section: the base every request starts from.
    public var defaults: ConfigVector
    /// `<Directory>`, `<Location>`, `<Files>` and their `Match` forms; the main server's first,
    /// then the virtual host's own, as Apache appends them.
    public var sections: [DirectorySection]

    public init(addresses: [String] = [], location: SourceLocation? = nil) {
        self.addresses = addresses
        self.location = location
        self.server = ConfigVector()
        self.defaults = ConfigVector()
        self.sections = []
    }
}

/// One per-directory section with the records its directives built.
public struct DirectorySection: Sendable {
    public enum Kind: String, Sendable { case directory, directoryMatch, location, locationMatch, files, filesMatch }

    public var kind: Kind
    /// The path, URL or name as written (`/var/www`, `\.php$`); for `<Directory ~ re>` the regex.
    public var pattern: String
    /// True for the `Match` forms and for `~` written before the pattern.
    public var isRegex: Bool
    /// The compiled pattern when `isRegex`.
    public var regex: SectionPattern?
    public var location: SourceLocation
    public var config: ConfigVector
    /// `<Files>` sections nested in this `<Directory>`: they apply only below it.
    public var nested: [DirectorySection]
}
