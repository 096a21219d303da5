/// Reads an Apache-syntax configuration into a tree of `Directive`s, doing at read
/// time what Apache does at read time (its `EXEC_ON_READ` directives): `Include`,
/// `IncludeOptional`, `Define`, `UnDefine`, `ServerRoot`, `LoadModule` and the
/// `<IfModule>`, `<IfDefine>`, `<IfFile>`, `<IfDirective>`, `<IfSection>` conditionals.
///
/// Every problem is collected rather than stopping at the first, and the directives and
/// modules Skep does not have are gathered into one message: a user moving an Apache
/// configuration sees the whole gap at once.
public struct ConfigReader {
    public struct Options: Sendable {
        /// `-d`; `ServerRoot` in the file overrides it from that line on.
        public var serverRoot: String
        /// `-D NAME` from the command line.
        public var defines: [String]
        /// Looked up for `${VAR}` after the defines; nil means the process environment.
        public var environment: (@Sendable (String) -> String?)?

        public init(serverRoot: String? = nil, defines: [String] = [],
                    environment: (@Sendable (String) -> String?)? = nil) {
            self.serverRoot = serverRoot ?? ConfigFiles.currentDirectory()
            self.defines = defines
            self.environment = environment
        }
    }

    /// A module enabled by `LoadModule`, with the path as written (Skep's modules are built in).
    public struct LoadedModule: Sendable {
        public var name: String
        public var path: String
        public var location: SourceLocation
    }

    let modules: [ModuleDescriptor]
    /// Every module that declares a directive: the MPMs share names such as `StartServers`.
    let directiveOwners: [String: [ModuleDescriptor]]
    var options: Options

    var serverRoot: String
    var defines: [String: String?] = [:]
    var active: Set<String> = []
    /// Modules named by `LoadModule` that Skep lacks; kept "present" for `<IfModule>` so the
    /// directives the configuration guards with them are reported as part of the gap too.
    var missingModules: Set<String> = []
    var loaded: [LoadedModule] = []
    var includeStack: [String] = []
    var errors: [ConfigDiagnostic] = []
    var gapModules: [ConfigDiagnostic] = []
    /// Unknown directives by lowercased name, each with its first use and how often it appears.
    var gapDirectives: [(first: ConfigDiagnostic, key: String, uses: Int)] = []
    var warnings: [ConfigDiagnostic] = []
    /// Reading a `.htaccess` file: nothing is executed at read time, and whether a
    /// directive is known is left to the processor, which knows `AllowOverride Nonfatal`.
    var htaccess = false
    /// Whether the note about `php_*` directives kept from a false mod_php `<IfModule>` was given.
    var notedModPHPBlock = false

    public init(modules: [ModuleDescriptor], options: Options) {
        self.modules = modules
        var owners: [String: [ModuleDescriptor]] = [:]
        for module in modules {
            for spec in module.directives { owners[spec.name.lowercased(), default: []].append(module) }
        }
        self.directiveOwners = owners
        self.options = options
        self.serverRoot = options.serverRoot
        for name in options.defines { defines[name] = .some(nil) }
        for module in modules where module.isStatic { active.insert(module.name) }
    }

    /// Reads `path` (relative paths are taken against ServerRoot, as Apache's `-f`) and
    /// everything it includes.
    public mutating func read(file path: String) throws(ConfigError) -> ConfigTree {
        let absolute = path.hasPrefix("/") ? path : serverRootRelative(path)
        var top: [Directive] = []
        if ConfigFiles.kind(absolute) == .missing {
            throw ConfigError(nil, "\(absolute): could not open configuration file: \(FileError(errno: 2).text)")
        }
        include(absolute, optional: false, from: nil, into: &top)
        return try finish(top)
    }

    /// Reads configuration text that is not in a file (the embedded default); `name` is
    /// used in messages.
    public mutating func read(text: String, name: String) throws(ConfigError) -> ConfigTree {
        var top: [Directive] = []
        let lines = ConfigLexer.lines(text)
        var i = 0
        parseBlock(lines, &i, file: name, closing: nil, into: &top)
        return try finish(top)
    }

