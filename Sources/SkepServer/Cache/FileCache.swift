#if canImport(Glibc)
import Glibc
#endif
import SkepSystem

/// A child's memory of the file system, so a request for a small static file needs no
/// `open`, `read` or `close` (every MPM) and, in an event child, not even a `stat`: its
/// listener thread can then answer it without ever blocking (DESIGN.md, "Requests the
/// event listener answers itself").
///
/// Two layers:
/// - Small files' bytes, kept with the status they were read under, used only when
///   inode, size, mtime and ctime all still match the status the request found.
/// - In an event child (`startWatching`): the lookups themselves (status, or no such
///   file, or the error that means 403), trusted without a `stat` because inotify
///   watches every directory above each remembered path, and each remembered file
///   itself (a write through another name is reported on the file, not its directory),
///   and the listener applies the kernel's reports before it handles the requests of the
///   same wake-up; a worker applies those queued when its request starts. A client that
///   changes a file and then asks for it gets the new one, as from Apache. A report about a name drops the watches at and below that name too: a
///   directory renamed away, or a directory link pointed elsewhere, leaves its watch on
///   the old inode, so the name is watched afresh at its next lookup.
///
/// What is not remembered, so it is always looked up afresh: paths that are symbolic
/// links or have other hard links, and anything when the kernel refuses a watch. Writes
/// through `mmap` are not reported by inotify; such files are served as they were until
/// another change is reported.
public final class FileCache: @unchecked Sendable {
    /// What a lookup found: the status (nil: no such file), or the error that means 403.
    public typealias Lookup = Result<FileStatus?, SystemError>

    /// Files up to this size are kept (the same bound as serving a file from memory).
    public static let largestFile = 64 * 1024
    /// Remembered lookups before the table starts afresh (it refills from requests).
    static let lookupLimit = 16_384
    /// Directories watched at most, for the kernel's per-user limit.
    static let watchLimit = 4_096
    /// Missing directories remembered at most before that memory starts afresh.
    static let missingLimit = 4_096

    private struct Key: Hashable {
        let path: String
        let follow: Bool
    }

    private struct Kept {
        let status: FileStatus
        let bytes: [UInt8]
        var lastUsed: UInt64
    }

    private let capacity: Int
    private let mutex = Mutex()
    private var lookups: [Key: Lookup] = [:]
    private var kept: [String: Kept] = [:]
    private var keptBytes = 0
    private var useClock: UInt64 = 0
    /// Bumped whenever reports are applied: a lookup begun before must not be remembered,
    /// as the report may be about what it saw.
    private var changes: UInt64 = 0
    private var inotify: Inotify?
    private var directories: [Int32: String] = [:]
    /// Watched paths: each with its watch, and whether content changes inside it (a
    /// directory remembered paths are in, or a remembered file) are reported too.
    private var watched: [String: (watch: Int32, full: Bool)] = [:]
    /// Directory names that do not exist (or are not directories), each inside a watched
    /// directory that reports its creation: nothing below one needs a watch attempt.
    private var missing: Set<String> = []
    /// `inotify_add_watch` calls made, for tests of what a lookup costs.
    private(set) var watchAttempts = 0

    /// A cache keeping at most `capacity` bytes of file content; 0 keeps nothing.
    public init(capacity: Int) {
        self.capacity = capacity
    }

    deinit {
        inotify?.close()
    }

    /// Starts remembering lookups, watched by inotify; returns the descriptor the caller
    /// polls and hands to `applyChanges`, nil when the cache is off or the kernel refuses.
    public func startWatching() -> Descriptor? {
        guard capacity > 0, let instance = try? Inotify() else { return nil }
        mutex.withLock { inotify = instance }
        return instance.descriptor
    }

    /// Applies the kernel's reports: what changed is forgotten.
    public func applyChanges() {
        mutex.withLock { drainReports() }
    }

