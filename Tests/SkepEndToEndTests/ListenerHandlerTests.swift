import Foundation
import Glibc
import Testing

/// The event listener's own requests (`ListenerHandlers`, default On) and the per-child
/// file cache behind them (`FileCacheSize`): a request that cannot block (no body, every
/// file it needs in the cache, the default handler or server-status, or an answer by
/// redirect or error) is answered by the listener even while every worker is busy, and
/// shows as the listener's `W` on the scoreboard; any other request waits for a worker.
/// Whatever is cached, a client that changes a file and then asks for it gets the file as
/// it is now, under every MPM.
///
/// Workers are held with `WorkerHold` (a SkepTestApp handler waiting for a request body
/// the test sends when it wants the worker back), so "not answered while held" never
/// depends on a timer; and every connection used while the workers are held is opened
/// and answered once before: a child with no idle worker accepts no new connection.
@Suite(.tags(.skepBinary), .timeLimit(.minutes(10)))
struct ListenerHandlerTests {
    typealias L = ListenerTestSupport
    typealias S = MPMTestSupport
    typealias E = EmbeddingTestSupport

    static let page = "a small static page, kept in the child's file cache\n"
    static let fresh = "a file nobody asked for before\n"

    /// SkepTestApp, event, one child of two workers, `/test-echo` mapped, a small file,
    /// a never-requested one, and a directory (for mod_dir's trailing-slash redirect).
    static func heldWorkersConfig(_ directives: String = "") throws -> TestConfig {
        let config = try E.config(.event, L.twoWorkers + "\n" + directives, handlers: ["test-echo"])
        try config.root.writeDocument("page.txt", page)
        try config.root.writeDocument("fresh.txt", fresh)
        try config.root.writeDocument("dir/inside.txt", "inside\n")
        return config
    }

    /// Holds both workers of a two-worker child; returns when both handlers run.
    static func holdBothWorkers(port: UInt16) throws -> [WorkerHold] {
        var holds: [WorkerHold] = []
        do {
            for _ in 0..<2 {
                let hold = try WorkerHold(port: port)
                holds.append(hold)
                try hold.waitUntilHeld()
            }
        } catch {
            holds.forEach { $0.close() }
            throw error
        }
        return holds
    }

