import Glibc

/// A group entry: what Apache's `Group` directive names.
public struct GroupAccount: Sendable, Hashable {
    public var name: String
    public var groupID: gid_t

    /// Looks up `spec`, a group name (`www-data`) or `#gid`.
    /// - Returns: `nil` when no such group exists.
    public static func lookup(_ spec: String) throws -> GroupAccount? {
        if spec.hasPrefix("#") {
            guard let gid = UInt32(spec.dropFirst()) else { return nil }
            return try lookup(groupID: gid)
        }
        return try fetch { entry, buffer, length, result in
            spec.withCString { getgrnam_r($0, entry, buffer, length, result) }
        }
    }

    /// Looks up a group by gid.
    public static func lookup(groupID: gid_t) throws -> GroupAccount? {
        try fetch { entry, buffer, length, result in getgrgid_r(groupID, entry, buffer, length, result) }
    }

    /// Resolves `spec` to a gid: `#N` is taken as is (Apache's `ap_gname2id`); a name must
    /// exist.
    public static func resolveGroupID(_ spec: String) throws -> gid_t? {
        if spec.hasPrefix("#") { return UInt32(spec.dropFirst()) }
        return try lookup(spec)?.groupID
    }

    private static func fetch(
        _ call: (UnsafeMutablePointer<group>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<group>?>) -> Int32
    ) throws -> GroupAccount? {
        var capacity = 1024
        while true {
            var entry = group()
            var result: UnsafeMutablePointer<group>? = nil
            let outcome: GroupAccount?? = try withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
                let code = call(&entry, buffer.baseAddress!, capacity, &result)
                if code == ERANGE { return .none }
                if code != 0 && code != ENOENT && code != ESRCH { throw SystemError(code: code, "getgrnam_r") }
                guard result != nil else { return .some(nil) }
                return .some(GroupAccount(name: String(cString: entry.gr_name), groupID: entry.gr_gid))
            }
            if let outcome { return outcome }
            capacity *= 4
        }
    }
}
