import Foundation
import Glibc
import Testing

extension MPMEndToEnd {
    /// The event MPM: a listener thread per child holds every connection that only waits
    /// (a head still arriving, keep-alive, a full send buffer, lingering close), so a
    /// child serves far more connections than it has threads; the accept throttle; the
    /// graceful restart and stop; `--explain`'s two figures.
    @Suite struct EventTests {
        typealias S = MPMTestSupport
        typealias E = EventTestSupport

        /// One child of 4 worker threads.
        static let oneChild = """
            StartServers 1
            ServerLimit 1
            ThreadsPerChild 4
            MaxRequestWorkers 4
            MinSpareThreads 1
            MaxSpareThreads 4
            """

        static func request(_ path: String, close: Bool = false) -> String {
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(close ? "Connection: close\r\n" : "")\r\n"
        }

        /// Waits until the children's workers have all started.
        func settled(_ server: ServerProcess, workers: Int) throws {
            try Deadline.wait(for: "\(workers) workers started", timeout: .seconds(10), interval: .milliseconds(100)) {
                let status = try S.statusAuto(port: server.port)
                return E.int(status, "BusyWorkers") + E.int(status, "IdleWorkers") == workers
            }
        }

        /// Times one fresh `GET` on its own connection.
        func timedGet(_ port: UInt16, _ path: String = "/index.html", timeout: Duration = .seconds(10)) throws -> (status: Int, elapsed: Duration) {
            let start = ContinuousClock.now
            let status = try S.get(port: port, path, timeout: timeout)
            return (status, ContinuousClock.now - start)
        }

        // MARK: - 1. Many idle keep-alive connections, few threads

        @Test func fourThreadsHoldTwoHundredKeepAliveConnectionsAndStillServe() throws {
            let limit = E.raiseOpenFileLimit()
            #expect(limit >= 512, "RLIMIT_NOFILE \(limit) is too low for 200 connections on both ends")
            let config = try S.config(.event, Self.oneChild + "\nKeepAliveTimeout 30\n")
            try withServer(.skep, config: config) { server in
                try settled(server, workers: 4)
                var clients: [RawHTTPClient] = []
                defer { clients.forEach { $0.close() } }
                for index in 0..<200 {
                    let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                    let response = try client.exchange(Self.request("/index.html"))
                    guard response.status == 200, response.header("Connection") != "close" else {
                        Issue.record("keep-alive connection \(index): \(response.status) \(response.headers)")
                        return
                    }
                    clients.append(client)
                }
                // All 200 wait in the listener; a fresh client is served at once.
                let fresh = try timedGet(server.port, timeout: .seconds(5))
                #expect(fresh.status == 200)
                #expect(fresh.elapsed < .seconds(3), "a fresh request took \(fresh.elapsed) with 200 idle keep-alive connections")
                let status = try S.statusAuto(port: server.port)
                #expect(E.int(status, "ConnsAsyncKeepAlive") >= 200, "\(status)")
                #expect(E.int(status, "ConnsTotal") >= 200, "\(status)")
                // The status request itself is the one busy worker.
                #expect((0...2).contains(E.int(status, "BusyWorkers")), "\(status)")
                #expect(E.int(status, "Processes") == 1, "\(status)")
                #expect(server.children().count == 1)
                // The held connections are still open and serve their next request.
                for (index, client) in clients.enumerated() where index % 40 == 0 {
                    let again = try client.exchange(Self.request("/index.html"))
                    #expect(again.status == 200, "connection \(index): \(again.status)")
                }
            }
        }

        // MARK: - 2. KeepAliveTimeout

        @Test func idleKeepAliveConnectionsAreClosedAfterKeepAliveTimeout() throws {
            let config = try S.config(.event, Self.oneChild + "\nKeepAliveTimeout 1\n")
            try withServer(.skep, config: config) { server in
                try settled(server, workers: 4)
                var clients: [RawHTTPClient] = []
                defer { clients.forEach { $0.close() } }
                for _ in 0..<20 {
                    let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                    #expect(try client.exchange(Self.request("/index.html")).status == 200)
                    clients.append(client)
                }
                let lastServed = ContinuousClock.now
                let early = try S.statusAuto(port: server.port)
                // Only meaningful while the last one is surely within its second.
                if ContinuousClock.now - lastServed < .milliseconds(500) {
                    #expect(E.int(early, "ConnsAsyncKeepAlive") >= 1, "\(early)")
                    #expect(!clients.last!.serverClosed(within: .milliseconds(50)), "closed before KeepAliveTimeout")
                }
                let deadline = Deadline(after: .seconds(10))
                for (index, client) in clients.enumerated() {
                    #expect(client.serverClosed(within: deadline.remaining), "connection \(index) still open 10 s after KeepAliveTimeout 1")
                }
                var last: [String: String] = [:]
                try Deadline.wait(for: "ConnsAsyncKeepAlive back to 0 (last: \(last))", timeout: .seconds(5), interval: .milliseconds(100)) {
                    last = try S.statusAuto(port: server.port)
                    return E.int(last, "ConnsAsyncKeepAlive") == 0
                }
            }
        }

