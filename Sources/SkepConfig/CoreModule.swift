/// The always-present modules of SkepConfig's own: Apache's `core`, `http_core`,
/// `mod_so` and `mod_unixd`, with their directive tables.
public enum CoreModule {
    public static var all: [ModuleDescriptor] { [core, http, so, unixd] }

    /// Apache's `core.c`: server identity, paths, limits, sections, logging basics.
    public static let core = ModuleDescriptor(name: "core_module", sourceName: "core.c", isStatic: true, directives: [
        section("VirtualHost", .serverConfig, "a list of addresses the virtual host answers on"),
        section("Directory", [.server], "a directory path"),
        section("DirectoryMatch", [.server], "a regular expression for directory paths"),
        section("Location", [.server], "a URL path"),
        section("LocationMatch", [.server], "a regular expression for URL paths"),
        section("Files", [.server, .directory], "a file name, wildcards allowed"),
        section("FilesMatch", [.server, .directory], "a regular expression for file names"),
        section("If", .anywhere, "an expression: the section applies when it is true"),
        section("ElseIf", .anywhere, "an expression, tried when the <If> or <ElseIf> before it did not apply"),
        section("Else", .anywhere, "nothing: applies when the <If> or <ElseIf> before it did not"),
        section("Limit", .perDirectory, "methods whose access control the enclosed Require, Allow and Deny lines are"),
        section("LimitExcept", .perDirectory, "methods whose access control the enclosed lines are not"),
        section("IfModule", .anywhere, "a module name"),
        section("IfDefine", .anywhere, "a parameter name"),
        section("IfFile", .anywhere, "a file path"),
        section("IfDirective", .anywhere, "a directive name"),
        section("IfSection", .anywhere, "a section name"),
        readTime("Include", .take1, "the file, directory or wildcard pattern to include"),
        readTime("IncludeOptional", .take1, "the file, directory or wildcard pattern to include if it exists"),
        readTime("Define", .take12, "a name and an optional value"),
        readTime("UnDefine", .take1, "a name"),
        DirectiveSpec("ServerRoot", .take1, .serverConfig, help: "the root directory of the server") { _, _ throws(ConfigError) in },
        server("ServerName", .take1, "the hostname and optional port of the server") { d, c in c.serverName = d.arguments[0] },
        server("ServerAlias", .iterate, "names the virtual host also answers to") { d, c in c.serverAliases += d.arguments },
        server("ServerAdmin", .take1, "the e-mail address shown in error pages") { d, c in c.serverAdmin = d.arguments[0] },
        DirectiveSpec("DocumentRoot", .take1, .server, help: "the root directory of the document tree") { d, scope throws(ConfigError) in
            var root = scope.serverRootRelative(d.arguments[0])
            while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
            scope.server[CoreServerConfig.self].documentRoot = root
        },
        server("Timeout", .take1, "the time to wait for a client to send or accept data") { d, c throws(ConfigError) in
            c.timeoutMs = try d.durationMilliseconds()
        },
        server("LimitInternalRecursion", .take12, "internal redirects a request may make (and subrequest depth), each 1 to 100; default 10") { d, c throws(ConfigError) in
            // Each internal redirect nests the request's processing on the thread's stack,
            // so Skep bounds what Apache leaves open.
            let limit = try d.integer(0, in: 1...CoreServerConfig.largestRecursionLimit)
            if d.arguments.count > 1 { _ = try d.integer(1, in: 1...CoreServerConfig.largestRecursionLimit) }
            c.limitInternalRecursion = limit
        },
        global("RegexDefaultOptions", .raw, "default options for regexes (prefixed by '+' to add, '-' to del)") { d, c throws(ConfigError) in
            // Apache's `set_regex_default_options`: NONE clears, +NAME adds, -NAME removes, a
            // bare NAME replaces; the regexes compiled after this line get the result.
            var options = PCRERegex.defaultOptions
            for word in d.arguments {
                if word.lowercased() == "none" {
                    options = []
                    continue
                }
                var name = Substring(word)
                let sign = name.first == "+" || name.first == "-" ? name.removeFirst() : nil
                guard let option = PCRERegex.Options(name: String(name)) else {
                    throw d.error("RegexDefaultOptions: option '\(name)' unknown")
                }
                switch sign {
                case "+": options.insert(option)
                case "-": options.remove(option)
                default: options = option
                }
            }
            PCRERegex.configurationDefaults?.options = options
            c.regexDefaultOptions = options
        },
        server("LimitRequestLine", .take1, "the longest request line in bytes") { d, c throws(ConfigError) in
            c.limitRequestLine = try d.integer(in: 0...65536)
        },
        server("LimitRequestFieldSize", .take1, "the longest request header field in bytes") { d, c throws(ConfigError) in
            c.limitRequestFieldSize = try d.integer(in: 0...65536)
        },
        server("LimitRequestFields", .take1, "the most request header fields") { d, c throws(ConfigError) in
            c.limitRequestFields = try d.integer(in: 0...32767)
        },
        server("ErrorLog", .take1, "the error log file, or |program, or syslog") { d, c in c.errorLog = d.arguments[0] },
        DirectiveSpec("LogLevel", .iterate, .anywhere, help: "a level (emerg...trace8) and optional module:level pairs") { d, scope throws(ConfigError) in
            var setting = scope.server[CoreServerConfig.self].logLevel ?? LogLevelSetting()
            for word in d.arguments {
                if let colon = word.firstIndex(of: ":") {
                    var module = String(word[..<colon])
                    if module.hasSuffix("_module") { module.removeLast("_module".count) }
                    if module.hasPrefix("mod_") { module.removeFirst(4) }
                    guard let level = LogLevel(name: String(word[word.index(after: colon)...])) else {
                        throw d.error("LogLevel: '\(word)' has an unknown level (use emerg, alert, crit, error, warn, notice, info, debug, trace1...trace8)")
                    }
                    setting.perModule[module] = level
                } else {
                    guard let level = LogLevel(name: word) else {
                        throw d.error("LogLevel: '\(word)' is not a level (use emerg, alert, crit, error, warn, notice, info, debug, trace1...trace8)")
                    }
                    setting.base = level
                }
            }
            if scope.context.isDisjoint(with: .server) {
                scope.warnings.append(d.warning("LogLevel inside a per-directory section is applied to the whole server by Skep"))
            }
            scope.server[CoreServerConfig.self].logLevel = setting
        },
        global("PidFile", .take1, "the file the master writes its process id to") { d, c in c.pidFile = d.arguments[0] },
        global("DefaultRuntimeDir", .take1, "the directory for run-time files") { d, c in c.defaultRuntimeDir = d.arguments[0] },
        global("ServerTokens", .take1, "Prod, Major, Minor, Min, OS or Full") { d, c throws(ConfigError) in
            c.serverTokens = try d.choice(0, ["Prod", "ProductOnly", "Major", "Minor", "Min", "Minimal", "OS", "Full"])
        },
        global("FileCacheSize", .take1, "bytes of small files each child keeps in memory, 0 for none (Skep's own)") { d, c throws(ConfigError) in
            c.fileCacheSize = try d.integer(in: 0...Int(Int32.max))
        },
        server("HostnameLookups", .take1, "On, Off or Double") { d, c throws(ConfigError) in
            c.hostnameLookups = try d.choice(0, ["On", "Off", "Double"]) != "Off"
        },
        server("TraceEnable", .take1, "On, Off or extended") { d, c throws(ConfigError) in
            c.traceEnable = try d.choice(0, ["On", "Off", "extended"]) != "Off"
        },
        DirectiveSpec("Listen", .take12, .serverConfig, help: "an address and port, and an optional protocol") { d, scope throws(ConfigError) in
            guard let address = ListenAddress(parsing: d.arguments[0], proto: d.arguments.count > 1 ? d.arguments[1] : nil) else {
                throw d.error("Listen: '\(d.arguments[0])' is not a port, address:port or [ipv6]:port")
            }
            if scope.server[ListenConfig.self].listens.contains(where: { $0.host == address.host && $0.port == address.port }) {
                throw d.error("Listen: \(address) is listed twice")
            }
            scope.server[ListenConfig.self].listens.append(address)
        },
        DirectiveSpec("ListenBacklog", .take1, .serverConfig, help: "the length of the listen queue") { d, scope throws(ConfigError) in
            scope.server[ListenConfig.self].listenBacklog = try d.integer(in: 1...65535)
        },
        DirectiveSpec("Options", .raw, .anywhere, help: "Indexes, FollowSymLinks, ... or None, All, each with an optional + or -") { d, scope throws(ConfigError) in
            scope.directory[CoreDirConfig.self].options = try OptionsSetting.parse(d, allowed: scope.isHtaccess ? scope.overrideOptions : nil)
        },
        .accepted("Mutex", .take12, .serverConfig, help: "a mutex mechanism and optional names",
                  note: "accepted with no effect: Skep's processes share no accept mutex (the kernel's EPOLLEXCLUSIVE spreads accepts)"),
        CoreOutputFilterConfig.directive,
        dir("SetHandler", .take1, "a handler name, or None") { d, c in
            c.handler = d.arguments[0].lowercased() == "none" ? "" : d.arguments[0]
        },
        dir("LimitRequestBody", .take1, "the largest request body in bytes (default 1 GiB), 0 for no limit") { d, c throws(ConfigError) in
            c.limitRequestBody = try d.integer(in: 0...Int(Int64.max))
        },
        dir("EnableSendfile", .flag, "On to send files with sendfile(2)") { d, c throws(ConfigError) in c.enableSendfile = try d.flag() },
        dir("EnableMMAP", .flag, "accepted; Skep reads or sends files without mapping them") { d, c throws(ConfigError) in c.enableMMAP = try d.flag() },
        dir("ErrorDocument", .take2, "an error code and a local URL, a full URL or a message") { d, c throws(ConfigError) in
            let code = try d.integer(0, in: 400...599)
            c.errorDocuments[code] = d.arguments[1]
        },
        dir("FileETag", .iterate, "INode, MTime, Size, Digest, All or None, each with an optional + or -") { d, c throws(ConfigError) in
            var components = c.fileETag ?? .default
            var absolute: ETagComponents = []
            var sawAbsolute = false
            for word in d.arguments {
                var name = Substring(word.lowercased())
                let sign = name.first == "+" || name.first == "-" ? name.removeFirst() : nil
                let part: ETagComponents
                switch name {
                case "inode": part = .inode
                case "mtime": part = .mtime
                case "size": part = .size
                case "digest": part = .digest
                case "all": part = [.inode, .mtime, .size]
                case "none": part = []
                default: throw d.error("FileETag: unknown component '\(word)'")
                }
                switch sign {
                case "+": components.formUnion(part)
                case "-": components.subtract(part)
                default: absolute.formUnion(part); sawAbsolute = true
                }
            }
            c.fileETag = sawAbsolute ? absolute : components
        },
        dir("ServerSignature", .take1, "On, Off or EMail") { d, c throws(ConfigError) in
            c.serverSignature = try d.choice(0, ["On", "Off", "EMail"])
        },
    ] + protocolDirectives + overrideDirectives, overrides: [
        "Files": .all,
        "FilesMatch": .all,
        "If": .all,
        "ElseIf": .all,
        "Else": .all,
        "Limit": [.authConfig, .limit],
        "LimitExcept": [.authConfig, .limit],
        "IfModule": .all,
        "IfDefine": .all,
        "IfFile": .all,
        "IfDirective": .all,
        "IfSection": .all,
        "Options": .options,
        "SetHandler": .fileInfo,
        "LimitRequestBody": .all,
        "EnableSendfile": .fileInfo,
        "EnableMMAP": .fileInfo,
        "ErrorDocument": .fileInfo,
        "FileETag": .fileInfo,
        "ServerSignature": .all,
        "AddDefaultCharset": .fileInfo,
        "CGIPassAuth": .authConfig,
        "SetOutputFilter": .fileInfo,
    ])

