import Glibc

/// The process's user and group ids, and dropping root privileges as Apache's children do.
public enum Credentials {
    @inlinable public static var userID: uid_t { getuid() }
    @inlinable public static var effectiveUserID: uid_t { geteuid() }
    @inlinable public static var groupID: gid_t { getgid() }
    @inlinable public static var effectiveGroupID: gid_t { getegid() }
    /// Whether the process runs with root's effective uid (only then are `User`/`Group`
    /// applied, as in Apache).
    @inlinable public static var isRoot: Bool { geteuid() == 0 }

    /// The supplementary groups (getgroups).
    public static func supplementaryGroups() throws -> [gid_t] {
        let count = getgroups(0, nil)
        if count == -1 { throw SystemError("getgroups") }
        var groups = [gid_t](repeating: 0, count: Int(count))
        let filled = getgroups(count, &groups)
        if filled == -1 { throw SystemError("getgroups") }
        return Array(groups[0..<Int(filled)])
    }

    /// Drops to `userID`/`groupID`, in the only safe order: supplementary groups first
    /// (initgroups for `supplementaryGroupsOf`, or just `groupID` when nil, as for a `#uid`
    /// without a passwd entry), then setgid, then setuid (after setuid, nothing else could
    /// be changed). Apache's `unixd_setup_child` does the same.
    ///
    /// Call it in a child after fork, then set the parent-death signal (setuid clears it).
    /// Without root (`isRoot` false) this only succeeds if nothing changes, so a server
    /// started by an ordinary user keeps running as that user.
    public static func dropPrivileges(userID: uid_t, groupID: gid_t, supplementaryGroupsOf userName: String?) throws {
        if !isRoot {
            if geteuid() == userID && getegid() == groupID { return }
            throw SystemError(code: EPERM, "setuid")
        }
        if let userName {
            let result = userName.withCString { initgroups($0, groupID) }
            if result == -1 { throw SystemError("initgroups") }
        } else {
            var gid = groupID
            if setgroups(1, &gid) == -1 { throw SystemError("setgroups") }
        }
        if setgid(groupID) == -1 { throw SystemError("setgid") }
        if setuid(userID) == -1 { throw SystemError("setuid") }
    }
}