        // MARK: - 3. Write completion

        @Test func aSlowReaderWaitsInWriteCompletionWithoutHoldingAWorker() throws {
            let config = try S.config(.event, Self.oneChild)
            let content = try E.writePatternDocument(config, "big.bin", bytes: 1 << 20)
            try withServer(.skep, config: config) { server in
                try settled(server, workers: 4)
                let slow = try SlowReader(port: server.port, receiveBuffer: 4096)
                defer { slow.close() }
                try slow.send(Self.request("/big.bin", close: true))
                // Read a little at a time until the server shows the response waiting.
                var writing: [String: String] = [:]
                try Deadline.wait(for: "ConnsAsyncWriting > 0 (last: \(writing))", timeout: .seconds(15), interval: .milliseconds(100)) {
                    try slow.read(atMost: 512, timeout: .milliseconds(10))
                    writing = try S.statusAuto(port: server.port)
                    return E.int(writing, "ConnsAsyncWriting") > 0
                }
                #expect(slow.head.hasPrefix("HTTP/1.1 200"), "\(slow.head)")
                // The stalled response holds no worker: only the status request is busy.
                #expect((0...2).contains(E.int(writing, "BusyWorkers")), "\(writing)")
                // Meanwhile the same 4 threads answer others promptly.
                for _ in 0..<8 {
                    let other = try timedGet(server.port, timeout: .seconds(5))
                    #expect(other.status == 200)
                    #expect(other.elapsed < .seconds(3), "a request took \(other.elapsed) while a slow reader stalled")
                }
                #expect(E.int(try S.statusAuto(port: server.port), "ConnsAsyncWriting") > 0, "the slow reader's response went on without it reading")
                // Small pieces until the end: all of it, intact.
                try slow.readSlowly(piece: 4096, pause: .milliseconds(2), until: Deadline(after: .seconds(60)), stopAfter: content.count)
                #expect(slow.bodyCount == content.count, "got \(slow.bodyCount) of \(content.count) bytes; head: \(slow.head)")
                #expect(Array(slow.body) == content, "the body differs from the file")
                try Deadline.wait(for: "ConnsAsyncWriting back to 0", timeout: .seconds(5), interval: .milliseconds(100)) {
                    E.int(try S.statusAuto(port: server.port), "ConnsAsyncWriting") == 0
                }
            }
        }

        /// `Timeout` bounds each wait for room in the send buffer, not the whole response
        /// (Apache: "the length of time to wait for an acknowledgement of a transmitted
        /// packet if the send buffers are full"). A reader that keeps taking 4 KiB every
        /// 40 ms never waits near 2 s, but needs about 10 s for 1 MiB.
        @Test(arguments: [ServerKind.skep, .apache])
        func timeoutBoundsEachStallNotTheWholeResponse(kind: ServerKind) throws {
            guard kind == .skep || ServerBinary.apacheAvailable else { return }
            let config = try S.config(.event, Self.oneChild + "\nTimeout 2\n")
            let content = try E.writePatternDocument(config, "big.bin", bytes: 1 << 20)
            try withServer(kind, config: config) { server in
                let slow = try SlowReader(port: server.port, receiveBuffer: 4096)
                defer { slow.close() }
                try slow.send(Self.request("/big.bin", close: true))
                let start = ContinuousClock.now
                try slow.readSlowly(piece: 4096, pause: .milliseconds(40), until: Deadline(after: .seconds(40)), stopAfter: content.count)
                let elapsed = ContinuousClock.now - start
                let complete = slow.bodyCount == content.count && Array(slow.body) == content
                let message = "\(kind): got \(slow.bodyCount) of \(content.count) bytes in \(elapsed)\(slow.eof ? ", then the server closed" : "")"
                if kind == .skep {
                    #expect(complete, "\(message)")
                } else {
                    #expect(complete, "\(message)")
                }
            }
        }

