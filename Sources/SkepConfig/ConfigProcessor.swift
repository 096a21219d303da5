/// Turns the directive tree into a `ServerConfig`: checks each directive's context
/// and argument count against its module's table, lets the module fold it into its
/// record, and builds the virtual hosts and per-directory sections.
public struct ConfigProcessor {
    let specs: [String: DirectiveSpec]
    var errors: [ConfigDiagnostic] = []
    var warnings: [ConfigDiagnostic] = []
    let serverRoot: String
    var activeModules: Set<String> = []
    /// The methods of the `<Limit>`/`<LimitExcept>` being processed (`cmd->limited`).
    var limited: MethodLimit = .all
    /// The directory of the `<Directory>` being processed (`cmd->path`), with a trailing slash.
    var sectionPath: String?
    /// The URL path of the enclosing `<Location>`, for `DirectiveScope.location`.
    var locationPath: String?
    /// Set while a `.htaccess` file is processed: what `AllowOverride` allows there, which
    /// replaces the context check (Apache's `invoke_cmd` override test).
    var htaccess: HtaccessPermission?

    public static func process(_ tree: ConfigTree, modules: [ModuleDescriptor], configFile: String) throws(ConfigError) -> ServerConfig {
        // `RegexDefaultOptions` starts from Apache's default for each configuration and
        // changes the regexes compiled after it, in file order.
        try PCRERegex.withDefaultOptions(PCRERegex.DefaultOptions()) { () throws(ConfigError) in
            try processTree(tree, modules: modules, configFile: configFile)
        }
    }

    private static func processTree(_ tree: ConfigTree, modules: [ModuleDescriptor], configFile: String) throws(ConfigError) -> ServerConfig {
        let active = modules.filter { tree.activeModules.contains($0.name) }
        var processor = ConfigProcessor(modules: active, serverRoot: tree.serverRoot)
        processor.activeModules = tree.activeModules
        var main = VirtualHost()
        var vhosts: [VirtualHost] = []
        processor.processServer(tree.directives, into: &main, context: .serverConfig, virtualHosts: &vhosts)
        for index in vhosts.indices {
            vhosts[index].server = main.server.merged(with: vhosts[index].server)
            vhosts[index].defaults = main.defaults.merged(with: vhosts[index].defaults)
            vhosts[index].sections = main.sections + vhosts[index].sections
        }
        if !processor.errors.isEmpty { throw ConfigError(tree.warnings + processor.warnings + processor.errors) }
        return ServerConfig(configFile: configFile, serverRoot: tree.serverRoot, main: main, virtualHosts: vhosts,
                            loadedModules: tree.loadedModules, activeModules: tree.activeModules,
                            defines: tree.defines, warnings: tree.warnings + processor.warnings)
    }

    /// Processes a `.htaccess` file read in directory `path` (with a trailing slash) into
    /// the per-directory record it adds there and the `<Files>` sections it holds. The
    /// first error is the answer (Apache stops at it and answers 500); what `Nonfatal`
    /// lets pass comes back as warnings.
    public static func processHtaccess(_ directives: [Directive], path: String, permission: HtaccessPermission,
                                       modules: [ModuleDescriptor], config: ServerConfig) throws(ConfigError)
        -> (directory: ConfigVector, files: [DirectorySection], warnings: [ConfigDiagnostic]) {
        // A regex in the file gets the options the configuration's last `RegexDefaultOptions` left.
        let defaults = PCRERegex.DefaultOptions(config.main.server[CoreServerConfig.self].regexDefaultOptions ?? .apacheDefault)
        return try PCRERegex.withDefaultOptions(defaults) { () throws(ConfigError) in
            try processHtaccessFile(directives, path: path, permission: permission, modules: modules, config: config)
        }
    }

