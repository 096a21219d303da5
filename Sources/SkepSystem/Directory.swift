import Glibc

/// Reads directory listings (opendir/readdir) for `mod_autoindex`-style listings and
/// `DirectoryIndex` probing.
public enum Directory {
    /// One directory entry.
    public struct Entry: Sendable, Hashable {
        /// The name (no path), never "." or "..".
        public var name: String
        /// From `d_type`; `.unknown` on file systems that do not fill it in.
        public var type: FileType
        public var inode: UInt64
    }

    /// Lists `path`, without "." and "..", in the order the file system returns (callers
    /// sort, as autoindex does by its own rules).
    public static func entries(at path: String) throws -> [Entry] {
        guard let dir = withPath(path, { opendir($0) }) else { throw SystemError("opendir") }
        defer { closedir(dir) }
        var result: [Entry] = []
        while true {
            Glibc.errno = 0
            guard let entry = readdir(dir) else {
                if Glibc.errno != 0 { throw SystemError("readdir") }
                return result
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            result.append(Entry(name: name, type: FileType(directoryEntryType: entry.pointee.d_type),
                                inode: UInt64(entry.pointee.d_ino)))
        }
    }
}