        /// A client that half-closes after its request (`shutdown(SHUT_WR)`) and reads
        /// slowly: its response still waits in write completion, and the listener does not
        /// spin on the hang-up while it waits.
        @Test(arguments: [ServerKind.skep, .apache])
        func aHalfClosedSlowReaderDoesNotMakeTheChildSpin(kind: ServerKind) throws {
            guard kind == .skep || ServerBinary.apacheAvailable else { return }
            let config = try S.config(.event, Self.oneChild)
            let content = try E.writePatternDocument(config, "big.bin", bytes: 1 << 20)
            try withServer(kind, config: config) { server in
                try Deadline.wait(for: "one child", timeout: .seconds(10)) { server.children().count == 1 }
                let child = server.children()[0]
                let slow = try SlowReader(port: server.port, receiveBuffer: 4096)
                defer { slow.close() }
                try slow.send(Self.request("/big.bin", close: true))
                slow.shutdownWrite()
                try slow.read(atMost: 1024, timeout: .seconds(5))
                // Until the send buffer is full and the response waits: in write completion
                // (Skep), or in the worker writing it (Apache 2.4.71 keeps it there: busy
                // workers are that one and the status request's).
                var status: [String: String] = [:]
                try Deadline.wait(for: "\(kind): the response waiting (\(status))", timeout: .seconds(10),
                                  interval: .milliseconds(50)) {
                    status = try S.statusAuto(port: server.port)
                    return kind == .skep ? E.int(status, "ConnsAsyncWriting") > 0 : E.int(status, "BusyWorkers") >= 2
                }
                let before = S.cpuTicks(child) ?? 0
                // A measured observation window, not a wait for an event: the CPU the child
                // uses over 2 s of wall time while the response waits.
                Deadline.sleep(for: .seconds(2))
                let used = (S.cpuTicks(child) ?? 0) - before
                // 2 s of wall time is 200 ticks; an idle child uses next to none.
                let spinning = used > 60
                if kind == .skep {
                    #expect(!spinning, "\(kind): the child used \(used) ticks of CPU in 2 s while one response waited")
                } else {
                    #expect(!spinning, "\(kind): the child used \(used) ticks of CPU in 2 s while one response waited")
                }
                try slow.drain(until: Deadline(after: .seconds(20)), stopAfter: content.count)
                #expect(slow.bodyCount == content.count && Array(slow.body) == content,
                        "\(kind): got \(slow.bodyCount) of \(content.count) bytes")
            }
        }

        // MARK: - 4. Slow headers

