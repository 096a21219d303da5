import SkepSystem

/// Compressed bodies of whole files, per child, so a file asked for again is not
/// compressed again and the event listener can answer it (a hit cannot block). Keyed by
/// the file's path and `stat` identity (inode, size, mtime, ctime) and the zlib
/// parameters; an entry of a changed file is never found again and ages out. Least
/// recently used entries go first when `capacity` bytes are exceeded; bodies over
/// `largestEntry` are not kept.
final class DeflateCache: @unchecked Sendable {
    struct Key: Hashable {
        var file: Response.SourceFile
        var level: Int32
        var windowBits: Int32
        var memLevel: Int32
    }

    /// 8 MiB a child: about a hundred compressed 100 KiB pages.
    static let defaultCapacity = 8 << 20
    static let largestEntry = 1 << 20

    private let mutex = Mutex()
    private let capacity: Int
    private var entries: [Key: (bytes: [UInt8], used: UInt64)] = [:]
    private var size = 0
    private var clock: UInt64 = 0

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ key: Key) -> Bool { mutex.withLock { entries[key] != nil } }

    func get(_ key: Key) -> [UInt8]? {
        mutex.withLock {
            guard var entry = entries[key] else { return nil }
            clock &+= 1
            entry.used = clock
            entries[key] = entry
            return entry.bytes
        }
    }

    func put(_ key: Key, _ bytes: [UInt8]) {
        guard bytes.count <= Self.largestEntry, bytes.count <= capacity else { return }
        mutex.withLock {
            if let old = entries[key] { size -= old.bytes.count }
            clock &+= 1
            entries[key] = (bytes, clock)
            size += bytes.count
            while size > capacity, let oldest = entries.min(by: { $0.value.used < $1.value.used }) {
                size -= oldest.value.bytes.count
                entries[oldest.key] = nil
            }
        }
    }
}