    /// Reads and applies every report queued now, under the lock: a thread that finds
    /// none can trust what is remembered, as no other thread holds reports read but not
    /// yet applied.
    private func drainReports() {
        guard let instance = inotify else { return }
        let events = instance.read()
        guard !events.isEmpty else { return }
        changes &+= 1
        for event in events {
            if event.mask & Inotify.overflow != 0 {
                lookups.removeAll()
                missing.removeAll()
                kept.removeAll()
                keptBytes = 0
                continue
            }
            guard let path = directories[event.watch] else { continue }
            forget(event.name.isEmpty ? path : Self.join(path, event.name))
        }
    }

    /// The remembered answer to a `stat` (or `lstat`) of `path`, for a caller that must
    /// not block; nil when there is none (or the cache is not watching).
    public func remembered(_ path: String, followSymlinks: Bool = true) -> Lookup? {
        let key = Key(path: path, follow: followSymlinks)
        return mutex.withLock { inotify == nil ? nil : lookups[key] }
    }

    /// `stat` (or `lstat`) of `path`, remembered when the cache is watching.
    ///
    /// A worker first applies the reports queued now (`applyReports`, once per request):
    /// every change made before the request was sent is then known, so a remembered
    /// answer is as fresh as Apache's `stat` and costs no system call.
    public func lookUp(_ path: String, followSymlinks: Bool = true, applyReports: Bool = true) -> Lookup {
        let key = Key(path: path, follow: followSymlinks)
        let (known, watching) = mutex.withLock { () -> (Lookup?, Bool) in
            if applyReports { drainReports() }
            return (lookups[key], inotify != nil)
        }
        guard watching else { return Self.stat(path, followSymlinks) }
        if let known { return known }
        guard let generation = mutex.withLock({ prepareWatches(for: path) }) else {
            return Self.stat(path, followSymlinks)
        }
        let result = Self.stat(path, followSymlinks)
        guard Self.isRememberable(path, result, followSymlinks) else { return result }
        if case .success(let status?) = result, status.isRegularFile {
            // A file gets a watch of its own, then is looked up again: what the second
            // lookup saw is either still so or reported.
            guard mutex.withLock({ watchFile(path) }) else { return result }
            let again = Self.stat(path, followSymlinks)
            guard again == result else { return again }
        }
        mutex.withLock {
            guard changes == generation else { return }
            if lookups.count >= Self.lookupLimit { lookups.removeAll() }
            lookups[key] = result
        }
        return result
    }

