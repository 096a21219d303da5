import Glibc

/// Path-based file system queries: what request mapping (`<Directory>`, `DirectoryIndex`,
/// symlink options) and configuration (`DocumentRoot` checks, `ServerRoot`) need.
public enum FileSystem {
    /// stat(2) (follows symlinks) or lstat(2) (`followSymlinks: false`).
    public static func status(_ path: String, followSymlinks: Bool = true) throws -> FileStatus {
        var st = stat()
        let result = withPath(path) { followSymlinks ? stat($0, &st) : lstat($0, &st) }
        if result == -1 { throw SystemError(followSymlinks ? "stat" : "lstat") }
        return FileStatus(st)
    }

    /// The status, or `nil` if the path does not exist (ENOENT or ENOTDIR). Other errors
    /// (EACCES, ELOOP) are thrown: they mean 403, not 404.
    public static func statusIfExists(_ path: String, followSymlinks: Bool = true) throws -> FileStatus? {
        do {
            return try status(path, followSymlinks: followSymlinks)
        } catch let error as SystemError where error.code == ENOENT || error.code == ENOTDIR {
            return nil
        }
    }

    /// Whether anything exists at `path` (following symlinks).
    public static func exists(_ path: String) -> Bool {
        withPath(path) { access($0, F_OK) } == 0
    }

    /// access(2) with R_OK/W_OK/X_OK bits, as the real uid sees it.
    public static func isAccessible(_ path: String, mode: Int32) -> Bool {
        withPath(path) { access($0, mode) } == 0
    }

    /// readlink(2): the target of a symbolic link.
    public static func readLink(_ path: String) throws -> String {
        var capacity = 256
        while true {
            let result: String? = try withPath(path) { cPath in
                try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
                    let count = buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: capacity) {
                        readlink(cPath, $0, capacity)
                    }
                    if count == -1 { throw SystemError("readlink") }
                    if count == capacity { return nil }
                    return String(decoding: buffer[0..<count], as: UTF8.self)
                }
            }
            if let result { return result }
            capacity *= 4
        }
    }

    /// realpath(3): the canonical absolute path, symlinks resolved. For confinement
    /// checks against a `DocumentRoot`.
    public static func realPath(_ path: String) throws -> String {
        guard let resolved = withPath(path, { realpath($0, nil) }) else { throw SystemError("realpath") }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// getcwd(3).
    public static func currentDirectory() throws -> String {
        guard let cwd = getcwd(nil, 0) else { throw SystemError("getcwd") }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// chdir(2): the master moves to `/` (or `CoreDumpDirectory`) as Apache does.
    public static func changeDirectory(_ path: String) throws {
        if withPath(path, { chdir($0) }) == -1 { throw SystemError("chdir") }
    }

    /// unlink(2) (stale Unix sockets, PidFile at stop).
    public static func remove(_ path: String) throws {
        if withPath(path, { unlink($0) }) == -1 { throw SystemError("unlink") }
    }

    /// mkdir(2).
    public static func createDirectory(_ path: String, permissions: mode_t = 0o755) throws {
        if withPath(path, { mkdir($0, permissions) }) == -1 { throw SystemError("mkdir") }
    }

    /// rename(2): atomic replacement (PidFile written to a temporary name first).
    public static func rename(_ from: String, to: String) throws {
        let result = withPath(from) { cFrom in withPath(to) { cTo in Glibc.rename(cFrom, cTo) } }
        if result == -1 { throw SystemError("rename") }
    }
}