    private static func processHtaccessFile(_ directives: [Directive], path: String, permission: HtaccessPermission,
                                            modules: [ModuleDescriptor], config: ServerConfig) throws(ConfigError)
        -> (directory: ConfigVector, files: [DirectorySection], warnings: [ConfigDiagnostic]) {
        let active = modules.filter { config.activeModules.contains($0.name) }
        var processor = ConfigProcessor(modules: active, serverRoot: config.serverRoot)
        processor.activeModules = config.activeModules
        processor.htaccess = permission
        processor.sectionPath = path
        var server = ConfigVector()
        var directory = ConfigVector()
        var files: [DirectorySection] = []
        for directive in directives where processor.errors.isEmpty {
            if let kind = processor.sectionKind(directive) {
                guard processor.check(directive, in: .directory),
                      let section = processor.makeSection(directive, kind: kind, server: &server) else { continue }
                files.append(section)
            } else if let kind = Self.ifKind(directive) {
                guard processor.check(directive, in: .directory) else { continue }
                processor.addIf(directive, kind: kind, server: &server, directory: &directory, context: .directory)
            } else {
                processor.apply(directive, server: &server, directory: &directory, context: .directory)
            }
        }
        if let first = processor.errors.first { throw ConfigError([first]) }
        return (directory, files, processor.warnings)
    }

    init(modules: [ModuleDescriptor], serverRoot: String) {
        var specs: [String: DirectiveSpec] = [:]
        for module in modules { for spec in module.directives { specs[spec.name.lowercased()] = spec } }
        self.specs = specs
        self.serverRoot = serverRoot
    }

    private mutating func processServer(_ directives: [Directive], into host: inout VirtualHost,
                                        context: DirectiveContext, virtualHosts: inout [VirtualHost]) {
        for directive in directives {
            switch directive.key {
            case "virtualhost":
                guard check(directive, in: context) else { continue }
                guard !directive.arguments.isEmpty else {
                    errors.append(directive.error("<VirtualHost> requires at least one address").diagnostics[0])
                    continue
                }
                var vhost = VirtualHost(addresses: directive.arguments, location: directive.location)
                var nestedHosts: [VirtualHost] = []
                processServer(directive.children ?? [], into: &vhost, context: .virtualHost, virtualHosts: &nestedHosts)
                virtualHosts.append(vhost)
            default:
                if let kind = sectionKind(directive) {
                    guard check(directive, in: context), let section = makeSection(directive, kind: kind, server: &host.server) else { continue }
                    host.sections.append(section)
                } else if let kind = Self.ifKind(directive) {
                    addIf(directive, kind: kind, server: &host.server, directory: &host.defaults, context: context)
                } else {
                    apply(directive, server: &host.server, directory: &host.defaults, context: context)
                }
            }
        }
    }

    private func sectionKind(_ directive: Directive) -> DirectorySection.Kind? {
        switch directive.key {
        case "directory": return .directory
        case "directorymatch": return .directoryMatch
        case "location": return .location
        case "locationmatch": return .locationMatch
        case "files": return .files
        case "filesmatch": return .filesMatch
        default: return nil
        }
    }

    /// A per-directory section; per-server directives inside it (LogLevel) still reach `server`.
    private mutating func makeSection(_ directive: Directive, kind: DirectorySection.Kind, server: inout ConfigVector) -> DirectorySection? {
        var args = directive.arguments
        var regex = [.directoryMatch, .locationMatch, .filesMatch].contains(kind)
        if args.first == "~" && !regex {
            regex = true
            args.removeFirst()
        }
        guard args.count == 1 else {
            errors.append(directive.error("<\(directive.name)> takes one argument, the \(kind == .files || kind == .filesMatch ? "file name" : kind == .location || kind == .locationMatch ? "URL path" : "directory path")").diagnostics[0])
            return nil
        }
        var pattern = args[0]
        if (kind == .directory) && !regex {
            pattern = ServerRoot.relative(pattern, to: serverRoot)
        }
        let context: DirectiveContext = switch kind {
        case .directory, .directoryMatch: .directory
        case .location, .locationMatch: .location
        case .files, .filesMatch: .files
        }
        var vector = ConfigVector()
        var nested: [DirectorySection] = []
        let enclosingPath = sectionPath
        if kind == .directory && !regex { sectionPath = pattern.hasSuffix("/") ? pattern : pattern + "/" }
        defer { sectionPath = enclosingPath }
        let enclosingLocation = locationPath
        if kind == .location && !regex { locationPath = pattern }
        defer { locationPath = enclosingLocation }
        for child in directive.children ?? [] {
            if let childKind = sectionKind(child) {
                guard check(child, in: context) else { continue }
                if let section = makeSection(child, kind: childKind, server: &server) { nested.append(section) }
            } else if let ifKind = Self.ifKind(child) {
                addIf(child, kind: ifKind, server: &server, directory: &vector, context: context)
            } else {
                apply(child, server: &server, directory: &vector, context: context)
            }
        }
        var compiled: SectionPattern?
        if regex {
            do {
                compiled = try SectionPattern(regex: pattern)
            } catch {
                errors += directive.error(error.diagnostics.first?.message ?? "Regular expression could not be compiled").diagnostics
                return nil
            }
        }
        return DirectorySection(kind: kind, pattern: pattern, isRegex: regex, regex: compiled,
                                location: directive.location, config: vector, nested: nested)
    }

