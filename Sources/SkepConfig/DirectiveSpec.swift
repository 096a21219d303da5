/// How many arguments a directive takes: Apache's `cmd_how` values.
public enum ArgumentCount: Sendable, Hashable {
    case none          // NO_ARGS
    case take1         // TAKE1
    case take2         // TAKE2
    case take3         // TAKE3
    case take12        // TAKE12
    case take13        // TAKE13
    case take23        // TAKE23
    case take123       // TAKE123
    case iterate       // ITERATE: one or more
    case iterate2      // ITERATE2: two or more
    case flag          // FLAG: On or Off
    case raw           // RAW_ARGS: anything, the directive checks

    func accepts(_ n: Int) -> Bool {
        switch self {
        case .none: return n == 0
        case .take1, .flag: return n == 1
        case .take2: return n == 2
        case .take3: return n == 3
        case .take12: return n == 1 || n == 2
        case .take13: return n == 1 || n == 3
        case .take23: return n == 2 || n == 3
        case .take123: return (1...3).contains(n)
        case .iterate: return n >= 1
        case .iterate2: return n >= 2
        case .raw: return true
        }
    }

    /// Apache's wording: "takes one argument", "takes one or two arguments"...
    var phrase: String {
        switch self {
        case .none: return "takes no arguments"
        case .take1: return "takes one argument"
        case .take2: return "takes two arguments"
        case .take3: return "takes three arguments"
        case .take12: return "takes one or two arguments"
        case .take13: return "takes one or three arguments"
        case .take23: return "takes two or three arguments"
        case .take123: return "takes one, two or three arguments"
        case .iterate: return "requires at least one argument"
        case .iterate2: return "requires at least two arguments"
        case .flag: return "must be On or Off"
        case .raw: return "takes any arguments"
        }
    }
}

/// The state a directive writes into while the configuration is processed: the
/// per-server config vector of the server being configured (main or a virtual host)
/// and the per-directory vector of the section the directive sits in, as Apache hands
/// a directive `cmd->server->module_config` and `mconfig`.
public struct DirectiveScope: Sendable {
    public var server: ConfigVector
    public var directory: ConfigVector
    /// Where the directive stands: one of `.serverConfig`, `.virtualHost`, `.directory`, `.location`, `.files`.
    public var context: DirectiveContext
    /// ServerRoot, for directives that take paths relative to it.
    public var serverRoot: String
    /// Findings that do not stop the server (Apache's start-up warnings).
    public var warnings: [ConfigDiagnostic] = []
    /// The modules `LoadModule` enabled (`authz_user_module`...): a directive that names a
    /// provider of another module (`Require user`) checks that it is loaded, as Apache's
    /// provider lookup does. Empty when not known.
    public var activeModules: Set<String> = []
    /// The methods the directive applies to: narrowed by `<Limit>` and `<LimitExcept>`,
    /// which only access-control directives (`Require`, `Allow`, `Deny`) take into account.
    public var limited: MethodLimit = .all
    /// The directory of the enclosing `<Directory>` section or `.htaccess` file, with a
    /// trailing slash (Apache's `cmd->path`, which per-directory mod_rewrite strips from
    /// the path); nil at server level and in `<Location>`/`<Files>`.
    public var path: String?
    /// The URL path of the enclosing `<Location>` section (not `<LocationMatch>`): what
    /// `ProxyPass URL` inside it maps (Apache's `cmd->path` there); nil elsewhere.
    public var location: String?
    /// True while a `.htaccess` file is read (Apache's `cmd->pool == cmd->temp_pool`):
    /// a directive that behaves differently there (`Options` under `AllowOverride
    /// Options=...`) or refuses it (`php_admin_value`) asks this.
    public var isHtaccess = false
    /// In `.htaccess`: the options `AllowOverride Options=...` lets `Options` set.
    public var overrideOptions: DirectoryOptions = .everything

    public init(server: ConfigVector, directory: ConfigVector, context: DirectiveContext, serverRoot: String) {
        self.server = server
        self.directory = directory
        self.context = context
        self.serverRoot = serverRoot
    }

    /// A path made absolute against ServerRoot, as Apache's `ap_server_root_relative`.
    public func serverRootRelative(_ path: String) -> String { ServerRoot.relative(path, to: serverRoot) }
}

/// One entry of a module's directive table (Apache's `command_rec`): the name, the
/// arguments it takes, where it may appear, and how it folds into the module's config.
public struct DirectiveSpec: Sendable {
    public typealias Apply = @Sendable (_ directive: Directive, _ scope: inout DirectiveScope) throws(ConfigError) -> Void

    public var name: String
    public var arguments: ArgumentCount
    public var contexts: DirectiveContext
    /// One line for `skep -L`-style listings and for argument-count errors.
    public var help: String
    /// True for `<Name ...>` sections; their children are processed in the section's context.
    public var isSection: Bool
    /// The `AllowOverride` classes that let the directive appear in `.htaccess`
    /// (Apache's `OR_*` bits of `req_override`); empty: never in `.htaccess`.
    public var overrides: OverrideClass = []
    public var apply: Apply

    public init(_ name: String, _ arguments: ArgumentCount, _ contexts: DirectiveContext,
                help: String, isSection: Bool = false, apply: @escaping Apply) {
        self.name = name
        self.arguments = arguments
        self.contexts = contexts
        self.help = help
        self.isSection = isSection
        self.apply = apply
    }

    /// A directive Skep accepts for compatibility and ignores, with the reason given once
    /// as a note (`Mutex`, `AccessFileName`...).
    public static func accepted(_ name: String, _ arguments: ArgumentCount, _ contexts: DirectiveContext,
                                help: String, note: String? = nil) -> DirectiveSpec {
        DirectiveSpec(name, arguments, contexts, help: help) { directive, scope throws(ConfigError) in
            if let note { scope.warnings.append(ConfigDiagnostic(.note, directive.location, "\(directive.name): \(note)")) }
        }
    }
}
