import SkepConfig

/// Apache's mod_authz_groupfile: `AuthGroupFile` (lines `group: user user...`) and the
/// `group` provider of `Require`. The file is read on every check, as Apache does.
public struct AuthzGroupfileModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "authz_groupfile_module", sourceName: "mod_authz_groupfile.c", directives: [
        DirectiveSpec("AuthGroupFile", .take1, .perDirectory, help: "text file containing group names and member user IDs") { d, scope throws(ConfigError) in
            scope.directory[AuthzGroupfileConfig.self].groupFile = scope.serverRootRelative(d.arguments[0])
        },
    ], overrides: [
        "AuthGroupFile": .authConfig,
    ])

    public init(config: ServerConfig) {}

    /// `Require group NAME...`: the authenticated user is in one of `groups`.
    static func check(_ r: Request, groups: [String], _ server: ServerContext) -> AuthzResult {
        guard let user = r.user else { return .deniedNoUser }
        guard let path = r.config(AuthzGroupfileConfig.self).groupFile else {
            server.errorLog.log(.error, module: "authz_groupfile", client: r.client, "AH01664: No group file was specified in the configuration")
            return .denied
        }
        let lines: [ArraySlice<UInt8>]
        switch AuthTextFile.lines(path) {
        case .success(let read): lines = read
        case .failure(let error):
            server.errorLog.log(.error, module: "authz_groupfile", client: r.client,
                                "(\(error.errno.rawValue))\(error.errno): AH01665: Could not open group file: \(path)")
            return .denied
        }
        let memberOf = groupsOf(user, lines)
        if memberOf.isEmpty {
            server.errorLog.log(.info, module: "authz_groupfile", client: r.client,
                                "AH01666: Authorization of user \(user) to access \(r.uri) failed, reason: user doesn't appear in group file (\(path)).")
            return .denied
        }
        if groups.contains(where: memberOf.contains) { return .granted }
        server.errorLog.log(.debug, module: "authz_groupfile", client: r.client,
                            "AH01667: Authorization of user \(user) to access \(r.uri) failed, reason: user is not part of the 'require'ed group(s).")
        return .denied
    }

    /// Apache's `groups_for_user`: every group whose line names `user` (group names
    /// lose trailing blanks; members are words separated by blanks).
    static func groupsOf(_ user: String, _ lines: [ArraySlice<UInt8>]) -> Set<String> {
        let wanted = Array(user.utf8)
        var groups: Set<String> = []
        for line in lines {
            let (name, members) = AuthTextFile.field(line)
            let group = AuthTextFile.trimmed(name)
            let words = members.split(whereSeparator: AuthTextFile.isSpace)
            if words.contains(where: { $0.elementsEqual(wanted) }) {
                groups.insert(String(decoding: group, as: UTF8.self))
            }
        }
        return groups
    }
}

/// mod_authz_groupfile's per-directory record.
public struct AuthzGroupfileConfig: ModuleConfig {
    /// `AuthGroupFile`, made absolute against ServerRoot.
    public var groupFile: String?
    public init() {}
    public func merged(with child: AuthzGroupfileConfig) -> AuthzGroupfileConfig { child.groupFile == nil ? self : child }
}