    static func ifKind(_ directive: Directive) -> IfSection.Kind? {
        switch directive.key {
        case "if": return .if
        case "elseif": return .elseIf
        case "else": return .else
        default: return nil
        }
    }

    /// `<If>`, `<ElseIf>`, `<Else>` (Apache's `ifsection`): the condition is parsed now,
    /// the directives inside build a per-directory record of their own, and the section
    /// joins the enclosing scope's list, which the request's if-walk evaluates in order.
    /// At server level its directives are per-directory ones, as Apache's `*If` path.
    private mutating func addIf(_ directive: Directive, kind: IfSection.Kind, server: inout ConfigVector,
                                directory: inout ConfigVector, context: DirectiveContext) {
        let name = "<\(directive.name)"
        var condition: ApExpr?
        if kind == .else {
            guard directive.arguments.isEmpty else {
                errors.append(directive.error("<Else> does not take an argument").diagnostics[0])
                return
            }
        } else {
            guard let source = directive.arguments.first, !source.isEmpty else {
                errors.append(directive.error("\(name)> directive requires additional arguments").diagnostics[0])
                return
            }
            do {
                condition = try ApExpr(source)
            } catch {
                errors.append(directive.error("Cannot parse condition clause: \(error.message)").diagnostics[0])
                return
            }
        }
        let inner: DirectiveContext = context.isDisjoint(with: .server) ? context : .directory
        var vector = ConfigVector()
        for child in directive.children ?? [] {
            let kind = sectionKind(child)
            if kind == .files || kind == .filesMatch {
                errors.append(child.error("<\(child.name)> inside <\(directive.name)> is not supported by Skep").diagnostics[0])
            } else if kind != nil || child.key == "virtualhost" {
                // Apache's wording, without the closing '>'.
                errors.append(child.error("<\(child.name) not allowed in <If> context").diagnostics[0])
            } else if let spec = specs[child.key], !spec.isSection, !spec.contexts.contains(inner) {
                errors.append(child.error("\(spec.name) not allowed in <If> context").diagnostics[0])
            } else if let childKind = Self.ifKind(child) {
                addIf(child, kind: childKind, server: &server, directory: &vector, context: inner)
            } else {
                apply(child, server: &server, directory: &vector, context: inner)
            }
        }
        if kind != .if, directory[IfSections.self].sections.last?.hasCondition != true {
            errors.append(directive.error("<Else> or <ElseIf> section without previous <If> or <ElseIf> section in same scope").diagnostics[0])
            return
        }
        if directive.arguments.count > 1 {
            errors.append(directive.error("Multiple \(name)> arguments not supported.").diagnostics[0])
            return
        }
        directory[IfSections.self].sections.append(IfSection(kind: kind, condition: condition, config: vector, location: directive.location))
    }

    /// Context check with Apache's messages (`ap_check_cmd_context`); in a `.htaccess`
    /// file, the override check instead (`invoke_cmd`).
    private mutating func check(_ directive: Directive, in context: DirectiveContext) -> Bool {
        if let htaccess { return check(directive, allowedBy: htaccess) }
        guard let spec = specs[directive.key] else { return false } // reported by the reader
        if spec.contexts.contains(context) { return true }
        let label = spec.isSection ? "<\(spec.name)>" : spec.name
        if context == .serverConfig {
            errors.append(directive.error("\(label) not allowed here: it belongs inside \(allowedList(spec.contexts))").diagnostics[0])
        } else {
            errors.append(directive.error("\(label) cannot occur within \(context.sectionName) section: it is allowed in \(allowedList(spec.contexts))").diagnostics[0])
        }
        return false
    }

