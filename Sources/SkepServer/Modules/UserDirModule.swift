import SkepConfig
import SkepHTTP
import SkepSystem

/// Apache's mod_userdir: `/~user/rest` maps to a directory of that user's, as
/// `translate_userdir` maps it. Each `UserDir` entry is tried in order:
///
/// - `public_html` (relative): the user's home directory from the passwd database, then
///   the entry (`/home/user/public_html/rest`);
/// - `/var/www/users` (absolute, no `*`): the entry, the user (`/var/www/users/user/rest`);
/// - `/home/*/www` (a `*`): the user put in place of the `*`;
/// - `http://host/~*/` (a `*` after a scheme): a 302 redirect with the user in place.
///
/// An entry that is not the last is used only when its directory exists; the last is
/// used as it is. `UserDir disabled` turns it off but for the users named by
/// `UserDir enabled u1 u2`; `UserDir disabled u1 u2` turns it off for those users.
public struct UserDirModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "userdir_module", sourceName: "mod_userdir.c", directives: [
        DirectiveSpec("UserDir", .raw, .server, help: "the public subdirectory in users' home directories, or 'disabled', or 'disabled username username...', or 'enabled username username...'") { d, scope throws(ConfigError) in
            guard let keyword = d.arguments.first else { throw d.error("UserDir requires an argument.") }
            let users = d.arguments.dropFirst()
            switch keyword.lowercased() {
            case "disable", "disabled":
                if users.isEmpty {
                    scope.server[UserDirConfig.self].globally = .disabled
                } else {
                    scope.server[UserDirConfig.self].disabledUsers.formUnion(users)
                }
            case "enable", "enabled":
                if users.isEmpty {
                    scope.server[UserDirConfig.self].globally = .enabled
                } else {
                    scope.server[UserDirConfig.self].enabledUsers.formUnion(users)
                }
            default:
                scope.server[UserDirConfig.self].entries = d.arguments
            }
        },
    ])

    public init(config: ServerConfig) {}

    public func translate(_ r: Request, _ server: ServerContext) -> HookResult {
        let uri = r.uri.utf8
        guard uri.count >= 2, uri.starts(with: "/~".utf8) else { return .declined }
        let config = r.serverConfig(UserDirConfig.self)
        guard let entries = config.entries else { return .declined }
        let afterTilde = r.uri.dropFirst(2)
        let user = String(afterTilde.prefix { $0 != "/" })
        // The rest of the path with its leading '/', or empty.
        let rest = String(afterTilde.dropFirst(user.count))
        // Apache's check looks at the name's second and third bytes ("x." and "x.."),
        // not its first: kept as it is, so the same names are refused.
        let name = Array(user.utf8)
        if name.isEmpty || (name.count >= 2 && name[1] == UInt8(ascii: ".") && (name.count == 2 || (name[2] == UInt8(ascii: ".") && name.count == 3))) {
            return .declined
        }
        if config.disabledUsers.contains(user) { return .declined }
        if config.globally == .disabled && !config.enabledUsers.contains(user) { return .declined }

        for (index, entry) in entries.enumerated() {
            let isLast = index == entries.count - 1
            let mapping = Self.map(entry, user: user, rest: rest)
            var directory: String?
            switch mapping {
            case .redirect(let location):
                return .respond(RequestProcessor(context: server).error(.found, r, location: location))
            case .directory(let path):
                directory = path
            case .home(let subdirectory):
                // The passwd lookup may read files (or ask NSS): not on the event listener.
                if let run = r.listenerRun {
                    run.blocked = true
                    return .declined
                }
                if let account = try? UserAccount.lookup(user) { directory = account.home + "/" + subdirectory }
            }
            guard let directory else { continue }
            if !isLast {
                let exists = (try? r.lookUp(directory, in: server.fileCache)) != nil
                if r.wouldBlock { return .declined }
                guard exists else { continue }
            }
            r.filename = directory + rest
            r.contextPrefix = String(r.uri.dropLast(rest.count))
            r.contextDocumentRoot = directory
            r.notes[Self.userNote] = user
            return .handled
        }
        return .declined
    }

    /// mod_userdir's note naming the user (`mod_userdir_user`).
    public static let userNote = "mod_userdir_user"

    /// Where one `UserDir` entry sends a user's request.
    enum Mapping: Equatable {
        case directory(String)
        /// The home directory from the passwd database, then this.
        case home(String)
        case redirect(String)
    }

    /// Apache's cases, in its order: a `*` splits the entry into a prefix and a suffix;
    /// an absolute entry or one ending in `*` is a path, unless its prefix names a
    /// scheme; a relative one with a scheme before its `*` redirects (the suffix dropped,
    /// as Apache drops it); any other is under the user's home.
    static func map(_ entry: String, user: String, rest: String) -> Mapping {
        let isAbsolute = entry.hasPrefix("/")
        var prefix: String?
        var suffix = Substring(entry)
        if let star = entry.firstIndex(of: "*") {
            prefix = String(entry[..<star])
            suffix = entry[entry.index(after: star)...]
        }
        if suffix.isEmpty || isAbsolute {
            guard let prefix else { return .directory(entry + "/" + user) }
            if prefix.contains(":") && !isAbsolute { return .redirect(prefix + user + suffix + rest) }
            return .directory(prefix + user + suffix)
        }
        if let prefix, prefix.contains(":") { return .redirect(prefix + user + rest) }
        return .home(entry)
    }
}

/// mod_userdir's per-server record. As in Apache, a virtual host inherits the main
/// server's entries and its global `enabled`/`disabled`, but not its user lists.
public struct UserDirConfig: ModuleConfig {
    enum Global: Sendable { case enabled, disabled }
    /// The `UserDir` entries; nil (no `UserDir` written) leaves `/~user` alone, as Apache 2.4 does.
    var entries: [String]?
    var globally: Global?
    var enabledUsers: Set<String> = []
    var disabledUsers: Set<String> = []
    public init() {}
    public func merged(with child: UserDirConfig) -> UserDirConfig {
        var out = UserDirConfig()
        out.entries = child.entries ?? entries
        out.globally = child.globally ?? globally
        out.enabledUsers = child.enabledUsers
        out.disabledUsers = child.disabledUsers
        return out
    }
}
