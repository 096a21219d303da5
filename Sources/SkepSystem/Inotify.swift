import Glibc

/// An inotify instance: the kernel's reports of changes in watched directories.
///
/// The event MPM's file cache watches the directories of the files it holds, so the
/// listener can serve them without a `stat` per request and still see every change
/// before the next request. Non-blocking, so `read` never stalls the event loop.
public struct Inotify: Sendable {
    public let descriptor: Descriptor

    /// One report: which watch, what happened, and the name inside the directory (empty
    /// for the directory itself).
    public struct Event: Sendable {
        public let watch: Int32
        public let mask: UInt32
        public let name: String
    }

    /// What a directory watch reports: entries created, deleted, moved, written or
    /// changed in their inode, and the directory itself going away.
    public static let directoryChanges: UInt32 =
        UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB
               | IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR)
    /// Changes to the names in a directory and to their inodes, not writes to their
    /// content: for the directories above a watched one, where only a rename matters.
    public static let structureChanges: UInt32 =
        UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
        | UInt32(IN_ONLYDIR)
    /// What a file's own watch reports: writes and inode changes through any of its
    /// names (a hard link made later included), and the file going away.
    public static let fileChanges: UInt32 =
        UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
    /// The kernel dropped reports: everything learned from this instance is suspect.
    public static let overflow = UInt32(IN_Q_OVERFLOW)

    public init() throws {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if fd == -1 { throw SystemError("inotify_init1") }
        descriptor = Descriptor(rawValue: fd)
    }

    /// Watches `path` with `mask` (replacing an earlier mask of the same directory);
    /// returns the watch descriptor, the same one for the same directory.
    public func watch(_ path: String, mask: UInt32) throws -> Int32 {
        let wd = inotify_add_watch(descriptor.rawValue, path, mask)
        if wd == -1 { throw SystemError("inotify_add_watch") }
        return wd
    }

    /// Stops watching; the kernel then reports `ignored` for the watch.
    public func unwatch(_ watch: Int32) {
        _ = inotify_rm_watch(descriptor.rawValue, watch)
    }

    /// Every report queued now; empty when none is.
    public func read() -> [Event] {
        var events: [Event] = []
        // On the stack: a worker drains the queue once per request, usually finding it empty.
        withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 8) { buffer in
            while true {
                let n = Glibc.read(descriptor.rawValue, buffer.baseAddress, buffer.count)
                if n <= 0 { return }
                var offset = 0
                let header = MemoryLayout<inotify_event>.size
                while offset + header <= n {
                    let base = buffer.baseAddress! + offset  // trap-safe: a 16 KiB allocation
                    let wd = base.loadUnaligned(fromByteOffset: 0, as: Int32.self)
                    let mask = base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
                    let length = Int(base.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                    let nameBytes = UnsafeRawBufferPointer(start: base + header, count: length)
                    let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                    events.append(Event(watch: wd, mask: mask, name: name))
                    offset += header + length
                }
            }
        }
        return events
    }

    public func close() { descriptor.close() }
}