    static func release(_ holds: [WorkerHold]) throws {
        for hold in holds {
            let answer = try hold.release()
            #expect(answer.status == 200, "a held POST /test-echo: \(answer)")
            #expect(answer.bodyText.contains("method=POST path=/test-echo") && answer.bodyText.contains("body=\(WorkerHold.body.utf8.count)"),
                    "\(answer.bodyText)")
        }
    }

    // MARK: - 1. The listener answers while every worker is busy

    /// A Swift handler declared non-blocking is answered by the listener while every
    /// worker is held; one that streams anyway is refused with 500 there (a worker had
    /// streamed it), logged, and the child keeps serving.
    @Test func aSwiftHandlerDeclaredNonBlockingRunsOnTheListener() throws {
        let config = try E.config(.event, L.twoWorkers, handlers: ["test-echo", "test-quick", "test-quick-stream"])
        try withServer(.testApp, config: config) { server in
            let port = server.port
            let client = try RawHTTPClient(port: port, timeout: .seconds(20))
            let other = try RawHTTPClient(port: port, timeout: .seconds(20))
            defer { [client, other].forEach { $0.close() } }
            for _ in 0..<2 {
                let quick = try client.exchange(L.get("/test-quick"))
                #expect(quick.status == 200 && quick.bodyText == "quick /test-quick\n", "\(quick)")
            }
            // The first time, the path is new to the cache: a worker runs it, and streams.
            let streamed = try other.exchange(L.get("/test-quick-stream"))
            #expect(streamed.status == 200 && streamed.bodyText == "never on the listener\n", "\(streamed)")

            let holds = try Self.holdBothWorkers(port: port)
            defer { holds.forEach { $0.close() } }
            let quick = try client.exchange(L.get("/test-quick"), timeout: .seconds(10))
            #expect(quick.status == 200 && quick.bodyText == "quick /test-quick\n", "\(quick)")
            let refused = try other.exchange(L.get("/test-quick-stream"), timeout: .seconds(10))
            #expect(refused.status == 500, "\(refused)")
            try Self.release(holds)
            let again = try client.exchange(L.get("/test-quick"), timeout: .seconds(10))
            #expect(again.status == 200, "\(again)")
            #expect(server.errorLog().contains("a handler declared non-blocking answered GET /test-quick-stream HTTP/1.1 with a stream; answering 500"),
                    "\(server.errorLog())")
        }
    }

    @Test func theListenerAnswersCachedRequestsWhileEveryWorkerIsBusy() throws {
        let config = try Self.heldWorkersConfig()
        try withServer(.testApp, config: config) { server in
            let port = server.port
            let status = try RawHTTPClient(port: port, timeout: .seconds(20))
            let files = try RawHTTPClient(port: port, timeout: .seconds(20))
            let pendingFile = try RawHTTPClient(port: port, timeout: .seconds(20))
            let pendingHandler = try RawHTTPClient(port: port, timeout: .seconds(20))
            defer { [status, files, pendingFile, pendingHandler].forEach { $0.close() } }

            // The cache learns each path from a worker's run; the second run may be the listener's.
            var etag: String?
            for _ in 0..<2 {
                _ = try L.statusAuto(on: status)
                let page = try files.exchange(L.get("/page.txt"))
                #expect(page.status == 200 && page.bodyText == Self.page, "\(page)")
                etag = page.header("ETag")
                #expect(try files.exchange(L.get("/missing.txt")).status == 404)
                let slash = try files.exchange(L.get("/dir"))
                #expect(slash.status == 301 && slash.header("Location")?.hasSuffix("/dir/") == true, "\(slash)")
                #expect(try files.exchange(L.get("/dir/inside.txt")).bodyText == "inside\n")
            }
            #expect(try pendingFile.exchange(L.get("/index.html")).status == 200)
            #expect(try pendingHandler.exchange(L.get("/index.html")).status == 200)

            let holds = try Self.holdBothWorkers(port: port)
            defer { holds.forEach { $0.close() } }
            let held = try Deadline.waitForValue("?auto showing both workers busy", timeout: .seconds(10), interval: .milliseconds(50)) {
                let now = try L.statusAuto(on: status)
                return now.allBusy(2) ? now : nil
            }
            // No worker was free: the listener answered that status request. The scoreboard
            // keeps Apache's shape (ThreadsPerChild slots a child): the listener has none.
            #expect(held.scoreboard == "WW", "\(held)")
            #expect(held.busy == 2 && held.idle == 0, "\(held)")

            // A cached file, an error and a redirect, still with both workers held.
            let page = try files.exchange(L.get("/page.txt"), timeout: .seconds(10))
            #expect(page.status == 200, "\(page)")
            #expect(page.bodyText == Self.page)
            #expect(page.header("Content-Length") == String(Self.page.utf8.count))
            let missing = try files.exchange(L.get("/missing.txt"), timeout: .seconds(10))
            #expect(missing.status == 404, "\(missing)")
            let slash = try files.exchange(L.get("/dir"), timeout: .seconds(10))
            #expect(slash.status == 301, "\(slash)")
            // HEAD, a range, two ranges and a conditional GET of the cached file.
            let bytes = Array(Self.page.utf8)
            let head = try files.exchange("HEAD /page.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout: .seconds(10))
            #expect(head.status == 200 && head.body.isEmpty && head.header("Content-Length") == String(bytes.count), "\(head)")
            let range = try files.exchange("GET /page.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=2-9\r\n\r\n", timeout: .seconds(10))
            #expect(range.status == 206 && range.body == Array(bytes[2...9]), "\(range) \(range.bodyText.debugDescription)")
            #expect(range.header("Content-Range") == "bytes 2-9/\(bytes.count)")
            let ranges = try files.exchange("GET /page.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-1,-3\r\n\r\n", timeout: .seconds(10))
            #expect(ranges.status == 206 && ranges.header("Content-Type")?.hasPrefix("multipart/byteranges; boundary=") == true, "\(ranges)")
            #expect(ranges.bodyText.contains("Content-Range: bytes 0-1/\(bytes.count)\r\n\r\n\(Self.page.prefix(2))\r\n"), "\(ranges.bodyText.debugDescription)")
            #expect(ranges.bodyText.contains("Content-Range: bytes \(bytes.count - 3)-\(bytes.count - 1)/\(bytes.count)\r\n\r\n\(Self.page.suffix(3))\r\n"),
                    "\(ranges.bodyText.debugDescription)")
            let tag = try #require(etag, "no ETag on /page.txt")
            let unchanged = try files.exchange("GET /page.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: \(tag)\r\n\r\n", timeout: .seconds(10))
            #expect(unchanged.status == 304 && unchanged.body.isEmpty, "\(unchanged)")
            // Two pipelined cached requests, answered in order.
            try files.send(L.get("/page.txt") + L.get("/dir/inside.txt"))
            let pipelined = try files.readResponses(2, timeout: .seconds(10))
            #expect(pipelined.map(\.status) == [200, 200] && pipelined.map(\.bodyText) == [Self.page, "inside\n"], "\(pipelined)")

            // A file never asked for and a Swift handler need a worker: they wait.
            try pendingFile.send(L.get("/fresh.txt"))
            try pendingHandler.send(L.get("/test-echo?waited"))
            let still = try L.statusAuto(on: status)
            #expect(still.allBusy(2) && still.scoreboard == "WW", "\(still)")
            #expect(pendingFile.connectionState(within: .milliseconds(500)) == .open, "GET /fresh.txt was answered while both workers were held")
            #expect(pendingHandler.connectionState(within: .milliseconds(100)) == .open, "GET /test-echo was answered while both workers were held")

            // Given the workers back, they answer both.
            try Self.release(holds)
            let fresh = try pendingFile.readResponse(timeout: .seconds(20))
            #expect(fresh.status == 200 && fresh.bodyText == Self.fresh, "\(fresh)")
            let echo = try pendingHandler.readResponse(timeout: .seconds(20))
            #expect(echo.status == 200 && echo.bodyText.contains("method=GET path=/test-echo query=waited"), "\(echo.bodyText)")
            // Both workers wait again; the listener still answers status requests itself.
            let after = try Deadline.waitForValue("?auto showing both workers idle", timeout: .seconds(10), interval: .milliseconds(50)) {
                let now = try L.statusAuto(on: status)
                return now.idle == 2 ? now : nil
            }
            #expect(after.scoreboard == "__" && after.busy == 0, "\(after)")
        }
    }

    // MARK: - 2. ListenerHandlers Off

    @Test func withListenerHandlersOffACachedFileWaitsForAWorker() throws {
        let config = try Self.heldWorkersConfig("ListenerHandlers Off")
        try withServer(.testApp, config: config) { server in
            let port = server.port
            let status = try RawHTTPClient(port: port, timeout: .seconds(20))
            let files = try RawHTTPClient(port: port, timeout: .seconds(20))
            defer { [status, files].forEach { $0.close() } }
            for _ in 0..<3 {
                let page = try files.exchange(L.get("/page.txt"))
                #expect(page.status == 200 && page.bodyText == Self.page, "\(page)")
                // A worker answers every status request: the listener's slot never shows.
                let now = try L.statusAuto(on: status)
                #expect(now.scoreboard.count == 2, "\(now)")
            }

            let holds = try Self.holdBothWorkers(port: port)
            defer { holds.forEach { $0.close() } }
            // Both handlers run (each sent its 100 Continue) and wait for the test.
            try files.send(L.get("/page.txt"))
            #expect(files.connectionState(within: .seconds(1)) == .open, "the cached file was answered while both workers were held")

            // One worker back: it answers the waiting request.
            let first = try holds[0].release()
            #expect(first.status == 200, "\(first)")
            let page = try files.readResponse(timeout: .seconds(20))
            #expect(page.status == 200 && page.bodyText == Self.page, "\(page)")
            try Self.release([holds[1]])
            let now = try L.statusAuto(on: status)
            #expect(now.scoreboard.count == 2, "\(now)")
        }
    }

    // MARK: - 3. The cache never serves a file as it was

    /// Each change, made just after the file was served (from the cache, the second
    /// time), is seen by the next request: a rewrite of the same size in the same second,
    /// a replacement by rename, deletion, creation, a renamed directory, permissions,
    /// symbolic links, and a file too large to cache. Run as root, the children drop to
    /// `nobody` for the permission steps (root reads a mode-000 file); without that
    /// account those steps are left out.
    @Test(arguments: [MPM.prefork, .worker, .event])
    func aChangedFileIsServedAsItIsNow(mpm: MPM) throws {
        let privilege = L.unprivilegedChildren
        let config = try S.config(mpm, L.sizing(mpm) + "\n" + (privilege ?? ""))
        let docroot = config.root.docroot
        let elsewhere = try config.root.makeDirectory("elsewhere")
        try config.root.writeDocument("file.txt", "version 1\n")
        try withServer(.skep, config: config) { server in
            let check = Fetches(fetcher: KeepAliveFetcher(port: server.port), mpm: mpm)
            let file = docroot + "/file.txt"
            try check.served("/file.txt", "version 1\n", "the first requests")

            try L.rewriteInPlace(file, "version 2\n")
            try check.served("/file.txt", "version 2\n", "rewritten in place, same size")
            try L.create(docroot + "/.file.txt.tmp", "version 3\n")
            try L.rename(docroot + "/.file.txt.tmp", file)
            try check.served("/file.txt", "version 3\n", "replaced by a rename, same size")
            try L.remove(file)
            try check.status("/file.txt", 404, "deleted")
            try L.create(file, "version 4\n")
            try check.served("/file.txt", "version 4\n", "created again")

            try L.makeDirectory(docroot + "/sub")
            try L.create(docroot + "/sub/inner.txt", "inner 1\n")
            try check.served("/sub/inner.txt", "inner 1\n", "in a new directory")
            try L.rename(docroot + "/sub", docroot + "/moved")
            try check.status("/sub/inner.txt", 404, "its directory renamed")
            try check.served("/moved/inner.txt", "inner 1\n", "under the directory's new name")
            try L.rewriteInPlace(docroot + "/moved/inner.txt", "inner 2\n")
            try check.served("/moved/inner.txt", "inner 2\n", "rewritten in the renamed directory")

            if privilege != nil {
                try L.changeMode(file, 0)
                try check.status("/file.txt", 403, "mode 000")
                try L.changeMode(file, 0o644)
                try check.served("/file.txt", "version 4\n", "mode 644 again")
                try L.changeMode(docroot + "/moved", 0)
                try check.status("/moved/inner.txt", 403, "its directory mode 000")
                try L.changeMode(docroot + "/moved", 0o755)
                try check.served("/moved/inner.txt", "inner 2\n", "its directory mode 755 again")
            }

            try L.create(elsewhere + "/target.txt", "target 1\n")
            try L.replaceWithSymlink(file, to: elsewhere + "/target.txt")
            try check.served("/file.txt", "target 1\n", "replaced by a symbolic link")
            try L.rewriteInPlace(elsewhere + "/target.txt", "target 2\n")
            try check.served("/file.txt", "target 2\n", "the link's target rewritten, same size")
            try L.create(elsewhere + "/second.txt", "second 1\n")
            try L.replaceWithSymlink(file, to: elsewhere + "/second.txt")
            try check.served("/file.txt", "second 1\n", "the link replaced by one to another file")
            try L.create(docroot + "/.file.txt.tmp", "version 5\n")
            try L.rename(docroot + "/.file.txt.tmp", file)
            try check.served("/file.txt", "version 5\n", "a regular file again")
            try L.rewriteInPlace(file, "version 6\n")
            try check.served("/file.txt", "version 6\n", "rewritten in place again")

            // Too large to keep: always read from the file (sendfile).
            let large = EventTestSupport.pattern(100_000)
            let other = (0..<100_000).map { UInt8(truncatingIfNeeded: ($0 * 7 + 3) % 253) }
            try config.root.writeDocument("large.bin", bytes: large)
            for time in ["first", "second"] {
                let response = try check.fetcher.get("/large.bin")
                #expect(response.status == 200 && response.body == large, "\(mpm): the \(time) GET /large.bin: \(response)")
            }
            try L.rewriteInPlace(docroot + "/large.bin", other)
            for time in ["first", "second"] {
                let response = try check.fetcher.get("/large.bin")
                #expect(response.status == 200 && response.body == other, "\(mpm): the \(time) GET /large.bin after a rewrite: \(response)")
            }
        }
    }

    /// A directory removed and made again, and one renamed away and made again under its
    /// old name: the new directory's changes must be seen as the old one's were.
    @Test(arguments: [MPM.prefork, .worker, .event])
    func aDirectoryMadeAgainUnderTheSameNameIsWatched(mpm: MPM) throws {
        let config = try S.config(mpm, L.sizing(mpm))
        let docroot = config.root.docroot
        try withServer(.skep, config: config) { server in
            let check = Fetches(fetcher: KeepAliveFetcher(port: server.port), mpm: mpm)
            // Removed and made again: the kernel ends the old directory's watch itself.
            try L.makeDirectory(docroot + "/gone")
            try L.create(docroot + "/gone/inner.txt", "gone 1\n")
            try check.served("/gone/inner.txt", "gone 1\n", "in gone")
            try L.remove(docroot + "/gone/inner.txt")
            guard rmdir(docroot + "/gone") == 0 else { throw HarnessError("rmdir: \(errnoText())") }
            try check.status("/gone/inner.txt", 404, "gone removed")
            try L.makeDirectory(docroot + "/gone")
            try L.create(docroot + "/gone/inner.txt", "gone 2\n")
            try check.served("/gone/inner.txt", "gone 2\n", "in gone made again")
            try L.rewriteInPlace(docroot + "/gone/inner.txt", "gone 3\n")
            try check.served("/gone/inner.txt", "gone 3\n", "rewritten in gone made again")

            // Renamed away, then made again under its old name.
            try L.makeDirectory(docroot + "/sub")
            try L.create(docroot + "/sub/inner.txt", "old sub 1\n")
            try check.served("/sub/inner.txt", "old sub 1\n", "in sub")
            try L.rename(docroot + "/sub", docroot + "/moved")
            try check.served("/moved/inner.txt", "old sub 1\n", "sub renamed to moved")
            try L.rewriteInPlace(docroot + "/moved/inner.txt", "old sub 2\n")
            try check.served("/moved/inner.txt", "old sub 2\n", "rewritten in moved")
            try L.makeDirectory(docroot + "/sub")
            try L.create(docroot + "/sub/inner.txt", "new sub 1\n")
            try check.served("/sub/inner.txt", "new sub 1\n", "in a new sub")
            try L.rewriteInPlace(docroot + "/sub/inner.txt", "new sub 2\n")
            try check.served("/sub/inner.txt", "new sub 2\n", "rewritten in the new sub")
        }
    }

    /// A deployment that swaps the DocumentRoot by two renames (`mv htdocs htdocs.old;
    /// mv htdocs.new htdocs`): the new tree is served, and later edits to it are seen.
    @Test(arguments: [MPM.prefork, .worker, .event])
    func aDocumentRootSwappedByRenamesIsWatched(mpm: MPM) throws {
        let config = try S.config(mpm, L.sizing(mpm))
        let docroot = config.root.docroot
        try config.root.writeDocument("file.txt", "old tree 1\n")
        try config.root.writeFile("htdocs.new/file.txt", "new tree 1\n")
        try withServer(.skep, config: config) { server in
            let check = Fetches(fetcher: KeepAliveFetcher(port: server.port), mpm: mpm)
            try check.served("/file.txt", "old tree 1\n", "the old tree")
            try L.rename(docroot, docroot + ".old")
            try L.rename(docroot + ".new", docroot)
            try check.served("/file.txt", "new tree 1\n", "the new tree")
            try L.rewriteInPlace(docroot + "/file.txt", "new tree 2\n")
            try check.served("/file.txt", "new tree 2\n", "rewritten in the new tree")
        }
    }

    /// A hard link made to a cached file from a directory nobody watches, and the file
    /// rewritten through it: the change must be seen through the first name.
    @Test(arguments: [MPM.prefork, .worker, .event])
    func aFileRewrittenThroughANewHardLinkIsServedAsItIsNow(mpm: MPM) throws {
        let config = try S.config(mpm, L.sizing(mpm))
        let docroot = config.root.docroot
        let elsewhere = try config.root.makeDirectory("elsewhere")
        try config.root.writeDocument("linked.txt", "linked 1\n")
        try withServer(.skep, config: config) { server in
            let check = Fetches(fetcher: KeepAliveFetcher(port: server.port), mpm: mpm)
            try check.served("/linked.txt", "linked 1\n", "one name")
            guard link(docroot + "/linked.txt", elsewhere + "/other-name.txt") == 0 else { throw HarnessError("link: \(errnoText())") }
            try L.rewriteInPlace(elsewhere + "/other-name.txt", "linked 2\n")
            try check.served("/linked.txt", "linked 2\n", "rewritten through a second name")
        }
    }

    /// A directory symbolic link pointed at another directory: the path now names a
    /// directory whose changes must be seen as the first one's were.
    @Test(arguments: [MPM.prefork, .worker, .event])
    func aDirectoryLinkPointedElsewhereIsWatchedThere(mpm: MPM) throws {
        let config = try S.config(mpm, L.sizing(mpm))
        let docroot = config.root.docroot
        let real1 = try config.root.makeDirectory("real1")
        let real2 = try config.root.makeDirectory("real2")
        try withServer(.skep, config: config) { server in
            let check = Fetches(fetcher: KeepAliveFetcher(port: server.port), mpm: mpm)
            try L.create(real1 + "/f.txt", "real1 1\n")
            try L.create(real2 + "/f.txt", "real2 1\n")
            try L.replaceWithSymlink(docroot + "/linked", to: real1)
            try check.served("/linked/f.txt", "real1 1\n", "through a link to real1")
            try L.rewriteInPlace(real1 + "/f.txt", "real1 2\n")
            try check.served("/linked/f.txt", "real1 2\n", "rewritten in real1")
            try L.replaceWithSymlink(docroot + "/linked", to: real2)
            try check.served("/linked/f.txt", "real2 1\n", "the link pointed at real2")
            try L.rewriteInPlace(real2 + "/f.txt", "real2 2\n")
            try check.served("/linked/f.txt", "real2 2\n", "rewritten in real2")
        }
    }

    // MARK: - 4. Accounting

    /// Requests the listener answers are counted in `Total Accesses` exactly once and
    /// logged: with both workers held, only the listener can answer them.
    @Test func requestsTheListenerAnswersAreCountedAndLogged() throws {
        var config = try Self.heldWorkersConfig()
        config.accessLogFormat = #"%h %l %u %t \"%r\" %>s %b"#
        try withServer(.testApp, config: config) { server in
            let port = server.port
            let status = try RawHTTPClient(port: port, timeout: .seconds(20))
            let files = try RawHTTPClient(port: port, timeout: .seconds(20))
            defer { [status, files].forEach { $0.close() } }
            let primed = 2
            for _ in 0..<primed {
                let page = try files.exchange(L.get("/page.txt"))
                #expect(page.status == 200 && page.bodyText == Self.page, "\(page)")
                _ = try L.statusAuto(on: status)
            }
            let holds = try Self.holdBothWorkers(port: port)
            defer { holds.forEach { $0.close() } }

            let before = try Deadline.waitForValue("?auto showing both workers busy", timeout: .seconds(10), interval: .milliseconds(50)) {
                let now = try L.statusAuto(on: status)
                return now.allBusy(2) ? now : nil
            }
            #expect(before.scoreboard == "WW", "\(before)")
            let made = 25
            for index in 0..<made {
                let page = try files.exchange(L.get("/page.txt"), timeout: .seconds(10))
                #expect(page.status == 200 && page.bodyText == Self.page, "request \(index): \(page)")
            }
            // As StatusCountTests: every status request answered after `before` is
            // counted too, the one answering excepted.
            var polls = 1
            var counted = 0
            try Deadline.wait(for: "Total Accesses to reach \(before.totalAccesses) + \(made) + polls", timeout: .seconds(10)) {
                let now = try L.statusAuto(on: status)
                counted = now.totalAccesses - before.totalAccesses
                if counted >= made + polls { return true }
                polls += 1
                return false
            }
            #expect(counted == made + polls, "Total Accesses grew by \(counted) for \(made) requests and \(polls) status requests")

            let pageLine = "\"GET /page.txt HTTP/1.1\" 200 \(Self.page.utf8.count)"
            try Deadline.wait(for: "\(primed + made) lines for /page.txt in the access log", timeout: .seconds(10)) {
                server.accessLogLines().filter { $0.contains(pageLine) }.count >= primed + made
            }
            let lines = server.accessLogLines().filter { $0.contains(pageLine) }
            #expect(lines.count == primed + made, "\(lines.count) lines for /page.txt: \(lines.suffix(3))")

            try Self.release(holds)
            try Deadline.wait(for: "the held POSTs in the access log", timeout: .seconds(10)) {
                server.accessLogLines().filter { $0.contains("\"POST /test-echo HTTP/1.1\" 200 ") }.count == 2
            }
        }
    }

    // MARK: - 5. Pipelining

    /// Pipelined requests on one connection are answered in order, whether the listener
    /// answers each, hands one to a worker between two it answers, or every worker is held.
    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let config = try Self.heldWorkersConfig()
        let large = EventTestSupport.pattern(100_000)
        try config.root.writeDocument("a.txt", "first file\n")
        try config.root.writeDocument("b.txt", "second file, longer\n")
        try config.root.writeDocument("c.txt", "third\n")
        try config.root.writeDocument("large.bin", bytes: large)
        try withServer(.testApp, config: config) { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(20))
            defer { client.close() }
            let texts = ["/a.txt": "first file\n", "/b.txt": "second file, longer\n", "/c.txt": "third\n"]
            for _ in 0..<2 {
                for path in texts.keys.sorted() {
                    #expect(try client.exchange(L.get(path)).bodyText == texts[path])
                }
            }
            func expectInOrder(_ paths: [String], _ what: String) throws {
                try client.send(paths.map { L.get($0) }.joined())
                let responses = try client.readResponses(paths.count, timeout: .seconds(20))
                for (path, response) in zip(paths, responses) {
                    #expect(response.status == 200, "\(what): \(path): \(response)")
                    if path == "/large.bin" {
                        #expect(response.body == large, "\(what): \(path): \(response.body.count) bytes")
                    } else {
                        let expected = texts[path] ?? (path == "/fresh.txt" ? Self.fresh : "")
                        #expect(response.bodyText == expected, "\(what): \(path) answered \(response.bodyText.debugDescription)")
                    }
                }
                #expect(client.bufferedBytes.isEmpty, "\(what): bytes after the last response")
            }
            try expectInOrder(["/a.txt", "/b.txt", "/c.txt"], "three cached files")
            try expectInOrder(["/a.txt", "/fresh.txt", "/c.txt"], "a never-requested file between two cached ones")
            try expectInOrder(["/b.txt", "/large.bin", "/a.txt"], "a file too large to cache between two cached ones")

            // Every worker held: only the listener can answer.
            let holds = try Self.holdBothWorkers(port: server.port)
            defer { holds.forEach { $0.close() } }
            try expectInOrder(["/c.txt", "/b.txt", "/a.txt"], "three cached files, both workers held")
            // The last one asks to close: answered, then the connection ends.
            try client.send(L.get("/a.txt") + L.get("/b.txt", close: true))
            let last = try client.readResponses(2, timeout: .seconds(20))
            #expect(last.map(\.bodyText) == [texts["/a.txt"], texts["/b.txt"]], "\(last)")
            #expect(client.serverClosed(within: .seconds(5)), "the connection stayed open after Connection: close")
            try Self.release(holds)
        }
    }

    // MARK: - FileCacheSize 0

    /// Without the cache the listener answers only what touches no file (a `Redirect`);
    /// a small file, asked for before or not, waits for a worker.
    @Test func withoutTheCacheTheListenerAnswersOnlyWhatNeedsNoFile() throws {
        var config = try Self.heldWorkersConfig("FileCacheSize 0\nRedirect /old http://example.com/new")
        config.modules.append("alias")
        config.skepModules?.append("alias")
        try withServer(.testApp, config: config) { server in
            let port = server.port
            let redirects = try RawHTTPClient(port: port, timeout: .seconds(20))
            let files = try RawHTTPClient(port: port, timeout: .seconds(20))
            defer { [redirects, files].forEach { $0.close() } }
            for _ in 0..<2 {
                let moved = try redirects.exchange(L.get("/old"))
                #expect(moved.status == 302 && moved.header("Location") == "http://example.com/new", "\(moved)")
                #expect(try files.exchange(L.get("/page.txt")).bodyText == Self.page)
            }
            let holds = try Self.holdBothWorkers(port: port)
            defer { holds.forEach { $0.close() } }
            let moved = try redirects.exchange(L.get("/old"), timeout: .seconds(10))
            #expect(moved.status == 302 && moved.header("Location") == "http://example.com/new", "\(moved)")
            try files.send(L.get("/page.txt"))
            #expect(files.connectionState(within: .seconds(1)) == .open, "a file was answered with no cache while both workers were held")
            try Self.release(holds)
            let page = try files.readResponse(timeout: .seconds(20))
            #expect(page.status == 200 && page.bodyText == Self.page, "\(page)")
        }
    }
}

/// GETs on one keep-alive connection, each made twice (the second time the child has the
/// answer cached), expected to give a file's current content or a status.
struct Fetches {
    let fetcher: KeepAliveFetcher
    let mpm: MPM

    func served(_ path: String, _ text: String, _ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for time in ["", " (again)"] {
            let response = try fetcher.get(path)
            #expect(response.status == 200 && response.bodyText == text,
                    "\(mpm), \(step)\(time): GET \(path) answered \(response.status) \(response.bodyText.debugDescription), not \(text.debugDescription)",
                    sourceLocation: sourceLocation)
        }
    }

    func status(_ path: String, _ code: Int, _ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for time in ["", " (again)"] {
            let response = try fetcher.get(path)
            #expect(response.status == code, "\(mpm), \(step)\(time): GET \(path) answered \(response.status), not \(code)",
                    sourceLocation: sourceLocation)
        }
    }
}
