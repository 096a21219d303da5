import Glibc

/// The parts of `struct stat` a web server uses: size for Content-Length, mtime for
/// Last-Modified and ETag (Apache's default ETag is inode-mtime-size), type and permissions
/// for directory handling and access checks, owner for `SymLinksIfOwnerMatch`.
public struct FileStatus: Sendable, Hashable {
    public var size: Int64
    public var modificationTime: Timestamp
    /// `st_ctime`: changes with the content and with the inode (mode, owner, links), so
    /// a cached copy that matches it and `modificationTime` is still the file's.
    public var statusChangeTime: Timestamp
    public var inode: UInt64
    public var device: UInt64
    /// The full `st_mode` (type and permission bits).
    public var mode: mode_t
    public var userID: uid_t
    public var groupID: gid_t
    public var linkCount: UInt64

    @inlinable
    public init(_ st: stat) {
        size = Int64(st.st_size)
        modificationTime = Timestamp(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int32(st.st_mtim.tv_nsec))
        statusChangeTime = Timestamp(seconds: Int64(st.st_ctim.tv_sec), nanoseconds: Int32(st.st_ctim.tv_nsec))
        inode = UInt64(st.st_ino)
        device = UInt64(st.st_dev)
        mode = st.st_mode
        userID = st.st_uid
        groupID = st.st_gid
        linkCount = UInt64(st.st_nlink)
    }

    /// True when `other` describes the same file unchanged: same inode and device, and
    /// the same size, mtime and ctime (ctime moves with any write or `chmod`).
    @inlinable public func isSameVersion(as other: FileStatus) -> Bool {
        inode == other.inode && device == other.device && size == other.size
            && modificationTime == other.modificationTime && statusChangeTime == other.statusChangeTime
    }

    /// The file type from `mode`.
    @inlinable public var type: FileType { FileType(mode: mode) }
    /// The permission bits (`mode & 0o7777`).
    @inlinable public var permissions: mode_t { mode & 0o7777 }
    @inlinable public var isRegularFile: Bool { mode & S_IFMT == S_IFREG }
    @inlinable public var isDirectory: Bool { mode & S_IFMT == S_IFDIR }
    @inlinable public var isSymbolicLink: Bool { mode & S_IFMT == S_IFLNK }
}