        @Test func fiveHundredStalledHeadsHoldNoWorkerAndTimeOut() throws {
            E.raiseOpenFileLimit()
            let config = try S.config(.event, Self.oneChild + "\nTimeout 5\n")
            try withServer(.skep, config: config) { server in
                try settled(server, workers: 4)
                var stalled: [RawHTTPClient] = []
                defer { stalled.forEach { $0.close() } }
                for index in 0..<500 {
                    do {
                        let client = try RawHTTPClient(port: server.port, timeout: .seconds(30))
                        try client.send("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                        stalled.append(client)
                    } catch {
                        Issue.record("stalled client \(index): \(error)")
                        break
                    }
                }
                let opened = ContinuousClock.now
                let fresh = try timedGet(server.port, timeout: .seconds(5))
                #expect(fresh.status == 200)
                #expect(fresh.elapsed < .seconds(3), "a normal request took \(fresh.elapsed) beside 500 stalled heads")
                let status = try S.statusAuto(port: server.port)
                if ContinuousClock.now - opened < .seconds(4) {
                    // Heads are read by the listener: the stalled clients hold no worker.
                    #expect((0...2).contains(E.int(status, "BusyWorkers")), "\(status)")
                    #expect(E.int(status, "ConnsTotal") >= 400, "\(status)")
                }
                // Each stalled one: a 408, or closed, within Timeout and a margin.
                let deadline = Deadline(after: .seconds(20))
                var outcomes: [String: Int] = [:]
                for client in stalled {
                    let outcome: String
                    do {
                        if let response = try client.readResponseOrClose(timeout: deadline.remaining) {
                            outcome = "\(response.status)"
                        } else {
                            outcome = "closed"
                        }
                    } catch {
                        outcome = String(describing: error).contains("timed out") ? "still open" : "error: \(error)"
                    }
                    outcomes[outcome, default: 0] += 1
                }
                let ended = (outcomes["408"] ?? 0) + (outcomes["closed"] ?? 0)
                #expect(ended == stalled.count, "\(outcomes)")
                #expect(outcomes["still open"] == nil, "\(outcomes)")
                // And the server serves on.
                #expect(try S.get(port: server.port) == 200)
            }
        }

        /// Without mod_reqtimeout, core `Timeout` bounds each read of the head, as
        /// Apache's socket timeout does: a head that trickles in a byte every 150 ms never
        /// waits near 2 s, and is served though it takes about 7 s in all.
        @Test(arguments: [ServerKind.skep, .apache])
        func aHeadTricklingInIsBoundedPerReadByTimeoutWithoutReqtimeout(kind: ServerKind) throws {
            guard kind == .skep || ServerBinary.apacheAvailable else { return }
            let config = try S.config(.event, Self.oneChild + "\nTimeout 2\n")
            #expect(!config.render(for: kind).contains("reqtimeout_module"))
            try withServer(kind, config: config) { server in
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(20))
                defer { client.close() }
                let start = ContinuousClock.now
                var outcome: String
                do {
                    try client.sendSlowly(Array(Self.request("/index.html", close: true).utf8), chunkSize: 1, pause: .milliseconds(150))
                    let response = try client.readResponseOrClose(timeout: .seconds(10))
                    outcome = response.map { "\($0.status)" } ?? "closed"
                } catch {
                    outcome = "\(error)"
                }
                let elapsed = ContinuousClock.now - start
                let message = "\(kind): \(outcome) after \(elapsed)"
                if kind == .skep {
                    #expect(outcome == "200", "\(message)")
                } else {
                    #expect(outcome == "200", "\(message)")
                }
                #expect(try S.get(port: server.port) == 200)
            }
        }

        /// After a `Connection: close` response the server shuts its side and drains the
        /// client for a while (Apache's short lingering close, 2 s) in the listener:
        /// `ConnsAsyncClosing` counts it, then goes back to 0 though the client never closes.
        /// (Skep only: Apache 2.4.71 on this machine shows ConnsTotal 0 and ConnsAsyncClosing 0
        /// right after five such responses, its linger being over before the status request.)
        @Test func lingeringCloseIsCountedAndEnds() throws {
            let kind = ServerKind.skep
            let config = try S.config(.event, Self.oneChild)
            try withServer(kind, config: config) { server in
                try settled(server, workers: 4)
                var clients: [RawHTTPClient] = []
                defer { clients.forEach { $0.close() } }
                for _ in 0..<5 {
                    let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                    #expect(try client.exchange(Self.request("/index.html", close: true)).status == 200)
                    clients.append(client)
                }
                let served = ContinuousClock.now
                let status = try S.statusAuto(port: server.port)
                if ContinuousClock.now - served < .seconds(1) {
                    #expect(E.int(status, "ConnsAsyncClosing") >= 1, "\(kind): \(status)")
                }
                // Each sees the server's FIN at once (the response is complete)...
                for (index, client) in clients.enumerated() {
                    #expect(client.serverClosed(within: .seconds(3)), "\(kind): connection \(index) not closed")
                }
                // ...and the server forgets them after its linger.
                var last: [String: String] = [:]
                try Deadline.wait(for: "\(kind): ConnsAsyncClosing back to 0 (last: \(last))", timeout: .seconds(8), interval: .milliseconds(100)) {
                    last = try S.statusAuto(port: server.port)
                    return E.int(last, "ConnsAsyncClosing") == 0 && E.int(last, "ConnsTotal") <= 1
                }
            }
        }

        // MARK: - 5. Pipelining

