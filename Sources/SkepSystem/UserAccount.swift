import Glibc

/// A passwd entry: what Apache's `User` directive names.
///
/// Looked up with the reentrant `getpwnam_r`/`getpwuid_r` in the master, at configuration
/// time, before any fork (NSS may take locks and open files).
public struct UserAccount: Sendable, Hashable {
    public var name: String
    public var userID: uid_t
    /// The primary group from the passwd entry.
    public var groupID: gid_t
    public var home: String
    public var shell: String

    /// Looks up `spec`, which is a user name (`www-data`) or, as in Apache, `#uid` (`#33`).
    /// - Returns: `nil` when no such user exists.
    public static func lookup(_ spec: String) throws -> UserAccount? {
        if spec.hasPrefix("#") {
            guard let uid = UInt32(spec.dropFirst()) else { return nil }
            return try lookup(userID: uid)
        }
        return try fetch { pwd, buffer, length, result in
            spec.withCString { getpwnam_r($0, pwd, buffer, length, result) }
        }
    }

    /// Looks up a user by uid.
    public static func lookup(userID: uid_t) throws -> UserAccount? {
        try fetch { pwd, buffer, length, result in getpwuid_r(userID, pwd, buffer, length, result) }
    }

    /// Resolves `spec` to a uid: `#N` is taken as is even without a passwd entry (Apache's
    /// `ap_uname2id`); a name must exist.
    public static func resolveUserID(_ spec: String) throws -> uid_t? {
        if spec.hasPrefix("#") { return UInt32(spec.dropFirst()) }
        return try lookup(spec)?.userID
    }

    private static func fetch(
        _ call: (UnsafeMutablePointer<passwd>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<passwd>?>) -> Int32
    ) throws -> UserAccount? {
        var capacity = 1024
        while true {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>? = nil
            let outcome: UserAccount?? = try withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
                let code = call(&entry, buffer.baseAddress!, capacity, &result)
                if code == ERANGE { return .none }
                if code != 0 && code != ENOENT && code != ESRCH { throw SystemError(code: code, "getpwnam_r") }
                guard result != nil else { return .some(nil) }
                return .some(UserAccount(
                    name: String(cString: entry.pw_name), userID: entry.pw_uid, groupID: entry.pw_gid,
                    home: entry.pw_dir.map { String(cString: $0) } ?? "",
                    shell: entry.pw_shell.map { String(cString: $0) } ?? ""))
            }
            if let outcome { return outcome }
            capacity *= 4
        }
    }
}