    /// Reads a `.htaccess` file as Apache's `ap_parse_htaccess` builds it: the conditionals
    /// (`<IfModule>`, `<IfDefine>`...) are evaluated against the running configuration,
    /// and what Apache executes while reading (`Include`, `Define`, `LoadModule`...) is
    /// "not allowed here". The first problem is the answer, as in Apache.
    public static func readHtaccess(text: String, file: String, modules: [ModuleDescriptor],
                                    config: ServerConfig) throws(ConfigError) -> [Directive] {
        var reader = ConfigReader(modules: modules, options: Options(serverRoot: config.serverRoot))
        reader.htaccess = true
        reader.active = config.activeModules
        reader.defines = config.defines
        var top: [Directive] = []
        var i = 0
        reader.parseBlock(ConfigLexer.lines(text), &i, file: file, closing: nil, into: &top)
        if let first = reader.errors.first { throw ConfigError([first]) }
        return top
    }

    /// A per-directory file's text (read on a worker: it blocks), or why it could not be read.
    public static func text(of path: String) -> Result<String, FileError> { ConfigFiles.read(path) }

    private func finish(_ top: [Directive]) throws(ConfigError) -> ConfigTree {
        var all = errors
        for module in loaded {
            guard let descriptor = modules.first(where: { $0.name == module.name }) else { continue }
            for required in descriptor.requires where !active.contains(required) {
                all.append(ConfigDiagnostic(.error, module.location,
                    "Cannot load \(module.path) into server: \(module.name) needs \(required), which no LoadModule enables"))
            }
        }
        if !gapModules.isEmpty || !gapDirectives.isEmpty {
            var parts: [String] = []
            if !gapModules.isEmpty { parts.append("\(gapModules.count) module\(gapModules.count == 1 ? "" : "s")") }
            if !gapDirectives.isEmpty { parts.append("\(gapDirectives.count) directive\(gapDirectives.count == 1 ? "" : "s")") }
            all.append(ConfigDiagnostic(.error, nil,
                "Skep does not implement \(parts.joined(separator: " and ")) this configuration uses:"))
            all += gapModules
            all += gapDirectives.map { gap in
                var first = gap.first
                if gap.uses > 1 { first.message += " (and \(gap.uses - 1) more use\(gap.uses == 2 ? "" : "s"))" }
                return first
            }
        }
        if !all.isEmpty { throw ConfigError(warnings + all) }
        return ConfigTree(directives: top, serverRoot: serverRoot, loadedModules: loaded,
                          activeModules: active, defines: defines, warnings: warnings)
    }

    func serverRootRelative(_ path: String) -> String { ServerRoot.relative(path, to: serverRoot) }

    // MARK: - Files and includes

    private mutating func include(_ path: String, optional: Bool, from: Directive?, into out: inout [Directive]) {
        if ConfigFiles.hasWildcard(path) {
            let matches = ConfigFiles.glob(path)
            if matches.isEmpty && !optional {
                errors.append(ConfigDiagnostic(.error, from?.location,
                    "Include: no matches for the wildcard pattern '\(path)' (use IncludeOptional to allow none)"))
            }
            for match in matches { include(match, optional: optional, from: from, into: &out) }
            return
        }
        switch ConfigFiles.kind(path) {
        case .missing:
            if !optional {
                errors.append(ConfigDiagnostic(.error, from?.location,
                    "Include: could not open configuration file \(path): \(FileError(errno: 2).text)"))
            }
        case .directory:
            // As Apache: a directory includes every file below it, in sorted order.
            for entry in ConfigFiles.entries(path) {
                include(path.hasSuffix("/") ? path + entry : path + "/" + entry, optional: optional, from: from, into: &out)
            }
        case .file:
            let real = ConfigFiles.realPath(path)
            if includeStack.contains(real) {
                errors.append(ConfigDiagnostic(.error, from?.location,
                    "Include loop: \(path) is already being read (\(includeStack.joined(separator: " -> ")) -> \(real))"))
                return
            }
            switch ConfigFiles.read(path) {
            case .failure(let error):
                errors.append(ConfigDiagnostic(.error, from?.location,
                    "could not open configuration file \(path): \(error.text)"))
            case .success(let text):
                includeStack.append(real)
                let lines = ConfigLexer.lines(text)
                var i = 0
                parseBlock(lines, &i, file: path, closing: nil, into: &out)
                includeStack.removeLast()
            }
        }
    }

