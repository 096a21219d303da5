/// The `Options` of a directory: Apache's `OPT_*` bits.
public struct DirectoryOptions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let indexes = DirectoryOptions(rawValue: 1 << 0)
    public static let includes = DirectoryOptions(rawValue: 1 << 1)
    public static let includesNoExec = DirectoryOptions(rawValue: 1 << 2)
    public static let followSymLinks = DirectoryOptions(rawValue: 1 << 3)
    public static let symLinksIfOwnerMatch = DirectoryOptions(rawValue: 1 << 4)
    public static let execCGI = DirectoryOptions(rawValue: 1 << 5)
    public static let multiViews = DirectoryOptions(rawValue: 1 << 6)

    /// `All`: everything but MultiViews, as in Apache.
    public static let all: DirectoryOptions = [.indexes, .includes, .followSymLinks, .symLinksIfOwnerMatch, .execCGI]

    /// What `AllowOverride Options=word` permits and what `Options word` in `.htaccess`
    /// needs permitted, as Apache's bits: `Includes` is `OPT_INCLUDES|OPT_INC_WITH_EXEC`
    /// (Skep's `.includesNoExec` and `.includes`), `All` is `OPT_ALL`, which has neither
    /// MultiViews nor SymLinksIfOwnerMatch.
    static func permission(_ word: Substring) -> DirectoryOptions? {
        switch word.lowercased() {
        case "includes": return [.includes, .includesNoExec]
        case "all": return apacheAll
        case "runscripts": return [.multiViews, .execCGI]
        default: return names.first(where: { $0.0 == word.lowercased() })?.1
        }
    }

    /// Apache's `OPT_ALL`: what a bare `AllowOverride Options` permits.
    public static let apacheAll: DirectoryOptions = [.indexes, .includes, .includesNoExec, .followSymLinks, .execCGI]
    /// Apache's default `override_opts`: every option may be set from `.htaccess`.
    public static let everything: DirectoryOptions = [.indexes, .includes, .includesNoExec, .followSymLinks,
                                                      .symLinksIfOwnerMatch, .execCGI, .multiViews]

    static let names: [(String, DirectoryOptions)] = [
        ("none", []), ("all", .all), ("indexes", .indexes), ("includes", .includes),
        ("includesnoexec", .includesNoExec), ("followsymlinks", .followSymLinks),
        ("symlinksifownermatch", .symLinksIfOwnerMatch), ("execcgi", .execCGI), ("multiviews", .multiViews),
    ]
}

/// One `Options` directive as written: absolute (`Options Indexes`) replaces what an
/// enclosing section set; relative (`Options +Indexes -ExecCGI`) edits it.
public struct OptionsSetting: Sendable, Hashable {
    public var absolute: DirectoryOptions?
    public var add: DirectoryOptions = []
    public var remove: DirectoryOptions = []

    public init(absolute: DirectoryOptions? = nil, add: DirectoryOptions = [], remove: DirectoryOptions = []) {
        self.absolute = absolute
        self.add = add
        self.remove = remove
    }

    /// The options in effect when this setting is applied inside `parent`.
    public func resolved(over parent: DirectoryOptions) -> DirectoryOptions {
        if let absolute { return absolute }
        return parent.subtracting(remove).union(add)
    }

    /// `child` written inside `self`: the pair as one setting.
    public func merged(with child: OptionsSetting) -> OptionsSetting {
        if child.absolute != nil { return child }
        if let absolute { return OptionsSetting(absolute: absolute.subtracting(child.remove).union(child.add)) }
        return OptionsSetting(add: add.subtracting(child.remove).union(child.add),
                              remove: remove.subtracting(child.add).union(child.remove))
    }

    /// Parses Apache's syntax, refusing a mix of signed and unsigned words as 2.4 does.
    /// `allowed`: in `.htaccess`, the options `AllowOverride Options=...` lets it set.
    public static func parse(_ directive: Directive, allowed: DirectoryOptions? = nil) throws(ConfigError) -> OptionsSetting {
        var setting = OptionsSetting()
        var signed = 0, unsigned = 0
        var absolute: DirectoryOptions = []
        for word in directive.arguments {
            var name = Substring(word)
            var sign: Character?
            if let first = name.first, first == "+" || first == "-" {
                sign = first
                name = name.dropFirst()
                signed += 1
            } else {
                unsigned += 1
            }
            guard let option = DirectoryOptions.names.first(where: { $0.0 == name.lowercased() })?.1 else {
                throw directive.error("Illegal option \(name)")
            }
            if let allowed, let needed = DirectoryOptions.permission(name), !allowed.isSuperset(of: needed) {
                throw directive.error("Option \(name) not allowed here")
            }
            switch sign {
            case "+": setting.add.formUnion(option); setting.remove.subtract(option)
            case "-": setting.remove.formUnion(option); setting.add.subtract(option)
            default: absolute.formUnion(option)
            }
        }
        if signed > 0 && unsigned > 0 {
            throw directive.error("Either all Options must start with + or -, or no Option may.")
        }
        if unsigned > 0 { setting.absolute = absolute }
        return setting
    }
}
