import Foundation
import Glibc
import Testing

/// Tests of the end-to-end harness itself, validated against Debian's Apache (which
/// reads the same configs skep will) and against canned responses.
@Suite(.tags(.harness), .timeLimit(.minutes(10)))
struct HarnessTests {
    static let hello = "Hello from the harness\n"

    /// A config for Apache with a small file in the docroot.
    func apacheConfig(_ mpm: MPM = .event, extra: String = "") throws -> TestConfig {
        let config = try TestConfig(mpm: mpm, extra: extra)
        try config.root.writeDocument("hello.txt", Self.hello)
        try config.root.writeDocument("sub/index.html", "<p>index</p>\n")
        return config
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func configtestOfTheRenderedConfigPasses() throws {
        let config = try apacheConfig()
        defer { config.root.remove() }
        let result = try Oracle.configtest(config)
        #expect(result.succeeded, "\(result.statusText): \(result.stderr)\n\(config.render(for: .apache))")
        #expect(result.stderr.contains("Syntax OK") || result.stdout.contains("Syntax OK"))
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func getWithRawClientAndCurl() throws {
        try withServer(.apache, config: apacheConfig()) { server in
            let client = try RawHTTPClient(port: server.port)
            let response = try client.exchange("GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(response.status == 200)
            #expect(response.version == "HTTP/1.1")
            #expect(response.bodyText == Self.hello)
            #expect(response.framing == .contentLength(Self.hello.utf8.count))
            #expect(response.header("content-type") == "text/plain")
            #expect(response.headerNames.first == "date")
            #expect(!client.serverClosed(within: .milliseconds(200)))

            let head = try client.exchange("HEAD /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.header("Content-Length") == String(Self.hello.utf8.count))

            let curl = try Curl.get("http://127.0.0.1:\(server.port)/hello.txt")
            #expect(curl.exitCode == 0, "\(curl.stderr)")
            #expect(curl.status == 200)
            #expect(curl.bodyText == Self.hello)
            #expect(curl.header("Content-Type") == "text/plain")

            let lines = server.accessLogLines()
            #expect(lines.count == 3, "\(lines)")
            #expect(lines.first?.contains("\"GET /hello.txt HTTP/1.1\" 200") == true)
        }
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func pipelinedRequestsAndConnectionClose() throws {
        try withServer(.apache, config: apacheConfig()) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send(
                "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "HEAD /sub/ HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /missing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            let responses = try client.readResponses(3, methods: ["GET", "HEAD", "GET"])
            #expect(responses.map(\.status) == [200, 200, 404])
            #expect(responses[0].bodyText == Self.hello)
            #expect(responses[1].body.isEmpty)
            #expect(responses[2].header("Connection") == "close")
            #expect(client.connectionState(within: .seconds(2)) == .closed)
        }
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func badRequestIsAnsweredAndClosed() throws {
        try withServer(.apache, config: apacheConfig()) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send("GET / HTTP/1.1\r\n\r\n")  // HTTP/1.1 without Host
            let response = try client.readResponse()
            #expect(response.status == 400)
            #expect(response.header("Connection") == "close")
            #expect(client.serverClosed(within: .seconds(2)))
        }
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func http09AndChunkedResponses() throws {
        var config = try apacheConfig(extra: """
            HttpProtocolOptions Unsafe Allow0.9
            <Directory "@DOCROOT@/cgi">
                Options +ExecCGI
                SetHandler cgi-script
            </Directory>
            """)
        config.modules.append("cgid")
        // A CGI script sends no Content-Length; as its output comes in two parts,
        // Apache cannot compute one either: it chunks on HTTP/1.1 and closes after
        // the body on HTTP/1.0.
        try config.root.writeDocument(
            "cgi/lines", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\necho one\nsleep 0.2\necho two\n", mode: 0o755)
        try withServer(.apache, config: config) { server in
            let old = try RawHTTPClient(port: server.port)
            try old.send("GET /hello.txt\r\n")
            #expect(try old.readUntilClose() == Array(Self.hello.utf8))

            let client = try RawHTTPClient(port: server.port)
            let chunked = try client.exchange("GET /cgi/lines HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(chunked.status == 200, "\(server.diagnostics())")
            #expect(chunked.framing == .chunked)
            #expect(chunked.bodyText == "one\ntwo\n")
            let again = try client.exchange("GET /cgi/lines HTTP/1.0\r\n\r\n")
            #expect(again.framing == .untilClose)
            #expect(again.bodyText == "one\ntwo\n")
            #expect(client.connectionState() == .closed)
        }
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"),
          arguments: MPM.allCases)
    func pidFileChildrenThreadsAndCleanStop(mpm: MPM) throws {
        let config = try apacheConfig(mpm)
        defer { config.root.remove() }
        let server = try ServerProcess.start(.apache, config: config)
        var stopped = false
        defer { if !stopped { server.stop() } }
        try server.waitUntilReady()

        #expect(server.pidFromPidFile() == server.pid)
        let children = try Deadline.waitForValue("\(mpm) children") {
            let pids = server.children()
            return pids.isEmpty ? nil : pids
        }
        #expect(!children.isEmpty)
        let threads = children.compactMap(server.threads(of:))
        if mpm == .prefork {
            #expect(threads.allSatisfy { $0 == 1 }, "\(threads)")
        } else {
            #expect(threads.allSatisfy { $0 > 2 }, "\(threads)")  // workers + listener + main
        }
        let all = server.descendants()

        let report = server.stop()
        stopped = true
        #expect(report.exit == Subprocess.Exit(waitStatus: 0), "\(report)")
        #expect(!report.neededKill)
        #expect(report.leftovers.isEmpty)
        #expect(!server.isRunning)
        #expect(all.allSatisfy { kill($0, 0) == -1 || ProcessTree.entry($0)?.parent != server.pid })
        #expect(server.pidFromPidFile() == nil)  // Apache removes its PidFile
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func childrenOrphanedByADeadMasterAreStillKilled() throws {
        let config = try apacheConfig(.prefork)
        defer { config.root.remove() }
        let server = try ServerProcess.start(.apache, config: config)
        defer { server.stop() }
        try server.waitUntilReady()
        let children = try Deadline.waitForValue("prefork children") {
            let pids = server.children()
            return pids.isEmpty ? nil : pids
        }
        let recorded = children.compactMap(ProcessTree.entry)
        server.signal(SIGKILL)  // the master dies; its children are reparented
        try server.waitForExit()
        #expect(recorded.allSatisfy(ProcessTree.isAlive), "the orphans still run")

        let report = server.stop()
        #expect(Set(report.leftovers).isSuperset(of: children), "\(report)")
        #expect(!recorded.contains(where: ProcessTree.isAlive), "stop() killed the orphans")
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func controlStopSignalsTheMasterThroughThePidFile() throws {
        let config = try apacheConfig()
        defer { config.root.remove() }
        let server = try ServerProcess.start(.apache, config: config)
        defer { server.stop() }
        try server.waitUntilReady()
        let result = try server.control("stop")
        #expect(result.succeeded, "\(result.statusText): \(result.stderr)")
        let exit = try server.waitForExit()
        #expect(exit == Subprocess.Exit(waitStatus: 0))
        #expect(server.stop().leftovers.isEmpty)
        #expect(server.errorLog().contains("caught SIGTERM, shutting down"))
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func singleProcessModeHasNoChildren() throws {
        try withServer(.apache, config: apacheConfig(), mode: .singleProcess) { server in
            #expect(server.children().isEmpty)
            let response = try RawHTTPClient(port: server.port)
                .exchange("GET /hello.txt HTTP/1.0\r\n\r\n")
            #expect(response.status == 200)
        }
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func startupFailureIsReportedWithTheErrorLog() throws {
        let config = try apacheConfig(extra: "NoSuchDirective on")
        defer { config.root.remove() }
        let server = try ServerProcess.start(.apache, config: config)
        defer { server.stop() }
        let error = #expect(throws: HarnessError.self) { try server.waitUntilReady(timeout: .seconds(10)) }
        #expect(error?.description.contains("exited") == true, "\(error.map(String.init(describing:)) ?? "")")
        #expect(error?.description.contains("NoSuchDirective") == true)
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func serverPairServesTheSameDocuments() throws {
        // Only Apache can serve today; exercise the pair's setUp on two roots.
        var roots: [String] = []
        let setUp: (inout TestConfig) throws -> Void = { config in
            config.extra = "Alias /aliased \"@DOCROOT@/sub\""
            try config.root.writeDocument("hello.txt", Self.hello)
            try config.root.writeDocument("sub/index.html", "<p>index</p>\n")
            roots.append(config.root.path)
        }
        var a = try TestConfig()
        var b = try TestConfig()
        try setUp(&a)
        try setUp(&b)
        #expect(a.port != b.port)
        #expect(a.render(for: .apache).contains("Alias /aliased \"\(a.root.docroot)/sub\""))
        try withServer(.apache, config: a) { first in
            try withServer(.apache, config: b) { second in
                for server in [first, second] {
                    let response = try RawHTTPClient(port: server.port)
                        .exchange("GET /aliased/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    #expect(response.status == 200)
                    #expect(response.bodyText == "<p>index</p>\n")
                }
            }
        }
        #expect(roots.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }

    @Test(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    func differentialComparisonOfTwoApaches() throws {
        // Two Apaches with the same config agree; the comparison sees a real change.
        var a = try apacheConfig()
        var b = try apacheConfig()
        a.extra = "Alias /x \"@DOCROOT@/hello.txt\""
        b.extra = a.extra
        try withServer(.apache, config: a) { first in
            try withServer(.apache, config: b) { second in
                let request = "GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET / HTTP/1.1\r\n\r\n"
                let (one, two) = try Differential.exchange(request, skep: first, apache: second, expecting: 4)
                #expect(one.responses.map(\.status) == [200, 404, 400])
                #expect(one.connection == .closed)
                #expect(Differential.differences(one, two).isEmpty, "\(Differential.differences(one, two))")

                var changed = two
                changed.responses[0].headers.append(HTTPHeader(name: "X-Extra", value: "1"))
                changed.connection = .open
                #expect(Differential.differences(one, changed).count == 2)
            }
        }
    }

    @Test func cannedInterimTrailersAndUntilClose() throws {
        let canned = try CannedServer(reply:
            "HTTP/1.1 100 Continue\r\n\r\n"
                + "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
                + "HTTP/1.0 200 OK\r\nX-Old: 1\r\n\r\nuntil close")
        defer { canned.finish() }
        let client = try RawHTTPClient(port: canned.port)
        try client.send("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n")
        let first = try client.readResponse()
        #expect(first.interim.map(\.status) == [100, 103])
        #expect(first.interim.last?.header("link") == "</a.css>; rel=preload")
        #expect(first.bodyText == "hello, world")
        #expect(first.trailers == [HTTPHeader(name: "X-Trailer", value: "yes")])
        let second = try client.readResponse()
        #expect(second.framing == .untilClose)
        #expect(second.bodyText == "until close")
        #expect(client.connectionState() == .closed)
    }

    @Test func cannedConnectionLeftOpen() throws {
        let canned = try CannedServer(
            reply: "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", holdOpen: .seconds(1))
        defer { canned.finish() }
        let client = try RawHTTPClient(port: canned.port)
        let response = try client.exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.status == 204)
        #expect(response.framing == .none)
        #expect(client.connectionState(within: .milliseconds(200)) == .open)
        #expect(client.connectionState(within: .seconds(3)) == .closed)
    }

    @Test func freePortsAreDistinctAndBindable() throws {
        let ports = try (0..<50).map { _ in try FreePort.next() }
        #expect(Set(ports).count == ports.count)
        #expect(ports.allSatisfy(FreePort.canBind))
    }

    @Test func deadlineFailsWithTheMessage() {
        let error = #expect(throws: HarnessError.self) {
            try Deadline.wait(for: "a condition that never holds", timeout: .milliseconds(50)) { false }
        }
        #expect(error?.description.contains("a condition that never holds") == true)
    }

    @Test func configRendersTheSameForBothServersExceptTheKnownDifferences() throws {
        let config = try TestConfig(mpm: .worker, extra: "Listen 127.0.0.1:@PORT@0")
        defer { config.root.remove() }
        let skep = config.render(for: .skep)
        let apache = config.render(for: .apache)
        #expect(skep.contains("LoadModule mpm_worker_module /usr/lib/apache2/modules/mod_mpm_worker.so"))
        // skep loads only the modules it has; Apache loads the full list.
        #expect(skep.contains("LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so"))
        #expect(!skep.contains("LoadModule mime_module"))
        #expect(apache.contains("LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so"))
        #expect(apache.contains("<IfModule !log_config_module>"))
        #expect(skep.contains("Listen 127.0.0.1:\(config.port)0"))
        #expect(!skep.contains("User www-data"))
        #expect(!skep.contains("DefaultRuntimeDir"))
        #expect(apache.contains("DefaultRuntimeDir"))
        #expect(apache.contains("User www-data") == (getuid() == 0))
        let apacheOnly = Set(apache.split(separator: "\n")).subtracting(skep.split(separator: "\n"))
        let skepLacks = Set(config.modules).subtracting(TestConfig.skepAvailableModules)
        func isModuleSkepLacks(_ line: Substring) -> Bool {
            skepLacks.contains { line.contains("LoadModule \($0)_module ") || line.contains("<IfModule !\($0)_module>") }
                || line == "</IfModule>"
        }
        #expect(apacheOnly.allSatisfy { $0.hasPrefix("User ") || $0.hasPrefix("Group ") || $0.hasPrefix("DefaultRuntimeDir ") || $0.hasPrefix("# Generated") || isModuleSkepLacks($0) }, "\(apacheOnly)")
    }
}