        @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() throws {
            let config = try S.config(.event, Self.oneChild)
            let names = ["a", "b", "c", "d", "e"]
            for name in names { try config.root.writeDocument("\(name).txt", "document \(name)\n") }
            try withServer(.skep, config: config) { server in
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                defer { client.close() }
                let requests = names.enumerated().map { index, name in
                    Self.request("/\(name).txt", close: index == names.count - 1)
                }.joined()
                try client.send(requests)
                let responses = try client.readResponses(names.count)
                #expect(responses.map(\.status) == Array(repeating: 200, count: names.count))
                #expect(responses.map(\.bodyText) == names.map { "document \($0)\n" })
                #expect(responses.dropLast().allSatisfy { $0.header("Connection") == nil }, "\(responses.map(\.headers))")
                #expect(responses.last?.header("Connection") == "close")
                #expect(client.serverClosed(within: .seconds(5)))
                #expect(client.bufferedBytes.isEmpty)

                // Pipelined again after a keep-alive wait: the listener hands the
                // connection back to a worker with the rest still buffered.
                let again = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                defer { again.close() }
                #expect(try again.exchange(Self.request("/a.txt")).bodyText == "document a\n")
                try Deadline.wait(for: "the connection back in the listener, in keep-alive", timeout: .seconds(5),
                                  interval: .milliseconds(50)) {
                    E.int(try S.statusAuto(port: server.port), "ConnsAsyncKeepAlive") >= 1
                }
                try again.send(names.reversed().map { Self.request("/\($0).txt") }.joined())
                let reversed = try again.readResponses(names.count)
                #expect(reversed.map(\.bodyText) == names.reversed().map { "document \($0)\n" })
            }
        }

        // MARK: - 6. The accept throttle

        /// With both of its workers held by requests whose bodies trickle in, a child stops
        /// accepting (Apache's rule: 2 busy + 0 idle is not under 2 + 2 x 0); the other
        /// child takes the new connections; when every worker is held, new connections
        /// wait in the backlog, are not refused, and are all served once workers free up.
        /// Two children of two workers; Apache's factor 2.
        static let twoSmallChildren = """
            StartServers 2
            ServerLimit 2
            ThreadsPerChild 2
            MaxRequestWorkers 4
            MinSpareThreads 1
            MaxSpareThreads 4
            AsyncRequestWorkerFactor 2
            KeepAliveTimeout 30
            """

        /// A POST to a static file whose 10-byte body has 1 byte sent: the worker that
        /// takes it stays busy reading (bodies are read by the worker) until `finishPost`.
        static let post = "POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"

        func startPost(_ port: UInt16) throws -> RawHTTPClient {
            let client = try RawHTTPClient(port: port, timeout: .seconds(30))
            try client.send(Self.post + "x")
            return client
        }

        /// Sends the rest of the body; the response's status, or -1 with the issue recorded.
        @discardableResult
        func finishPost(_ client: RawHTTPClient, _ what: String) -> Int {
            do {
                try client.send("123456789")
                return try client.readResponse(timeout: .seconds(20)).status
            } catch {
                Issue.record("\(what): \(error)")
                return -1
            }
        }

        /// Waits until `count` POSTs are held by workers (their heads reached a worker,
        /// as the scoreboard shows); the pids of the children holding them.
        ///
        /// A status request that lands on a child whose workers are all held, before its
        /// listener has closed its throttle, waits for a worker when that child has not
        /// looked up `/server-status` yet (the listener answers only from its file cache):
        /// such a poll gives up after a second and the next one lands elsewhere.
        func heldPosts(_ server: ServerProcess, count: Int) throws -> [pid_t] {
            try Deadline.waitForValue("\(count) POSTs held by workers", timeout: .seconds(10), interval: .milliseconds(50)) {
                guard let page = try? S.statusNotable(port: server.port, timeout: .seconds(1)) else { return nil }
                let pids = E.pidsServing("POST", "/index.html", page: page)
                return pids.count == count ? pids : nil
            }
        }

        /// Waits until each child whose two workers POSTs hold has stopped accepting (its
        /// row on the status page says so). A listener re-reads its throttle only when it
        /// wakes (an event, or its 1 s epoll timeout): until then it would take the next
        /// connection and queue it for a worker that does not free up.
        func throttleSettled(_ server: ServerProcess, holders: [pid_t]) throws {
            let full = Set(holders.filter { pid in holders.count(where: { $0 == pid }) == 2 })
            guard !full.isEmpty else { return }
            var rows: [E.ChildRow] = []
            try Deadline.wait(for: "children \(full) not accepting (\(rows))", timeout: .seconds(5), interval: .milliseconds(100)) {
                // A poll that lands on a full child may wait for a worker: see heldPosts.
                guard let table = try? E.childTable(port: server.port, timeout: .seconds(1)) else { return false }
                rows = table
                return full.allSatisfy { pid in rows.first { $0.pid == pid }?.accepting == false }
            }
        }