    // MARK: - Lines and sections

    /// Reads directives until the `</closing>` that ends the current section (or the end
    /// of the file at top level), appending them to `out`.
    private mutating func parseBlock(_ lines: [ConfigLexer.Line], _ i: inout Int, file: String,
                                     closing: (name: String, location: SourceLocation)?, into out: inout [Directive]) {
        while i < lines.count {
            let line = lines[i]
            i += 1
            let location = SourceLocation(file: file, line: line.number)
            let text = expandVariables(line.text, at: location)

            if text.hasPrefix("</") {
                let name = closingName(text)
                guard let closing else {
                    errors.append(ConfigDiagnostic(.error, location, "</\(name)> without matching <\(name)> section"))
                    continue
                }
                if name.lowercased() != closing.name.lowercased() {
                    errors.append(ConfigDiagnostic(.error, location,
                        "Expected </\(closing.name)> but saw </\(name)> (section opened at \(closing.location))"))
                }
                return
            }

            if text.hasPrefix("<") {
                openSection(text, at: location, lines, &i, file: file, into: &out)
                continue
            }

            let words = ConfigLexer.words(Substring(text))
            guard let name = words.first else { continue }
            let directive = Directive(name: name, arguments: Array(words.dropFirst()), location: location, text: text)
            readDirective(directive, into: &out)
        }
        if let closing {
            errors.append(ConfigDiagnostic(.error, closing.location, "<\(closing.name)> was not closed."))
        }
    }

    private func closingName(_ text: String) -> String {
        var body = text.dropFirst(2)
        if body.hasSuffix(">") { body = body.dropLast() }
        return String(ConfigLexer.trimBlanks(body))
    }

    private mutating func openSection(_ text: String, at location: SourceLocation,
                                      _ lines: [ConfigLexer.Line], _ i: inout Int, file: String,
                                      into out: inout [Directive]) {
        var body = Substring(text.dropFirst())
        let nameEnd = body.firstIndex(where: { ConfigLexer.isBlank($0) || $0 == ">" }) ?? body.endIndex
        let name = String(body[..<nameEnd])
        body = body[nameEnd...]
        let trimmed = ConfigLexer.trimBlanks(body)
        guard trimmed.hasSuffix(">") else {
            errors.append(ConfigDiagnostic(.error, location, "<\(name)> directive missing closing '>' (\(text))"))
            skipBlock(lines, &i, name: name)
            return
        }
        let arguments = ConfigLexer.words(trimmed.dropLast())
        let section = Directive(name: name, arguments: arguments, location: location, text: text, children: [])

        if let condition = conditional(section) {
            if condition {
                parseBlock(lines, &i, file: file, closing: (name, location), into: &out)
            } else if ModPHP.guardsModPHP(section) {
                readModPHPBlock(lines, &i, file: file, section: section, into: &out)
            } else {
                skipBlock(lines, &i, name: name)
            }
            return
        }

        var children: [Directive] = []
        parseBlock(lines, &i, file: file, closing: (name, location), into: &children)
        var complete = section
        complete.children = children
        readDirective(complete, into: &out)
    }

    /// Skips a section whose condition is false, following nested sections so that
    /// its own closing line is the one that ends it (Apache's `ap_soak_end_container`).
    private mutating func skipBlock(_ lines: [ConfigLexer.Line], _ i: inout Int, name: String) {
        var depth = 1
        while i < lines.count {
            let text = lines[i].text
            i += 1
            if text.hasPrefix("</") {
                depth -= 1
                if depth == 0 { return }
            } else if text.hasPrefix("<") {
                depth += 1
            }
        }
    }