    /// Whether `AllowOverride` (or `AllowOverrideList`) lets a `.htaccess` say `directive`,
    /// with Apache's messages, or its warnings under `Nonfatal`.
    private mutating func check(_ directive: Directive, allowedBy permission: HtaccessPermission) -> Bool {
        // Apache names a section with its bracket: "<Directory not allowed here".
        let label = directive.isSection ? "<\(directive.name)" : directive.name
        guard let spec = specs[directive.key] else {
            let message = "Invalid command '\(label)', perhaps misspelled or defined by a module not included in the server configuration"
            if permission.nonfatal.contains(.unknown) {
                warnings.append(ConfigDiagnostic(.warning, directive.location, message))
            } else {
                errors.append(directive.error(message).diagnostics[0])
            }
            return false
        }
        if !spec.overrides.isDisjoint(with: permission.classes) || permission.list.contains(directive.key) { return true }
        if permission.nonfatal.contains(.override) {
            warnings.append(ConfigDiagnostic(.warning, directive.location, "\(label) not allowed in .htaccess by AllowOverride: skipped"))
        } else {
            errors.append(directive.error("\(label) not allowed here").diagnostics[0])
        }
        return false
    }

    private func allowedList(_ contexts: DirectiveContext) -> String {
        var names: [String] = []
        if contexts.contains(.serverConfig) { names.append("server config") }
        if contexts.contains(.virtualHost) { names.append("<VirtualHost>") }
        if contexts.contains(.directory) { names.append("<Directory>") }
        if contexts.contains(.location) { names.append("<Location>") }
        if contexts.contains(.files) { names.append("<Files>") }
        return names.joined(separator: ", ")
    }

    private mutating func apply(_ directive: Directive, server: inout ConfigVector, directory: inout ConfigVector,
                                context: DirectiveContext) {
        guard check(directive, in: context), let spec = specs[directive.key] else { return }
        if directive.key == "limit" || directive.key == "limitexcept" {
            // `<Limit>` scopes nothing: its directives apply here, access control for the
            // methods it names only (Apache's `ap_limit_section`).
            do {
                let enclosing = limited
                limited = try MethodLimit.section(directive, within: enclosing)
                for child in directive.children ?? [] { apply(child, server: &server, directory: &directory, context: context) }
                limited = enclosing
            } catch {
                errors += error.diagnostics
            }
            return
        }
        if !spec.arguments.accepts(directive.arguments.count) {
            errors.append(directive.error("\(spec.name) \(spec.arguments.phrase), \(spec.help)").diagnostics[0])
            return
        }
        var scope = DirectiveScope(server: server, directory: directory, context: context, serverRoot: serverRoot)
        scope.activeModules = activeModules
        scope.limited = limited
        scope.path = sectionPath
        scope.location = locationPath
        if let htaccess {
            scope.isHtaccess = true
            scope.overrideOptions = htaccess.options
        }
        do {
            try spec.apply(directive, &scope)
        } catch {
            errors += error.diagnostics
            return
        }
        warnings += scope.warnings
        server = scope.server
        directory = scope.directory
        if spec.isSection, let children = directive.children {
            // A section of a module other than the core's scoping ones (`<Limit>`, `<Proxy>`):
            // its directives apply in the enclosing scope.
            for child in children { apply(child, server: &server, directory: &directory, context: context) }
        }
    }
}

/// What `AllowOverride` and `AllowOverrideList` let a `.htaccess` file say, where it is read.
public struct HtaccessPermission: Sendable, Hashable {
    public var classes: OverrideClass
    public var options: DirectoryOptions
    /// Lowercased directive names of `AllowOverrideList`.
    public var list: Set<String>
    public var nonfatal: NonfatalOverride

    /// The permission a directory's merged core record gives; nil when no `.htaccess` is
    /// read there: `AllowOverride None` and no `AllowOverrideList`. Where no
    /// `AllowOverride` was ever written, Apache still reads the file (its `OR_UNSET` bit
    /// counts as an override) and allows nothing in it: any directive there is a 500.
    public init?(_ core: CoreDirConfig) {
        classes = core.allowOverride ?? []
        list = core.allowOverrideList ?? []
        if core.allowOverride != nil && classes.isEmpty && list.isEmpty { return nil }
        options = core.overrideOptions ?? .everything
        nonfatal = core.overrideNonfatal ?? []
    }
}