    /// Apache's `http_core.c`: persistent connections.
    public static let http = ModuleDescriptor(name: "http_module", sourceName: "http_core.c", isStatic: true, directives: [
        server("KeepAlive", .flag, "On to allow persistent connections") { d, c throws(ConfigError) in c.keepAlive = try d.flag() },
        server("KeepAliveTimeout", .take1, "how long to wait for the next request on a persistent connection") { d, c throws(ConfigError) in
            c.keepAliveTimeoutMs = try d.durationMilliseconds()
        },
        global("KeepAliveGrace", .take1, "Skep's own: how long a stopping child keeps an idle persistent connection for one last request (default 2 s, 0 closes at once)") { d, c throws(ConfigError) in
            c.keepAliveGraceMs = try d.durationMilliseconds()
        },
        server("MaxKeepAliveRequests", .take1, "the most requests on one connection, 0 for no limit") { d, c throws(ConfigError) in
            c.maxKeepAliveRequests = try d.integer()
        },
    ])

    /// Apache's `mod_so.c`: `LoadModule` is done by the reader; Skep's modules are built in.
    public static let so = ModuleDescriptor(name: "so_module", sourceName: "mod_so.c", isStatic: true, directives: [
        DirectiveSpec("LoadModule", .take2, .serverConfig, help: "a module name and the shared object to load it from") { _, _ throws(ConfigError) in },
        .accepted("LoadFile", .iterate, .serverConfig, help: "shared objects to load",
                  note: "accepted with no effect: Skep loads no shared objects"),
    ])

