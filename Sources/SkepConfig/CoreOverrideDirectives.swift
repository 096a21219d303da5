/// `AllowOverride`, `AllowOverrideList` and `AccessFileName`: which `.htaccess` files a
/// directory reads and what they may say (core.c's `set_override`, `set_override_list`,
/// `set_access_name`).
extension CoreModule {
    static let overrideDirectives: [DirectiveSpec] = [
        DirectiveSpec("AllowOverride", .iterate, .perDirectory, help: "None, All, or a list of override classes (AuthConfig, FileInfo, Indexes, Limit, Options[=...], Nonfatal=...)") { d, scope throws(ConfigError) in
            if scope.context == .location || scope.context == .files {
                scope.warnings.append(d.warning("AH00114: Useless use of AllowOverride in line \(d.location.line) of \(d.location.file)."))
            }
            var core = scope.directory[CoreDirConfig.self]
            var classes: OverrideClass = []
            var nonfatal: NonfatalOverride = []
            for word in d.arguments {
                let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = parts[0].lowercased(), value = parts.count > 1 ? parts[1] : nil
                switch key {
                case "options":
                    classes.insert(.options)
                    if let value {
                        var permitted: DirectoryOptions = []
                        for option in value.split(separator: ",") {
                            guard let bits = DirectoryOptions.permission(option) else { throw d.error("Illegal option \(option)") }
                            permitted.formUnion(bits)
                        }
                        core.overrideOptions = permitted
                    } else {
                        core.overrideOptions = .apacheAll
                    }
                case "nonfatal":
                    switch value?.lowercased() {
                    case "override": nonfatal.insert(.override)
                    case "unknown": nonfatal.insert(.unknown)
                    case "all": nonfatal.formUnion([.override, .unknown])
                    case nil: throw d.error("=Override, =Unknown or =All expected after \(parts[0])")
                    default: break
                    }
                case "none":
                    classes = []
                    nonfatal = []
                default:
                    // `Limit=...` and the like are not Apache's: the class keywords take no value.
                    guard value == nil, let named = OverrideClass(keyword: key) else {
                        throw d.error("Illegal override option \(word)")
                    }
                    if named == .all { classes = .all } else { classes.formUnion(named) }
                }
            }
            core.allowOverride = classes
            core.overrideNonfatal = nonfatal
            scope.directory[CoreDirConfig.self] = core
        },
        DirectiveSpec("AllowOverrideList", .iterate, .perDirectory, help: "None, or directives allowed in .htaccess whatever AllowOverride says") { d, scope throws(ConfigError) in
            if scope.context == .location || scope.context == .files {
                scope.warnings.append(d.warning("AH00115: Useless use of AllowOverrideList at \(d.location.file):\(d.location.line)"))
            }
            var names: Set<String> = []
            for name in d.arguments {
                if name.lowercased() == "none" {
                    guard d.arguments.count == 1 else { throw d.error("'None' not allowed with other directives in AllowOverrideList") }
                    break
                }
                names.insert(name.lowercased())
            }
            // Apache discards names it does not know when the `.htaccess` is read (AH00116):
            // the reader's "Invalid command" answers them there.
            scope.directory[CoreDirConfig.self].allowOverrideList = names
        },
        DirectiveSpec("AccessFileName", .iterate, .server, help: "the names of per-directory configuration files, tried in order (default .htaccess)") { d, scope throws(ConfigError) in
            scope.server[CoreServerConfig.self].accessFileNames = d.arguments
        },
    ]
}

/// `AllowOverride Nonfatal=...`: what in a `.htaccess` is logged and skipped instead of
/// answering 500 (Apache's `NONFATAL_OVERRIDE`, `NONFATAL_UNKNOWN`).
public struct NonfatalOverride: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// A directive its class does not allow.
    public static let override = NonfatalOverride(rawValue: 1 << 0)
    /// A directive no loaded module knows.
    public static let unknown = NonfatalOverride(rawValue: 1 << 1)
}
