import SkepConfig
import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// Whom the children run as: `User` and `Group` resolved once at start (an unknown name
/// stops the server as Apache's AH00543 does), applied in each child after fork.
public struct ChildIdentity: Sendable {
    public let userID: uid_t?
    public let groupID: gid_t?
    public let userName: String?

    public init(_ config: ServerConfig) throws(ConfigError) {
        let unixd = config[UnixdConfig.self]
        guard Credentials.isRoot else {
            // Only root can change user; as Apache, User and Group are then ignored.
            userID = nil
            groupID = nil
            userName = nil
            return
        }
        guard let user = unixd.user else {
            userID = nil
            groupID = nil
            userName = nil
            return
        }
        guard let account = try? UserAccount.lookup(user) else {
            throw ConfigError(nil, "AH00543: skep: bad user name \(user)")
        }
        var group = account.groupID
        if let groupName = unixd.group {
            guard let g = try? GroupAccount.resolveGroupID(groupName) else {
                throw ConfigError(nil, "AH00544: skep: bad group name \(groupName)")
            }
            group = g
        }
        userID = account.userID
        groupID = group
        userName = account.name
    }

    /// True when children will keep running as root (no `User` while started as root).
    public var keepsRoot: Bool { Credentials.isRoot && userID == nil }

    /// Drops to `User`/`Group`, then asks to die with the master (Linux clears the
    /// parent-death signal when the user changes, so it is set after).
    public func apply() throws {
        if let userID, let groupID {
            try Credentials.dropPrivileges(userID: userID, groupID: groupID, supplementaryGroupsOf: userName)
        }
        try Process.setParentDeathSignal(.terminate)
    }
}