    /// A false `<IfModule mod_php.c>` (or `php_module`, `mod_php7.c`...): skipped as any
    /// false block, except that the `php_*` ini directives directly inside it are read,
    /// so the values an application's `.htaccess` sets for mod_php reach PHP-FPM. Its
    /// other directives (a mod_php `AddHandler`, say) stay skipped; so do nested sections.
    private mutating func readModPHPBlock(_ lines: [ConfigLexer.Line], _ i: inout Int, file: String,
                                          section: Directive, into out: inout [Directive]) {
        var depth = 1
        var kept = false
        while i < lines.count {
            let line = lines[i]
            i += 1
            if line.text.hasPrefix("</") {
                depth -= 1
                if depth == 0 { break }
                continue
            }
            if line.text.hasPrefix("<") {
                depth += 1
                continue
            }
            guard depth == 1 else { continue }
            let location = SourceLocation(file: file, line: line.number)
            let text = expandVariables(line.text, at: location)
            let words = ConfigLexer.words(Substring(text))
            guard let name = words.first, ModPHP.iniDirectives.contains(name.lowercased()) else { continue }
            readDirective(Directive(name: name, arguments: Array(words.dropFirst()), location: location, text: text), into: &out)
            kept = true
        }
        if kept && !notedModPHPBlock {
            notedModPHPBlock = true
            warnings.append(ConfigDiagnostic(.note, section.location, ModPHP.keptFromIfModuleNote))
        }
    }

    // MARK: - Directives handled while reading

    private mutating func readDirective(_ directive: Directive, into out: inout [Directive]) {
        if htaccess {
            if ["include", "includeoptional", "define", "undefine", "serverroot", "loadmodule", "loadfile"].contains(directive.key) {
                errors.append(directive.error("\(directive.name) not allowed here").diagnostics[0])
            } else {
                out.append(directive)
            }
            return
        }
        switch directive.key {
        case "include", "includeoptional":
            guard directive.arguments.count == 1 else {
                errors.append(directive.error("\(directive.name) takes one argument, the file, directory or wildcard to include").diagnostics[0])
                return
            }
            include(serverRootRelative(directive.arguments[0]), optional: directive.key == "includeoptional",
                    from: directive, into: &out)
        case "define":
            guard (1...2).contains(directive.arguments.count) else {
                errors.append(directive.error("Define takes one or two arguments, a name and an optional value").diagnostics[0])
                return
            }
            let name = directive.arguments[0]
            if name.contains(":") {
                errors.append(directive.error("Define: a variable name must not contain ':'").diagnostics[0])
                return
            }
            defines[name] = .some(directive.arguments.count == 2 ? directive.arguments[1] : nil)
        case "undefine":
            guard directive.arguments.count == 1 else {
                errors.append(directive.error("UnDefine takes one argument, the name to undefine").diagnostics[0])
                return
            }
            defines[directive.arguments[0]] = nil
        case "serverroot":
            guard directive.arguments.count == 1 else {
                errors.append(directive.error("ServerRoot takes one argument, the root directory of the server").diagnostics[0])
                return
            }
            let root = directive.arguments[0]
            guard ConfigFiles.kind(root) == .directory else {
                errors.append(directive.error("ServerRoot must be a valid directory").diagnostics[0])
                return
            }
            serverRoot = ConfigFiles.realPath(root)
            out.append(directive)
        case "loadmodule":
            loadModule(directive)
            out.append(directive)
        default:
            checkKnown(directive)
            out.append(directive)
        }
    }

    private mutating func loadModule(_ directive: Directive) {
        guard directive.arguments.count == 2 else {
            errors.append(directive.error("LoadModule takes two arguments, a module name and the name of a shared object file to load it from").diagnostics[0])
            return
        }
        let name = directive.arguments[0]
        let path = directive.arguments[1]
        if ModPHP.isModPHP(moduleName: name, path: path) {
            // Not part of the gap: the fix is PHP-FPM, not a module Skep lacks. Its
            // <IfModule> stays false (mod_php's handlers would take .php from PHP-FPM).
            errors.append(ConfigDiagnostic(.error, directive.location, ModPHP.loadModuleRefusal(moduleName: name, path: path)))
            return
        }
        guard let module = modules.first(where: { $0.name == name }) else {
            missingModules.insert(name)
            if name.hasSuffix("_module") { missingModules.insert("mod_" + name.dropLast(7) + ".c") }
            gapModules.append(ConfigDiagnostic(.error, directive.location, "module \(name) (\(path))"))
            return
        }
        if active.contains(module.name) {
            warnings.append(ConfigDiagnostic(.warning, directive.location,
                "module \(name) is already loaded, skipping"))
            return
        }
        active.insert(module.name)
        loaded.append(LoadedModule(name: name, path: path, location: directive.location))
    }

