import Foundation
import Glibc
import Testing

/// The `Skep` library end to end, through `SkepTestApp` (a server built on it with test
/// handlers): its API, its directives and the thread-safety contract, its child hooks,
/// handlers that crash, and `RequestWatchdogTimeout`. They start masters that fork
/// children and put load on them, so they run one after another.
@Suite(.serialized, .tags(.skepBinary), .timeLimit(.minutes(10)))
enum EmbeddingEndToEnd {}

extension EmbeddingEndToEnd {
    /// Handlers see the request and the per-directory configuration, and answer with
    /// bytes, a stream, a file or the server's own error page; hooks run in each child.
    @Suite struct EmbeddingTests {
        typealias E = EmbeddingTestSupport
        typealias S = MPMTestSupport

        /// `TestGreeting` set for the server, inherited by `/test-echo` and overridden
        /// below it; a file for `test-file`.
        static func config(_ mpm: MPM) throws -> (config: TestConfig, file: [UInt8]) {
            let config = try E.config(mpm, E.sizing(mpm) + """

                TestGreeting from-the-server
                <Location /test-echo/override>
                    TestGreeting overridden
                </Location>
                """)
            let file = EventTestSupport.pattern(100_000)
            try config.root.writeDocument("test-file/data.bin", bytes: file)
            return (config, file)
        }

        static func get(_ path: String, _ fields: String = "") -> String {
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(fields)\r\n"
        }

        /// The same handlers under each MPM; `child_init` ran in the child that answers,
        /// with the MPM's name and the number of threads that may call a handler at once.
        @Test(arguments: MPM.allCases)
        func theHandlersServeAndChildInitRanInTheChild(mpm: MPM) throws {
            let (config, file) = try Self.config(mpm)
            try withServer(.testApp, config: config) { server in
                let client = try RawHTTPClient(port: server.port)
                defer { client.close() }
                let echo = try client.exchange(Self.get("/test-echo?a=1"))
                #expect(echo.status == 200)
                #expect(echo.bodyText.hasPrefix("from-the-server\nmethod=GET path=/test-echo query=a=1 "), "\(echo.bodyText)")

                let stream = try client.exchange(Self.get("/test-stream?3"))
                #expect(stream.bodyText == "line 0\nline 1\nline 2\n")
                let download = try client.exchange(Self.get("/test-file/data.bin"))
                #expect(download.body == file)

                let info = try client.exchange(Self.get("/child-info")).bodyText
                let pid = try #require(E.field("pid", in: info).flatMap { pid_t($0) }, "\(info)")
                #expect(server.children().contains(pid), "child-info answered from \(pid), not a child: \(server.children())")
                let threads = mpm == .prefork ? 1 : 6
                #expect(info == "child_init pid=\(pid) mpm=\(mpm) threads=\(threads) generation=0\n")
                #expect(server.errorLog().contains("[test_module:notice] [pid \(pid):tid \(pid)] child_init pid=\(pid) mpm=\(mpm)"),
                        "\(server.diagnostics())")
            }
        }

