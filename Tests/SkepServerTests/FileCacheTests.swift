@testable import SkepServer
import SkepSystem
import Testing
#if canImport(Glibc)
import Glibc
import SkepTestSupport
#endif

/// The file cache against the real file system: what it keeps, and that every change
/// the kernel reports makes it forget (so the event listener never serves a stale file).
@Suite struct FileCacheTests {
    let directory: String

    init() throws { directory = try makeTemporaryDirectory() }

    func stat(_ path: String) -> FileStatus { try! FileSystem.status(path) }

    @Test func keepsSmallFilesAndRereadsWhenTheStatusChanges() throws {
        let path = directory + "/a.txt"
        try writeFile(path, "first")
        let cache = FileCache(capacity: 1 << 20)
        #expect(cache.contents(of: path, status: stat(path), mayBlock: false) == nil, "nothing kept before a read")
        #expect(cache.contents(of: path, status: stat(path), mayBlock: true) == Array("first".utf8))
        #expect(cache.contents(of: path, status: stat(path), mayBlock: false) == Array("first".utf8))
        // Same size, same second: ctime and mtime nanoseconds still tell.
        try writeFile(path, "other")
        #expect(cache.contents(of: path, status: stat(path), mayBlock: false) == nil, "a changed file's old bytes are not served")
        #expect(cache.contents(of: path, status: stat(path), mayBlock: true) == Array("other".utf8))
    }

    @Test func keepsNothingLargerThanItsLimitsOrWhenOff() throws {
        let path = directory + "/big"
        try writeFile(path, String(repeating: "x", count: FileCache.largestFile + 1))
        #expect(FileCache(capacity: 1 << 20).contents(of: path, status: stat(path), mayBlock: true) == nil)
        let small = directory + "/small"
        try writeFile(small, "abc")
        #expect(FileCache(capacity: 0).contents(of: small, status: stat(small), mayBlock: true) == nil)
    }

    @Test func evictsTheLeastRecentlyUsedPastItsCapacity() throws {
        let cache = FileCache(capacity: 10)
        for name in ["p", "q", "r"] { try writeFile(directory + "/" + name, "1234") }
        _ = cache.contents(of: directory + "/p", status: stat(directory + "/p"), mayBlock: true)
        _ = cache.contents(of: directory + "/q", status: stat(directory + "/q"), mayBlock: true)
        _ = cache.contents(of: directory + "/p", status: stat(directory + "/p"), mayBlock: false)
        _ = cache.contents(of: directory + "/r", status: stat(directory + "/r"), mayBlock: true)
        #expect(cache.contents(of: directory + "/q", status: stat(directory + "/q"), mayBlock: false) == nil, "q was used least recently")
        #expect(cache.contents(of: directory + "/p", status: stat(directory + "/p"), mayBlock: false) != nil)
        #expect(cache.contents(of: directory + "/r", status: stat(directory + "/r"), mayBlock: false) != nil)
    }

    @Test func remembersLookupsOnlyWhileWatching() throws {
        let path = directory + "/w"
        try writeFile(path, "w")
        let cache = FileCache(capacity: 1 << 20)
        _ = cache.lookUp(path)
        #expect(cache.remembered(path) == nil, "without inotify nothing is trusted without a stat")
        #expect(cache.startWatching() != nil)
        #expect(cache.remembered(path) == nil)
        _ = cache.lookUp(path)
        #expect(try cache.remembered(path)?.get()?.size == 1)
    }

    @Test func forgetsWhatTheKernelReportsChanged() throws {
        let cache = FileCache(capacity: 1 << 20)
        #expect(cache.startWatching() != nil)
        let sub = directory + "/sub"
        mkdir(sub, 0o755)
        let file = sub + "/f"
        let missing = directory + "/later"
        try writeFile(file, "one")
        func known(_ path: String) -> Bool { cache.remembered(path) != nil }

        _ = cache.lookUp(file)
        _ = cache.lookUp(missing)
        #expect(known(file) && known(missing))
        #expect(try cache.remembered(missing)?.get() == nil, "no such file is remembered as such")

        try writeFile(file, "two")
        cache.applyChanges()
        #expect(!known(file), "a write is reported")

        _ = cache.lookUp(file)
        rename(sub, directory + "/moved")
        cache.applyChanges()
        #expect(!known(file), "renaming a directory above forgets what is below it")

        try writeFile(missing, "now")
        cache.applyChanges()
        #expect(!known(missing), "creating a remembered missing file is reported")
    }

    /// A worker's lookup trusts what is remembered, after applying the reports queued
    /// when its request starts: a change made before the request is seen, with no `stat`.
    @Test func aWorkerAppliesQueuedReportsBeforeTrustingItsMemory() throws {
        let cache = FileCache(capacity: 1 << 20)
        #expect(cache.startWatching() != nil)
        let file = directory + "/page"
        try writeFile(file, "one")
        _ = cache.lookUp(file)
        try writeFile(file, "three")
        #expect(try cache.lookUp(file, applyReports: false).get()?.size == 3,
                "later lookups of the same request trust the memory the first one left")
        #expect(try cache.lookUp(file).get()?.size == 5, "the request's first lookup applies the queued report")
        #expect(try cache.remembered(file)?.get()?.size == 5)
    }

    @Test func neverRemembersLinks() throws {
        let cache = FileCache(capacity: 1 << 20)
        #expect(cache.startWatching() != nil)
        let target = directory + "/target"
        try writeFile(target, "t")
        symlink(target, directory + "/link")
        link(target, directory + "/hard")
        _ = cache.lookUp(directory + "/link")
        _ = cache.lookUp(directory + "/hard")
        #expect(cache.remembered(directory + "/link") == nil, "a symbolic link's target may change unreported")
        #expect(cache.remembered(directory + "/hard") == nil, "a file with another name may change through it")
    }

    /// A deep path below a missing directory costs one failing watch in all, however many
    /// of its prefixes are looked up (the path-info walk looks up every one), and the
    /// miss stays exact: creating the directories is reported, then seen.
    @Test func deepMissingPathCostsOneFailingWatch() throws {
        let cache = FileCache(capacity: 1 << 20)
        #expect(cache.startWatching() != nil)
        let deep = directory + "/q" + String(repeating: "/a", count: 300)
        // Each directory above the first missing one at most twice (a structure watch, then
        // a content watch once a lookup is in it), then the one failing attempt: nothing
        // that grows with the depth.
        let existing = directory.split(separator: "/").count + 1
        var prefix = Substring(deep)
        #expect(try cache.lookUp(deep).get() == nil)
        while let slash = prefix.lastIndex(of: "/"), slash > prefix.startIndex {
            prefix = prefix[..<slash]
            _ = cache.lookUp(String(prefix))
        }
        #expect(cache.watchAttempts <= 2 * existing + 1, "\(cache.watchAttempts) watch attempts for 300 missing directories")
        #expect(try cache.remembered(deep)?.get() == nil, "the miss is remembered")

        // The missing directories appear, and so does the file: the report on the
        // watched directory above the first missing one makes everything below it new.
        var path = directory + "/q"
        mkdir(path, 0o755)
        for _ in 0..<3 { path += "/a"; mkdir(path, 0o755) }
        try writeFile(path + "/f", "found")
        cache.applyChanges()
        #expect(cache.remembered(deep) == nil, "creating the missing directory is reported")
        #expect(try cache.lookUp(path + "/f").get()?.size == 5)
        #expect(try cache.remembered(path + "/f")?.get()?.size == 5)
    }
}