    private mutating func checkKnown(_ directive: Directive) {
        let label = directive.isSection ? "<\(directive.name)>" : directive.name
        guard let owners = directiveOwners[directive.key] else {
            if let index = gapDirectives.firstIndex(where: { $0.key == directive.key }) {
                gapDirectives[index].uses += 1
            } else {
                gapDirectives.append((ConfigDiagnostic(.error, directive.location, "directive \(label)"), directive.key, 1))
            }
            return
        }
        if !owners.contains(where: { active.contains($0.name) }) {
            let names = owners.map(\.name).joined(separator: " or ")
            errors.append(ConfigDiagnostic(.error, directive.location,
                "Invalid command '\(label)', perhaps misspelled or defined by a module not included in the server configuration: it belongs to \(names), which no LoadModule enables (\(directive.text))"))
        }
    }

    // MARK: - Conditionals

    /// The value of an `<If...>` section, or nil for any other section.
    private mutating func conditional(_ section: Directive) -> Bool? {
        let kind = section.key
        guard ["ifmodule", "ifdefine", "iffile", "ifdirective", "ifsection"].contains(kind) else { return nil }
        guard section.arguments.count == 1, var argument = section.arguments.first, !argument.isEmpty, argument != "!" else {
            errors.append(section.error("<\(section.name)> takes one argument").diagnostics[0])
            return false
        }
        var negate = false
        if argument.hasPrefix("!") {
            negate = true
            argument.removeFirst()
        }
        let value: Bool
        switch kind {
        case "ifmodule":
            value = isModulePresent(argument)
        case "ifdefine":
            value = defines.keys.contains(argument)
        case "iffile":
            value = ConfigFiles.kind(serverRootRelative(argument)) != .missing
        case "ifdirective":
            value = activeSpec(argument) != nil
        default: // ifsection
            value = activeSpec(argument)?.isSection ?? false
        }
        return value != negate
    }

    private func activeSpec(_ name: String) -> DirectiveSpec? {
        for module in directiveOwners[name.lowercased()] ?? [] where active.contains(module.name) {
            return module.directives.first { $0.name.lowercased() == name.lowercased() }
        }
        return nil
    }

    private func isModulePresent(_ identifier: String) -> Bool {
        if missingModules.contains(identifier) { return true }
        return modules.contains { $0.isNamed(identifier) && active.contains($0.name) }
    }

    // MARK: - Variables

    /// `${NAME}` replaced from the defines, then the environment; an undefined name stays
    /// as written with Apache's AH00111 warning.
    private mutating func expandVariables(_ text: String, at location: SourceLocation) -> String {
        guard text.contains("${") else { return text }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.indices.first(where: { rest[$0] == "$" && rest.index(after: $0) < rest.endIndex && rest[rest.index(after: $0)] == "{" }) {
            out += rest[..<dollar]
            let afterOpen = rest[rest.index(dollar, offsetBy: 2)...]
            guard let close = afterOpen.firstIndex(of: "}") else {
                out += rest[dollar...]
                return out
            }
            let name = String(afterOpen[..<close])
            if let defined = defines[name], let value = defined {
                out += value
            } else if let value = options.environment.map({ $0(name) }) ?? ConfigFiles.environment(name) {
                out += value
            } else {
                warnings.append(ConfigDiagnostic(.warning, location, "AH00111: Config variable ${\(name)} is not defined"))
                out += "${\(name)}"
            }
            rest = afterOpen[afterOpen.index(after: close)...]
        }
        out += rest
        return out
    }
}

/// The configuration as read: the directive tree with includes and conditionals
/// resolved, and what the reader learned on the way.
public struct ConfigTree: Sendable {
    public var directives: [Directive]
    /// ServerRoot as it stood at the end of reading.
    public var serverRoot: String
    public var loadedModules: [ConfigReader.LoadedModule]
    /// Names of every module in effect: the static ones and those `LoadModule` enabled.
    public var activeModules: Set<String>
    public var defines: [String: String?]
    public var warnings: [ConfigDiagnostic]
}