        /// With both of its workers held by requests whose bodies trickle in, a child stops
        /// accepting (Apache's rule: 2 busy + 0 idle is not under 2 + 2 x 0); the other
        /// child takes the new connections; when every worker is held, new connections
        /// wait in the backlog, are not refused, and are all served once workers free up.
        @Test func aChildOverItsLimitStopsAcceptingAndTheOtherTakesTheConnections() throws {
            let config = try S.config(.event, Self.twoSmallChildren)
            try withServer(.skep, config: config) { server in
                try Deadline.wait(for: "2 children", timeout: .seconds(10)) { server.children().count == 2 }
                try settled(server, workers: 4)
                var posts: [RawHTTPClient] = []
                var others: [RawHTTPClient] = []
                defer { (posts + others).forEach { $0.close() } }
                // Hold workers one at a time until one child has both of its workers held.
                var full: pid_t?
                var holders: [pid_t] = []
                for _ in 0..<3 {
                    posts.append(try startPost(server.port))
                    holders = try heldPosts(server, count: posts.count)
                    try throttleSettled(server, holders: holders)
                    full = Dictionary(grouping: holders, by: { $0 }).first { $0.value.count == 2 }?.key
                    if full != nil { break }
                }
                guard let full, let other = server.children().first(where: { $0 != full }) else {
                    Issue.record("no child has both workers held: \(holders) of \(server.children())")
                    return
                }
                // The full child says it does not accept (it cannot be the one serving
                // the status request: both its workers are held).
                var rows: [E.ChildRow] = []
                try Deadline.wait(for: "child \(full) not accepting (\(rows))", timeout: .seconds(5), interval: .milliseconds(100)) {
                    guard let table = try? E.childTable(port: server.port, timeout: .seconds(1)) else { return false }
                    rows = table
                    return rows.first { $0.pid == full }?.accepting == false
                }
                // New connections go to the other child: three keep-alive clients served
                // at once, and they wait in the other child's listener.
                for _ in 0..<3 {
                    let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                    let start = ContinuousClock.now
                    #expect(try client.exchange(Self.request("/index.html")).status == 200)
                    #expect(ContinuousClock.now - start < .seconds(3))
                    others.append(client)
                }
                rows = try E.childTable(port: server.port)
                #expect(rows.first { $0.pid == full }?.keepAlive == 0, "\(rows)")
                #expect((rows.first { $0.pid == other }?.keepAlive ?? 0) >= 3, "\(rows)")

                // Hold the other child's last free worker(s) too: now no child accepts. Its
                // listener still answers status requests on a connection it holds
                // (ListenerHandlers), so one opened before shows the last POST reach a worker.
                let watcher = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                defer { watcher.close() }
                #expect(try watcher.exchange(Self.request("/server-status?notable")).status == 200)
                while posts.count < 4 { posts.append(try startPost(server.port)) }
                try Deadline.wait(for: "4 POSTs held by workers", timeout: .seconds(10), interval: .milliseconds(50)) {
                    let page = try watcher.exchange(Self.request("/server-status?notable")).bodyText
                    return E.pidsServing("POST", "/index.html", page: page).count == 4
                }
                // Connections made now are not refused: they wait in the listen backlog.
                var waiting: [RawHTTPClient] = []
                defer { waiting.forEach { $0.close() } }
                for index in 0..<4 {
                    do {
                        let client = try RawHTTPClient(port: server.port, timeout: .seconds(30))
                        try client.send(Self.request("/index.html", close: true))
                        waiting.append(client)
                    } catch {
                        Issue.record("connection \(index) refused while every worker was held: \(error)")
                    }
                }
                // Finish the bodies: every POST and every waiting GET is answered.
                for (index, client) in posts.enumerated() {
                    #expect(finishPost(client, "POST \(index)") == 200, "POST \(index)")
                }
                for (index, client) in waiting.enumerated() {
                    do {
                        #expect(try client.readResponse(timeout: .seconds(20)).status == 200, "waiting GET \(index)")
                    } catch {
                        Issue.record("waiting GET \(index): \(error)")
                    }
                }
                for (index, client) in others.enumerated() {
                    #expect(try client.exchange(Self.request("/index.html")).status == 200, "keep-alive client \(index)")
                }
                // And both children accept again.
                try Deadline.wait(for: "both children accepting (\(rows))", timeout: .seconds(5), interval: .milliseconds(100)) {
                    rows = try E.childTable(port: server.port)
                    return rows.count == 2 && rows.allSatisfy(\.accepting)
                }
            }
        }

