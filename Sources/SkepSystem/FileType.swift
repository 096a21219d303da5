import Glibc

/// The kind of a file system object, from `st_mode` or `d_type`.
public enum FileType: Sendable, Hashable {
    case regular, directory, symbolicLink, characterDevice, blockDevice, fifo, socket
    /// `d_type` was DT_UNKNOWN (some file systems): stat the entry to find out.
    case unknown

    /// Decodes the S_IFMT bits of a mode.
    @inlinable
    public init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symbolicLink
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        default: self = .unknown
        }
    }

    /// Decodes a `dirent.d_type`.
    @inlinable
    public init(directoryEntryType type: UInt8) {
        switch Int(type) {
        case Int(DT_REG): self = .regular
        case Int(DT_DIR): self = .directory
        case Int(DT_LNK): self = .symbolicLink
        case Int(DT_CHR): self = .characterDevice
        case Int(DT_BLK): self = .blockDevice
        case Int(DT_FIFO): self = .fifo
        case Int(DT_SOCK): self = .socket
        default: self = .unknown
        }
    }
}