        @Test func theHandlerSeesTheRequestAndTheDirectoryConfiguration() throws {
            let (config, _) = try Self.config(.event)
            try withServer(.testApp, config: config) { server in
                let client = try RawHTTPClient(port: server.port)
                defer { client.close() }
                let get = try client.exchange(Self.get("/test-echo/sub?a=1&b=two", "X-Test: hello there\r\n"))
                #expect(get.status == 200)
                #expect(get.header("X-Test-Method") == "GET")
                #expect(get.header("Content-Type") == "text/plain; charset=utf-8")
                #expect(get.bodyText == """
                    from-the-server
                    method=GET path=/test-echo/sub query=a=1&b=two version=HTTP/1.1
                    client=127.0.0.1 local=127.0.0.1:\(server.port) server=127.0.0.1
                    x-test=hello there fields=2 body=0

                    """)

                let body = "name=value&more=1"
                let post = try client.exchange(
                    "POST /test-echo/override/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                        + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
                #expect(post.status == 200)
                #expect(post.header("X-Test-Method") == "POST")
                let lines = post.bodyText.split(separator: "\n")
                #expect(lines.first == "overridden", "the <Location> below sets its own greeting: \(post.bodyText)")
                #expect(lines.count == 4 && lines[1].hasPrefix("method=POST path=/test-echo/override/x query=- "), "\(post.bodyText)")
                #expect(post.bodyText.hasSuffix("fields=3 body=\(body.utf8.count)\n"), "\(post.bodyText)")

                // HEAD: the head a GET would have, no body; the connection goes on cleanly.
                let head = try client.exchange("HEAD /test-echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(head.status == 200)
                #expect(head.header("X-Test-Method") == "HEAD")
                #expect(head.header("Content-Length") != nil)
                #expect(client.connectionState(within: .milliseconds(300)) == .open, "bytes after a HEAD response")
                #expect(try client.exchange(Self.get("/test-echo")).bodyText.hasPrefix("from-the-server\nmethod=GET"))
            }
        }

        @Test func streamsFilesAndTheServersErrorPage() throws {
            let (config, file) = try Self.config(.event)
            try withServer(.testApp, config: config) { server in
                let client = try RawHTTPClient(port: server.port)
                defer { client.close() }
                let stream = try client.exchange(Self.get("/test-stream?40"))
                #expect(stream.status == 200)
                #expect(stream.framing == .chunked)
                #expect(stream.header("Content-Length") == nil)
                #expect(stream.bodyText == (0..<40).map { "line \($0)\n" }.joined())

                let download = try client.exchange(Self.get("/test-file/data.bin"))
                #expect(download.status == 200)
                #expect(download.framing == .contentLength(file.count))
                #expect(download.header("Content-Type") == "application/octet-stream")
                #expect(download.body == file, "got \(download.body.count) bytes")

                // response.fail(404) answers what a missing static file gets.
                let missing = try client.exchange(Self.get("/test-file/missing.bin"))
                let staticMissing = try client.exchange(Self.get("/missing.html"))
                #expect(missing.status == 404)
                #expect(missing.bodyText.contains("<title>404 Not Found</title>"), "\(missing.bodyText)")
                #expect(missing.body == staticMissing.body)
                #expect(missing.header("Content-Type") == staticMissing.header("Content-Type"))
            }
        }

        @Test func aThrowingHandlerAnswers500IsLoggedAndTheServerKeepsServing() throws {
            let (config, _) = try Self.config(.event)
            try withServer(.testApp, config: config) { server in
                try Deadline.wait(for: "2 children", timeout: .seconds(10)) { server.children().count >= 2 }
                let children = server.children()
                let client = try RawHTTPClient(port: server.port)
                defer { client.close() }
                let failed = try client.exchange(Self.get("/throws"))
                #expect(failed.status == 500)
                #expect(failed.bodyText.contains("<title>500 Internal Server Error</title>"))
                try Deadline.wait(for: "the handler's error in the log", timeout: .seconds(5)) {
                    server.errorLog().split(separator: "\n").contains {
                        $0.contains("[client 127.0.0.1:") && $0.contains("handler throws failed") && $0.contains("a handler error")
                    }
                }
                #expect(try S.get(port: server.port, "/test-echo") == 200)
                #expect(server.children() == children, "a thrown error ended a child")
                #expect(!server.errorLog().contains("AH00052"))
            }
        }

        /// `child_init` throws in every child: each exits at start, the master backs off
        /// instead of forking in a loop, and it still stops (prefork: `-k stop`; event: TERM).
        @Test(arguments: [MPM.prefork, .event])
        func childrenWhoseChildInitThrowsAreReplacedAfterABackOffAndTheMasterStops(mpm: MPM) throws {
            let config = try E.config(mpm, E.sizing(mpm) + "\nTestFailChildInit On")
            defer { config.root.remove() }
            let server = try ServerProcess.start(.testApp, config: config)
            defer {
                let report = server.stop()
                #expect(report.leftovers.isEmpty, "\(report)")
            }
            try Deadline.wait(for: "the back-off line\n\(server.diagnostics())", timeout: .seconds(10)) {
                server.errorLog().contains("children keep crashing: waiting")
            }
            let log = server.errorLog()
            #expect(log.contains("could not start: TestFailChildInit is On"))
            #expect(log.contains(" exit status 3"))
            // Watch for 3 s: children are forked a few at a time, seconds apart, not in a loop
            // (a measured observation window, sampled every 20 ms, not a wait for an event).
            func exits() -> Int { server.errorLog().components(separatedBy: "AH00052: child pid ").count - 1 }
            let before = exits()
            let ticksBefore = S.cpuTicks(server.pid) ?? 0
            var pids: Set<pid_t> = []
            let watch = Deadline(after: .seconds(3))
            while !watch.hasPassed {
                #expect(server.isRunning)
                pids.formUnion(server.children())
                Deadline.sleep(for: .milliseconds(20))
            }
            let forked = exits() - before
            #expect(forked <= 12, "\(forked) children exited in 3 s of back-off")
            #expect(pids.count <= 12, "\(pids.count) children seen in 3 s of back-off")
            let ticks = (S.cpuTicks(server.pid) ?? 0) - ticksBefore
            #expect(ticks < 50, "the master used \(ticks) clock ticks in 3 s of back-off")

            if mpm == .prefork {
                let stop = try S.control(server, "stop", timeout: .seconds(20))
                #expect(stop.exit == Subprocess.Exit(waitStatus: 0), "\(stop.stderr)")
                #expect(!server.isRunning)
            } else {
                server.signal(SIGTERM)
                #expect(try server.waitForExit(timeout: .seconds(10)) == Subprocess.Exit(waitStatus: 0))
            }
        }
    }
}

extension EmbeddingEndToEnd {
    /// The hooks around a child's life, and the one way `Server.run()` can be misused.
    @Suite struct ChildHookTests {
        typealias E = EmbeddingTestSupport

        /// A child that ends on its own terms (here `MaxConnectionsPerChild 1`) runs the
        /// exit hooks before it goes, under a single-threaded and a threaded MPM.
        @Test(arguments: [MPM.prefork, .event])
        func childExitRunsWhenAChildRetiresOnItsOwnTerms(mpm: MPM) throws {
            let config = try E.config(mpm, E.sizing(mpm, children: 1) + "\nMaxConnectionsPerChild 1")
            try withServer(.testApp, config: config) { server in
                let client = try RawHTTPClient(port: server.port)
                let info = try client.exchange("GET /child-info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").bodyText
                client.close()
                let pid = try #require(E.field("pid", in: info), "\(info)")
                try Deadline.wait(for: "child_exit of \(pid)\n\(server.diagnostics())", timeout: .seconds(10)) {
                    server.errorLog().contains("child_exit pid=\(pid) mpm=\(mpm)")
                }
            }
        }

        /// `Server.run()` refuses a process that already has a second thread, before it
        /// reads any configuration, with exit status 70 and the reason.
        @Test func runRefusesAProcessThatAlreadyHasAThread() throws {
            let config = try E.config(.prefork, E.sizing(.prefork))
            defer { config.root.remove() }
            let result = try Subprocess.run(
                ServerBinary.testAppPath(), ["-t", "-f", config.write(for: .testApp)],
                environment: ServerBinary.environment(["SKEP_TEST_THREAD_BEFORE_RUN": "1"]))
            #expect(result.status == 70 && !result.signaled, "\(result.statusText): \(result.stderr)")
            #expect(result.stderr.contains("Server.run() found 2 threads in this process; call it first thing in main.swift"),
                    "\(result.stderr)")
            #expect(!result.stderr.contains("Syntax OK"))
        }
    }
}