        /// A connection that arrives just as a child's last idle worker takes a request:
        /// both Apache and Skep let that child take it (Apache's listener had already
        /// reserved a worker and blocks for it; Skep's reads its idle count before the
        /// worker took the queued request and re-reads it when it next wakes), so it
        /// waits for one of that child's workers even though the other child has an idle
        /// one. What holds for both, and is asserted: it is neither refused nor lost, and is
        /// served as soon as a worker of its child frees up.
        @Test(arguments: [ServerKind.skep, .apache])
        func aConnectionArrivingAsAChildFillsUpIsServedWhenAWorkerFrees(kind: ServerKind) throws {
            guard kind == .skep || ServerBinary.apacheAvailable else { return }
            let config = try S.config(.event, Self.twoSmallChildren)
            try withServer(kind, config: config) { server in
                try Deadline.wait(for: "2 children", timeout: .seconds(10)) { server.children().count == 2 }
                try settled(server, workers: 4)
                var posts: [RawHTTPClient] = []
                defer { posts.forEach { $0.close() } }
                // Two workers held (in one child or one in each: the kernel's choice).
                for _ in 0..<2 {
                    posts.append(try startPost(server.port))
                    try throttleSettled(server, holders: try heldPosts(server, count: posts.count))
                }
                // A third fills a child (the second one, when the first two share one);
                // a GET right after it.
                posts.append(try startPost(server.port))
                let get = try RawHTTPClient(port: server.port, timeout: .seconds(20))
                defer { get.close() }
                try get.send(Self.request("/index.html", close: true))
                let answered = try? get.readResponse(timeout: .milliseconds(1500))
                for (index, client) in posts.enumerated() {
                    #expect(finishPost(client, "\(kind) POST \(index)") == 200)
                }
                let status = try answered ?? get.readResponse(timeout: .seconds(20))
                #expect(status.status == 200, "\(kind)")
                #expect(try S.get(port: server.port) == 200)
            }
        }

        // MARK: - 7. Graceful restart and graceful stop

        @Test(.enabled(if: MPMTestSupport.wrk != nil, "needs wrk"))
        func gracefulRestartsUnderLoadLoseNoRequest() throws {
            let config = try S.config(.event, """
                StartServers 2
                ServerLimit 4
                ThreadsPerChild 4
                MaxRequestWorkers 16
                MinSpareThreads 2
                MaxSpareThreads 12
                """)
            try withServer(.skep, config: config) { server in
                let summary = try S.twoGracefulRestartsUnderLoad(server)
                #expect(summary.requests > 0, "\(summary)")
                #expect(summary.socketErrors == 0, "\(summary)")
                #expect(summary.non2xx == 0, "\(summary)")
                #expect(try S.statusAuto(port: server.port)["ParentServerMPMGeneration"] == "2")
                try Deadline.wait(for: "the old generations to leave", timeout: .seconds(10)) {
                    server.children().count <= 4
                }
            }
        }

        @Test func gracefulStopClosesIdleKeepAliveConnectionsAtOnceAndFinishesADownload() throws {
            let config = try S.config(.event, Self.oneChild + "\nKeepAliveTimeout 30\n")
            let content = try E.writePatternDocument(config, "big.bin", bytes: 1 << 20)
            try withServer(.skep, config: config) { server in
                try settled(server, workers: 4)
                var idle: [RawHTTPClient] = []
                defer { idle.forEach { $0.close() } }
                for _ in 0..<5 {
                    let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                    #expect(try client.exchange(Self.request("/index.html")).status == 200)
                    idle.append(client)
                }
                let slow = try SlowReader(port: server.port, receiveBuffer: 4096)
                defer { slow.close() }
                try slow.send(Self.request("/big.bin", close: true))
                try Deadline.wait(for: "the download in write completion", timeout: .seconds(10), interval: .milliseconds(100)) {
                    try slow.read(atMost: 512, timeout: .milliseconds(10))
                    return E.int(try S.statusAuto(port: server.port), "ConnsAsyncWriting") > 0
                }
                let stop = try S.Background(server.executable, ["-k", "graceful-stop", "-f", server.configPath],
                                            environment: ServerBinary.environment())
                // The idle keep-alive connections are closed at once (well before KeepAliveTimeout 30).
                let closeDeadline = Deadline(after: .seconds(5))
                for (index, client) in idle.enumerated() {
                    #expect(client.serverClosed(within: closeDeadline.remaining), "idle keep-alive connection \(index) still open after graceful-stop")
                }
                #expect(slow.bodyCount < content.count, "the download finished before the check")
                #expect(server.isRunning, "the master left before the download finished")
                // The download goes on to its end.
                try slow.readSlowly(piece: 8192, pause: .milliseconds(2), until: Deadline(after: .seconds(60)), stopAfter: content.count)
                #expect(slow.bodyCount == content.count, "got \(slow.bodyCount) of \(content.count) bytes")
                #expect(Array(slow.body) == content)
                // Then the master exits.
                try stop.wait(timeout: .seconds(30)) { _ = server.isRunning }
                try Deadline.wait(for: "the master to exit", timeout: .seconds(15)) { !server.isRunning }
                #expect(server.exitStatus == Subprocess.Exit(waitStatus: 0), "\(String(describing: server.exitStatus))")
            }
        }

