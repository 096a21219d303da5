import SkepSystem

/// A `txt:` or `rnd:` map's file: `key value` lines, read as Apache's
/// `lookup_map_txtfile` reads them, and kept in memory while the file is unchanged.
///
/// Apache re-reads the file for every key it has not cached, and forgets its cache when
/// the file's mtime changes. Skep reads the whole file once per change into a table with
/// the same answers (the first line with the key and a value wins) and keeps it per
/// child, so a lookup costs a `stat` and a hash probe. The file's identity is its mtime,
/// size and inode, so an edit within the same second is noticed too.
final class RewriteMapTextFile: @unchecked Sendable {
    /// The file, made absolute against ServerRoot.
    let path: String
    private let mutex = Mutex()
    /// The table of the file as it was when `identity` was taken (guarded by `mutex`).
    private var loaded: (identity: Identity, entries: [String: String])?

    struct Identity: Equatable {
        var modificationTime: Timestamp
        var size: Int64
        var inode: UInt64

        init(_ status: FileStatus) {
            modificationTime = status.modificationTime
            size = status.size
            inode = status.inode
        }
    }

    /// Apache's `REWRITE_MAX_TXT_MAP_LINE`: longer lines are read in pieces of this many
    /// bytes, each parsed as a line of its own.
    static let maxLine = 1024

    init(path: String) { self.path = path }

    /// The cached table when it was read from the file `status` describes, else nil.
    func cachedEntries(for status: FileStatus) -> [String: String]? {
        mutex.withLock {
            guard let loaded, loaded.identity == Identity(status) else { return nil }
            return loaded.entries
        }
    }

    /// The table for the file `status` describes: the cached one, or the file read again.
    /// Nil when the file cannot be read (Apache logs it and the lookup fails).
    func entries(for status: FileStatus) -> [String: String]? {
        if let entries = cachedEntries(for: status) { return entries }
        guard let bytes = try? File.readAll(path) else { return nil }
        let entries = Self.parse(bytes)
        mutex.withLock { loaded = (Identity(status), entries) }
        return entries
    }

    /// The `key value` pairs of a map file as `lookup_map_txtfile` finds them: lines that
    /// start with `#` or white space are skipped, the key is the first word, the value
    /// the second (anything after it is ignored), and a key without a value does not
    /// count. The first line for a key wins.
    static func parse(_ bytes: [UInt8]) -> [String: String] {
        var entries: [String: String] = [:]
        var start = 0
        while start < bytes.count {
            // `apr_file_gets` with Apache's buffer: up to the newline, at most maxLine bytes.
            var end = start
            while end < bytes.count, end - start < maxLine {
                end += 1
                if bytes[end - 1] == UInt8(ascii: "\n") { break }
            }
            parseLine(bytes[start..<end], into: &entries)
            start = end
        }
        return entries
    }

    private static func parseLine(_ line: ArraySlice<UInt8>, into entries: inout [String: String]) {
        guard let first = line.first, first != UInt8(ascii: "#"), !isSpace(first) else { return }
        guard let keyEnd = line.firstIndex(where: isSpace) else { return }
        guard let valueStart = line[keyEnd...].firstIndex(where: { !isSpace($0) }) else { return }
        let valueEnd = line[valueStart...].firstIndex(where: isSpace) ?? line.endIndex
        let key = String(decoding: line[line.startIndex..<keyEnd], as: UTF8.self)
        if entries[key] == nil { entries[key] = String(decoding: line[valueStart..<valueEnd], as: UTF8.self) }
    }

    /// `apr_isspace`: space, tab, newline, vertical tab, form feed, carriage return.
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    /// A `rnd:` map's choice among a value's `|`-separated alternatives, uniformly at
    /// random (Apache's `select_random_value_part`); nil when the chosen one is empty.
    static func randomPart(_ value: String) -> String? {
        let parts = value.split(separator: "|", omittingEmptySubsequences: false)
        let part = parts.randomElement().map(String.init) ?? value
        return part.isEmpty ? nil : part
    }
}