    /// Apache's `mod_unixd.c`: the user and group the children run as.
    public static let unixd = ModuleDescriptor(name: "unixd_module", sourceName: "mod_unixd.c", isStatic: true, directives: [
        DirectiveSpec("User", .take1, .serverConfig, help: "the user name or #uid the children run as") { d, scope throws(ConfigError) in
            scope.server[UnixdConfig.self].user = d.arguments[0]
        },
        DirectiveSpec("Group", .take1, .serverConfig, help: "the group name or #gid the children run as") { d, scope throws(ConfigError) in
            scope.server[UnixdConfig.self].group = d.arguments[0]
        },
    ])

    // MARK: - Table helpers

    static func section(_ name: String, _ contexts: DirectiveContext, _ help: String) -> DirectiveSpec {
        DirectiveSpec(name, .raw, contexts, help: help, isSection: true) { _, _ throws(ConfigError) in }
    }

    /// Directives the reader carries out while reading; listed so tables and `<IfDirective>` know them.
    static func readTime(_ name: String, _ count: ArgumentCount, _ help: String) -> DirectiveSpec {
        DirectiveSpec(name, count, .anywhere, help: help) { _, _ throws(ConfigError) in }
    }

    /// A per-server directive of the core record, allowed in the main server and virtual hosts.
    static func server(_ name: String, _ count: ArgumentCount, _ help: String,
                       _ set: @escaping @Sendable (Directive, inout CoreServerConfig) throws(ConfigError) -> Void) -> DirectiveSpec {
        DirectiveSpec(name, count, .server, help: help) { d, scope throws(ConfigError) in
            try set(d, &scope.server[CoreServerConfig.self])
        }
    }

    /// A process-wide directive: main server only.
    static func global(_ name: String, _ count: ArgumentCount, _ help: String,
                       _ set: @escaping @Sendable (Directive, inout CoreServerConfig) throws(ConfigError) -> Void) -> DirectiveSpec {
        DirectiveSpec(name, count, .serverConfig, help: help) { d, scope throws(ConfigError) in
            try set(d, &scope.server[CoreServerConfig.self])
        }
    }

    /// A per-directory directive of the core record, allowed anywhere.
    static func dir(_ name: String, _ count: ArgumentCount, _ help: String,
                    _ set: @escaping @Sendable (Directive, inout CoreDirConfig) throws(ConfigError) -> Void) -> DirectiveSpec {
        DirectiveSpec(name, count, .anywhere, help: help) { d, scope throws(ConfigError) in
            try set(d, &scope.directory[CoreDirConfig.self])
        }
    }
}