        // MARK: - 8. --explain

        /// Debian's stock `mpm_event.conf`.
        static let stockEvent = """
            <IfModule mpm_event_module>
                StartServers             2
                MinSpareThreads          25
                MaxSpareThreads          75
                ThreadLimit              64
                ThreadsPerChild          25
                MaxRequestWorkers        150
                MaxConnectionsPerChild   0
            </IfModule>
            """

        @Test func explainPrintsApachesFigureAndSkepsWithTheStockSettings() throws {
            let root = try TestServerRoot(prefix: "skep-explain")
            defer { root.remove() }
            let base = """
                ServerRoot "\(root.path)"
                Listen 127.0.0.1:18998
                LoadModule mpm_event_module modules/mod_mpm_event.so
                PidFile run/skep.pid
                ErrorLog logs/error_log

                """
            // The default IdleConnectionsPerChild: the open-file limit less 64.
            let path = try root.writeFile("conf/stock.conf", base + Self.stockEvent + "\n")
            let stock = try ServerBinary.run(.skep, ["--explain", "-f", path])
            #expect(stock.succeeded, "\(stock.statusText): \(stock.stderr)")
            let text = stock.stdout
            #expect(text.contains("MPM: event"), "\(text)")
            #expect(text.contains("up to 75 per child"), "\(text)")
            #expect(text.contains("Connections in all (Apache's figure): 6 children x 75 = 450"), "\(text)")
            let idle = max(64, E.openFileLimit - 64)
            #expect(text.contains("IdleConnectionsPerChild \(idle)"), "\(text)")
            #expect(text.contains("so up to \(75 + idle) per child and \(6 * (75 + idle)) in all"), "\(text)")
            #expect(text.contains("answered by the listener itself, with no hand-off"), "\(text)")
            let off = try root.writeFile("conf/off.conf", base + Self.stockEvent + "\nListenerHandlers Off\n")
            let handedOff = try ServerBinary.run(.skep, ["--explain", "-f", off])
            #expect(handedOff.stdout.contains("Every request goes to a worker, one hand-off each, as in Apache (ListenerHandlers Off)."), "\(handedOff.stdout)")

            // With IdleConnectionsPerChild written: Skep's figure follows it.
            let set = try root.writeFile("conf/set.conf", base + Self.stockEvent + "\nIdleConnectionsPerChild 1000\n")
            let explicit = try ServerBinary.run(.skep, ["--explain", "-f", set])
            #expect(explicit.succeeded, "\(explicit.statusText): \(explicit.stderr)")
            #expect(explicit.stdout.contains("= 450"), "\(explicit.stdout)")
            #expect(explicit.stdout.contains("IdleConnectionsPerChild 1000, so up to 1075 per child and 6450 in all"), "\(explicit.stdout)")

            // No MPM directive at all: Apache's compiled-in event defaults, 16 x 75.
            let bare = try root.writeFile("conf/bare.conf", base)
            let defaults = try ServerBinary.run(.skep, ["--explain", "-f", bare])
            #expect(defaults.succeeded, "\(defaults.statusText): \(defaults.stderr)")
            #expect(defaults.stdout.contains("16 children x 75 = 1200"), "\(defaults.stdout)")
            #expect(defaults.stdout.contains("Skep's figure"), "\(defaults.stdout)")
        }
    }
}