    /// The bytes of the regular file at `path` whose status is `status`, when it is
    /// small enough to keep. A caller that must not block gets only a kept copy; one that
    /// may reads and keeps the file. Nil: the caller reads the file itself (or, on the
    /// listener, hands the request to a worker).
    public func contents(of path: String, status: FileStatus, mayBlock: Bool) -> [UInt8]? {
        guard capacity > 0, status.isRegularFile, status.size <= Int64(min(Self.largestFile, capacity)) else { return nil }  // trap-safe: Int to Int64 widens
        let found: [UInt8]? = mutex.withLock {
            guard var entry = kept[path], entry.status.isSameVersion(as: status) else { return nil }
            useClock &+= 1
            entry.lastUsed = useClock
            kept[path] = entry
            return entry.bytes
        }
        if let found { return found }
        guard mayBlock, let file = try? File.openForReading(path) else { return nil }
        defer { file.close() }
        guard let opened = try? file.status(), opened.isSameVersion(as: status) else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(status.size))  // trap-safe: size <= 64 KiB, checked at the top
        let read = bytes.withUnsafeMutableBytes { (try? file.read(into: $0, at: 0)) ?? -1 }
        guard read == Int(status.size) else { return nil }  // trap-safe: size <= 64 KiB, checked at the top
        mutex.withLock {
            if let old = kept.removeValue(forKey: path) { keptBytes -= old.bytes.count }
            while keptBytes + bytes.count > capacity, let oldest = kept.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                kept[oldest.key] = nil
                keptBytes -= oldest.value.bytes.count
            }
            useClock &+= 1
            kept[path] = Kept(status: status, bytes: bytes, lastUsed: useClock)
            keptBytes += bytes.count
        }
        return bytes
    }

    // MARK: - Private

    private static func stat(_ path: String, _ follow: Bool) -> Lookup {
        do {
            return .success(try FileSystem.statusIfExists(path, followSymlinks: follow))
        } catch let error as SystemError {
            return .failure(error)
        } catch {
            return .failure(SystemError(errno: .ioError, call: "stat"))
        }
    }

    /// A path whose answer can change without a report on its own directory is not
    /// remembered: a symbolic link (its target lives elsewhere) or a file with other names.
    private static func isRememberable(_ path: String, _ result: Lookup, _ follow: Bool) -> Bool {
        guard case .success(let status?) = result else { return true }
        if status.isRegularFile && status.linkCount > 1 { return false }
        guard follow else { return !status.isSymbolicLink }
        guard let link = try? FileSystem.status(path, followSymlinks: false) else { return false }
        return !link.isSymbolicLink
    }


    /// Watches every directory above `path` (its own with content changes) before it is
    /// looked up, so no change after the lookup goes unreported. Returns the generation
    /// to compare before remembering, nil when a watch could not be set.
    ///
    /// From the top down, stopping at the first directory that does not exist: nothing
    /// below it exists, and its creation is reported on its parent, watched just before.
    /// The miss is remembered, so a deep missing path costs one failing watch, not one
    /// per directory per lookup.
    private func prepareWatches(for path: String) -> UInt64? {
        guard let inotify else { return nil }
        let slash = UInt8(ascii: "/")
        let bytes = path.utf8
        guard let parentEnd = bytes.lastIndex(of: slash) else { return changes }
        var searchFrom = bytes.startIndex
        while let end = bytes[searchFrom...].firstIndex(of: slash) {
            searchFrom = bytes.index(after: end)
            let isFirst = end == bytes.startIndex
            let name = isFirst ? "/" : String(path[..<end])
            let full = end == parentEnd
            if missing.contains(name) { return changes }
            if let known = watched[name], known.full || !full { continue }
            guard watched.count < Self.watchLimit else { return nil }
            watchAttempts &+= 1
            do {
                let wd = try inotify.watch(name, mask: full ? Inotify.directoryChanges : Inotify.structureChanges)
                directories[wd] = name
                watched[name] = (wd, full)
            } catch let error as SystemError where error.code == ENOENT || error.code == ENOTDIR {
                // Not there (yet). A relative path's first directory has no watched
                // parent to report its creation: such a lookup is not remembered.
                guard path.hasPrefix("/") || name.utf8.contains(slash) else { return nil }
                if missing.count >= Self.missingLimit { missing.removeAll() }
                missing.insert(name)
                return changes
            } catch {
                return nil
            }
        }
        return changes
    }

    /// Watches the regular file at `path` itself; false when the kernel refuses.
    private func watchFile(_ path: String) -> Bool {
        guard let inotify else { return false }
        if watched[path] != nil { return true }
        guard watched.count < Self.watchLimit, let wd = try? inotify.watch(path, mask: Inotify.fileChanges) else { return false }
        directories[wd] = path
        watched[path] = (wd, true)
        return true
    }

    /// Forgets `path` and everything below it, and stops watching there: whatever the
    /// name refers to now is watched afresh at its next lookup.
    private func forget(_ path: String) {
        let below = path == "/" ? "/" : path + "/"
        lookups = lookups.filter { $0.key.path != path && !$0.key.path.hasPrefix(below) }
        missing = missing.filter { $0 != path && !$0.hasPrefix(below) }
        for (name, entry) in kept where name == path || name.hasPrefix(below) {
            kept[name] = nil
            keptBytes -= entry.bytes.count
        }
        for (name, entry) in watched where name == path || name.hasPrefix(below) {
            watched[name] = nil
            directories[entry.watch] = nil
            inotify?.unwatch(entry.watch)
        }
    }

    private static func join(_ directory: String, _ name: String) -> String {
        directory == "/" ? "/" + name : directory + "/" + name
    }
}
