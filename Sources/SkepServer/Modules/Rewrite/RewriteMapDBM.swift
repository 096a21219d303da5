import CAPRUtil
import SkepSystem

/// A `dbm[=type]:` map, read through APR-util's `apr_dbm` as Apache's mod_rewrite reads
/// it, so every file `httxt2dbm` writes works: `default` is the type Debian's apr-util
/// was built with (Berkeley DB), `sdbm` is built in, `db` and `gdbm` are apr-util's
/// loadable drivers. Values are cached per child while the file's mtime is unchanged
/// (Apache's map cache), misses included.
final class RewriteMapDBM: @unchecked Sendable {
    /// The type as written after `dbm=` (`default` when none was).
    let type: String
    /// The name given to `apr_dbm_open_ex` (absolute against ServerRoot).
    let path: String
    /// The files the driver uses for `path` (`name.pag` and `name.dir` for SDBM, `path`
    /// itself for Berkeley DB): their mtimes decide whether the cache is still valid.
    let checkFiles: [String]
    private let mutex = Mutex()
    /// The cache: values by key (nil for a key the file does not have), valid for `stamp`.
    private var cache: (stamp: Timestamp, values: [String: String?]) = (Timestamp(seconds: 0, nanoseconds: 0), [:])

    /// Validates `type` as Apache does at configuration time (`apr_dbm_get_usednames_ex`).
    /// Nil when apr-util does not know the type.
    init?(type: String, path: String) {
        guard let names = Self.usedNames(type: type, path: path) else { return nil }
        self.type = type
        self.path = path
        self.checkFiles = names
    }

    /// The newest mtime of the map's files, or nil when one cannot be read (Apache:
    /// "can't access DBM RewriteMap file").
    func stamp() -> Timestamp? {
        var newest: Timestamp?
        for file in checkFiles {
            guard let status = try? FileSystem.status(file) else { return nil }
            if newest.map({ status.modificationTime > $0 }) ?? true { newest = status.modificationTime }
        }
        return newest
    }

    /// The cached answer for `key` when the files still have the mtime `stamp`:
    /// `.some(nil)` is a cached miss, nil means not cached.
    func cached(_ key: String, stamp: Timestamp) -> String?? {
        mutex.withLock {
            guard cache.stamp == stamp else { return nil }
            return cache.values[key]
        }
    }

    /// What reading a key found.
    enum Fetched: Equatable {
        case value(String)
        case missing
        /// `apr_dbm_open_ex` failed (Apache logs AH00656 and caches the miss).
        case unreadable
    }

    /// Reads `key` from the file (open, fetch, close, as Apache does per miss) and caches
    /// the answer, a miss included.
    func fetch(_ key: String, stamp: Timestamp) -> Fetched {
        let fetched = Self.read(key, type: type, path: path)
        let value: String? = if case .value(let v) = fetched { v } else { nil }
        mutex.withLock {
            if cache.stamp != stamp { cache = (stamp, [:]) }
            cache.values[key] = .some(value)
        }
        return fetched
    }

    static func read(_ key: String, type: String, path: String) -> Fetched {
        guard Self.aprReady, let pool = Self.makePool() else { return .unreadable }
        defer { apr_pool_destroy(pool) }
        var dbm: OpaquePointer?
        guard apr_dbm_open_ex(&dbm, type, path, APR_DBM_READONLY, apr_fileperms_t(APR_OS_DEFAULT), pool) == APR_SUCCESS,
              let dbm else { return .unreadable }
        defer { apr_dbm_close(dbm) }
        var keyBytes = Array(key.utf8)
        return keyBytes.withUnsafeMutableBufferPointer { buffer -> Fetched in
            let datum = apr_datum_t(dptr: UnsafeMutableRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self),
                                    dsize: apr_size_t(buffer.count))
            var value = apr_datum_t()
            guard apr_dbm_fetch(dbm, datum, &value) == APR_SUCCESS, let bytes = value.dptr else { return .missing }
            let raw = UnsafeRawBufferPointer(start: bytes, count: Int(clamping: value.dsize))
            return .value(String(decoding: raw, as: UTF8.self))
        }
    }

    /// The files `apr_dbm` would use for `path` with `type`, or nil for an unknown type.
    static func usedNames(type: String, path: String) -> [String]? {
        guard Self.aprReady, let pool = Self.makePool() else { return nil }
        defer { apr_pool_destroy(pool) }
        var used1: UnsafePointer<CChar>?
        var used2: UnsafePointer<CChar>?
        guard apr_dbm_get_usednames_ex(pool, type, path, &used1, &used2) == APR_SUCCESS else { return nil }
        return [used1, used2].compactMap { $0.map { String(cString: $0) } }
    }

    /// Writes a map file as `httxt2dbm` does (key and value without a terminating NUL),
    /// for tests and tools. Returns false when apr-util refuses.
    static func write(_ entries: [(String, String)], type: String, path: String) -> Bool {
        guard Self.aprReady, let pool = Self.makePool() else { return false }
        defer { apr_pool_destroy(pool) }
        var dbm: OpaquePointer?
        guard apr_dbm_open_ex(&dbm, type, path, APR_DBM_RWTRUNC, apr_fileperms_t(APR_OS_DEFAULT), pool) == APR_SUCCESS,
              let dbm else { return false }
        defer { apr_dbm_close(dbm) }
        for (key, value) in entries {
            var k = Array(key.utf8), v = Array(value.utf8)
            let stored = k.withUnsafeMutableBufferPointer { kb in
                v.withUnsafeMutableBufferPointer { vb in
                    apr_dbm_store(dbm, apr_datum_t(dptr: UnsafeMutableRawPointer(kb.baseAddress)?.assumingMemoryBound(to: CChar.self), dsize: apr_size_t(kb.count)),
                                  apr_datum_t(dptr: UnsafeMutableRawPointer(vb.baseAddress)?.assumingMemoryBound(to: CChar.self), dsize: apr_size_t(vb.count)))
                }
            }
            if stored != APR_SUCCESS { return false }
        }
        return true
    }

    /// `apr_initialize`, once per process (the master's call is inherited by children).
    private static let aprReady: Bool = apr_initialize() == APR_SUCCESS

    private static func makePool() -> OpaquePointer? {
        var pool: OpaquePointer?
        guard apr_pool_create_ex(&pool, nil, nil, nil) == APR_SUCCESS else { return nil }
        return pool
    }
}
