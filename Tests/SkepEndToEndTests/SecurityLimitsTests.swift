import Foundation
import Testing

/// Issue 16's limits (the `sec-b` rows): configuration numbers that must be refused at
/// `-t` rather than trap a process, time values that must fit every wait, and the
/// request-side bounds that stop one request from crashing a child or exhausting it.
@Suite struct SecurityLimitsTests {
    // MARK: - Configuration numbers

    /// Values no numeric directive may take: garbage, `-`, empty, `inf`, `nan`, negative,
    /// a value past Int64 and one past nearly every bound Skep sets.
    static let badValues = ["abc", "-", "\"\"", "inf", "nan", "-1", "99999999999999999999", "9223372036854775807", "1x"]

    /// Every numeric directive, with `{}` where the value goes, and whether it takes the
    /// two values that are not bad for every directive: a negative one (Apache reads the
    /// MPM sizes with `atoi` and adjusts a negative one with a warning, as Skep does) and
    /// Int64's largest (`LimitRequestBody`'s own largest).
    static let numericDirectives: [(template: String, refusesNegative: Bool)] = [
        ("Timeout {}", true), ("KeepAliveTimeout {}", true), ("KeepAliveGrace {}", true), ("MaxKeepAliveRequests {}", true),
        ("LimitRequestLine {}", true), ("LimitRequestFieldSize {}", true), ("LimitRequestFields {}", true),
        ("LimitRequestBody {}", true), ("LimitInternalRecursion {}", true), ("LimitInternalRecursion 10 {}", true),
        ("FileCacheSize {}", true), ("ListenBacklog {}", true), ("ErrorDocument {} /x", true),
        ("StartServers {}", false), ("MinSpareThreads {}", false), ("MaxSpareThreads {}", false),
        ("ServerLimit {}", false), ("ThreadLimit {}", false), ("ThreadsPerChild {}", false),
        ("MaxRequestWorkers {}", false), ("MaxClients {}", false), ("MaxConnectionsPerChild {}", false),
        ("MaxRequestsPerChild {}", false),
        ("GracefulShutdownTimeout {}", true), ("GracefulRestartTimeout {}", true), ("RequestWatchdogTimeout {}", true),
        ("AsyncRequestWorkerFactor {}", true), ("IdleConnectionsPerChild {}", true),
        ("RequestReadTimeout header={}", true), ("RequestReadTimeout header=1-{}", true),
        ("RequestReadTimeout body=1,MinRate={}", true), ("ProxyTimeout {}", true),
        ("ProxyPass /p/ fcgi://127.0.0.1:9000/ timeout={}", true),
        ("ProxyPass /p/ fcgi://127.0.0.1:9000/ connectiontimeout={}", true),
        ("ProxyPass /p/ fcgi://127.0.0.1:9000/ flushwait={}", true),
        ("ProxyPass /p/ fcgi://127.0.0.1:9000/ max={}", true),
        ("ProxyPass /p/ fcgi://127.0.0.1:9000/ acquire={}", true),
        ("ProxySet fcgi://127.0.0.1:9000 timeout={}", true),
    ]

    static let configBase = """
        ServerRoot "@ROOT@"
        Listen 127.0.0.1:18999
        LoadModule mpm_event_module modules/mod_mpm_event.so
        LoadModule reqtimeout_module modules/mod_reqtimeout.so
        LoadModule proxy_module modules/mod_proxy.so
        LoadModule proxy_fcgi_module modules/mod_proxy_fcgi.so
        PidFile run/skep.pid
        ErrorLog logs/error_log

        """

    /// Each numeric directive fed each bad value: `skep -t` exits 1 (no signal) with
    /// `file:line:` and the directive's name, never "Syntax OK".
    @Test(.tags(.skepBinary), arguments: numericDirectives)
    func badNumbersAreConfigErrors(_ directive: (template: String, refusesNegative: Bool)) throws {
        let values = Self.badValues.filter {
            ($0 != "-1" || directive.refusesNegative) && ($0 != "9223372036854775807" || !directive.template.hasPrefix("LimitRequestBody"))
        }
        let name = String(directive.template.prefix { $0 != " " })
        for value in values {
            let line = directive.template.replacingOccurrences(of: "{}", with: value)
            let f = try CommandLineTests.Fixture(Self.configBase + line + "\n")
            let r = try f.skep(["-t"])
            #expect(r.status == 1 && !r.signaled, "\(line): \(r.statusText) \(r.stderr)")
            #expect(r.stderr.contains("\(f.config):9:"), "\(line): \(r.stderr)")
            #expect(r.stderr.contains(name) || r.stderr.contains("Proxy Timeout"), "\(line): \(r.stderr)")
            #expect(!r.stderr.contains("Syntax OK"), "\(line): \(r.stderr)")
        }
    }

    /// The longest times a directive accepts are served with, under prefork (whose
    /// children poll with `Timeout`) and event: no child traps on its first wait.
    @Test(arguments: [MPM.prefork, .event])
    func longestTimesServe(mpm: MPM) throws {
        var config = try TestConfig(mpm: mpm)
        config.extra = """
            Timeout 2147483
            KeepAliveTimeout 2147483
            RequestReadTimeout header=2147483 body=2147483
            """
        _ = try config.root.writeDocument("index.html", "hello\n")
        try withServer(.skep, config: config) { server in
            for _ in 0..<3 {
                let response = try FastCGIFixture.get(server, "/index.html")
                #expect(response.status == 200 && response.bodyText == "hello\n", "\(response)")
            }
            #expect(!server.errorLog().contains("AH00052"), "\(server.errorLog())")
            #expect(server.isRunning)
        }
    }

    // MARK: - Health after each attack

    /// A keep-alive connection opened before an attack, to show other connections kept
    /// working through it.
    static func openKeptConnection(_ server: ServerProcess) throws -> RawHTTPClient {
        let client = try RawHTTPClient(port: server.port, timeout: .seconds(15))
        let first = try client.exchange("GET /static.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(first.status == 200, "\(server.kind): before: \(first)")
        return client
    }

    /// After an attack: the connection opened before still answers, a new one too, the
    /// server runs, and no child died (Apache's AH00052 for a child killed by a signal).
    static func expectHealthy(
        _ server: ServerProcess, kept: RawHTTPClient, after what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let again = try kept.exchange("GET /static.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(again.status == 200 && again.bodyText == "static\n", "\(server.kind) after \(what), the kept connection: \(again)",
                    sourceLocation: sourceLocation)
            let fresh = try FastCGIFixture.get(server, "/static.txt")
            #expect(fresh.status == 200, "\(server.kind) after \(what), a new connection: \(fresh)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(server.kind) after \(what): \(error)\n\(server.diagnostics())", sourceLocation: sourceLocation)
        }
        #expect(server.isRunning, "\(server.kind) exited after \(what)", sourceLocation: sourceLocation)
        #expect(!server.errorLog().contains("AH00052"), "\(server.kind): a child died after \(what)\n\(server.errorLog().suffix(2000))",
                sourceLocation: sourceLocation)
    }

    // MARK: - FastCGI back ends

    typealias Fake = FakeFastCGIBackend

    /// A back end whose answer depends on the request's last path segment: the hostile
    /// answers of rows 4, 7 and 8, and a plain page otherwise.
    static func hostileReply(_ request: Fake.Request) -> [UInt8] {
        // SCRIPT_NAME: the path of the request being answered, an internal redirect's too.
        let name = (request.param("SCRIPT_NAME") ?? "").split(separator: "/").last.map(String.init) ?? ""
        switch name {
        case "loop":
            return Fake.stdout("Location: /fcgi/loop\r\n\r\n") + Fake.endRequest()
        case "status101":
            return Fake.response(head: "Status: 101 Switching Protocols", body: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged")
        case "status103":
            return Fake.response(head: "Status: 103 Early Hints\r\nLink: </x>", body: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged")
        case "long-line":
            return Fake.response(head: "Content-Type: text/plain\r\nX-Long: " + String(repeating: "a", count: 20_000), body: "body")
        case "many-lines":
            // 32 MiB of header lines, the reproduction's size.
            let lines = String(repeating: "X-Many: bbbbbbbbbbbbbbbbbbbbbbbbb\r\n", count: 32 * 1024 * 1024 / 34)
            return Fake.stdout("Content-Type: text/plain\r\n" + lines + "\r\nbody") + Fake.endRequest()
        default:
            return Fake.response(head: "Content-Type: text/plain", body: "fake ok\n")
        }
    }

    /// `kind` (event MPM) with `ProxyPass /fcgi/` and `ProxyPassMatch ^/m/(.*\.php)$` to a
    /// fake back end answering `hostileReply`, `/static.txt`, and `extra`.
    static func withFakeBackend(
        _ kind: ServerKind, extra: String = "", _ body: (ServerProcess, FakeFastCGIBackend) throws -> Void
    ) throws {
        let fake = try FakeFastCGIBackend(linger: .zero, reply: hostileReply)
        defer { fake.stop() }
        var config = try TestConfig(mpm: .event)
        config.modules = FastCGIFixture.modules
        config.extra = """
            ProxyPass "/fcgi/" "fcgi://127.0.0.1:\(fake.port)/srv/fcgi/"
            ProxyPassMatch "^/m/(.*\\.php)$" "fcgi://127.0.0.1:\(fake.port)/srv/m/$1"
            \(extra)
            """
        _ = try config.root.writeDocument("static.txt", "static\n")
        try withServer(kind, config: config) { server in try body(server, fake) }
    }

    /// Row 3: a decoded `?`, space, CR or LF in a `ProxyPass`/`ProxyPassMatch` path
    /// reaches the back end escaped in SCRIPT_FILENAME (mod_proxy_fcgi's canon), never
    /// as the byte itself; SCRIPT_NAME is the decoded URL path, REQUEST_URI the raw one,
    /// and there is no PATH_INFO: the variables Apache 2.4.71 sends, measured.
    @Test(arguments: FastCGIFixture.servers)
    func proxyPassPathIsEscapedForTheBackend(kind: ServerKind) throws {
        try Self.withFakeBackend(kind) { server, fake in
            let kept = try Self.openKeptConnection(server)
            defer { kept.close() }
            let cases: [(target: String, filename: String, scriptName: String)] = [
                ("/fcgi/evil.jpg%3f.php", "/srv/fcgi/evil.jpg%3F.php", "/fcgi/evil.jpg?.php"),
                ("/fcgi/a%20b%0d%0ac.php/x%3fy?q=1", "/srv/fcgi/a%20b%0D%0Ac.php/x%3Fy", "/fcgi/a b\r\nc.php/x?y"),
                ("/fcgi/p%25c~$!*'(),;:@&=+.php", "/srv/fcgi/p%25c~$!*'(),;:@&=+.php", "/fcgi/p%c~$!*'(),;:@&=+.php"),
                ("/m/evil.jpg%3f.php", "/srv/m/evil.jpg%3F.php", "/m/evil.jpg?.php"),
                ("/m/a%20b.php", "/srv/m/a%20b.php", "/m/a b.php"),
            ]
            for (target, filename, scriptName) in cases {
                let before = fake.requests.count
                let response = try FastCGIFixture.get(server, target)
                #expect(response.status == 200, "\(kind) \(target): \(response)")
                guard fake.requests.count == before + 1, let request = fake.requests.last else {
                    Issue.record("\(kind) \(target): the back end saw \(fake.requests.count - before) requests")
                    continue
                }
                #expect(request.param("SCRIPT_FILENAME") == "proxy:fcgi://127.0.0.1:\(fake.port)" + filename, "\(kind) \(target)")
                #expect(request.param("SCRIPT_NAME") == scriptName, "\(kind) \(target)")
                #expect(request.param("REQUEST_URI") == target, "\(kind) \(target)")
                #expect(request.param("PATH_INFO") == nil, "\(kind) \(target)")
            }
            Self.expectHealthy(server, kept: kept, after: "escaped paths")
        }
    }

    /// Row 7: a header line longer than Apache's 8 KiB is Apache's 500 ("malformed
    /// header", AH01070). 32 MiB of header lines is a 500 too, once LimitRequestFields
    /// lines have come, without reading the rest (Apache holds them all and answers 200
    /// with a 32 MiB head: skep alone).
    @Test(arguments: FastCGIFixture.servers)
    func endlessScriptHeadersAre500(kind: ServerKind) throws {
        try Self.withFakeBackend(kind) { server, fake in
            let kept = try Self.openKeptConnection(server)
            defer { kept.close() }
            let long = try FastCGIFixture.get(server, "/fcgi/long-line")
            #expect(long.status == 500, "\(kind): \(long)")
            FastCGIFixture.expectErrorLog(server, contains: "AH01070: Error parsing script headers")
            if kind == .skep {
                let start = ContinuousClock.now
                let many = try FastCGIFixture.get(server, "/fcgi/many-lines", timeout: .seconds(30))
                #expect(many.status == 500, "\(many)")
                // Generous: the point is no 20-second rescan, not a benchmark.
                #expect(ContinuousClock.now - start < .seconds(10))
                FastCGIFixture.expectErrorLog(server, contains: "more than 100 header lines")
            }
            Self.expectHealthy(server, kept: kept, after: "endless script headers")
            _ = fake
        }
    }

    /// Row 8: a back end's 1xx Status would put its body after an interim head, where a
    /// client reads it as a second response (Apache 2.4.71 does send `101` and then the
    /// body, chunked). Skep answers 502 and sends nothing of the body.
    @Test func interimStatusFromBackendIs502() throws {
        try Self.withFakeBackend(.skep) { server, _ in
            let kept = try Self.openKeptConnection(server)
            defer { kept.close() }
            for name in ["status101", "status103"] {
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(15))
                defer { client.close() }
                try client.send("GET /fcgi/\(name) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                let raw = String(decoding: try client.readUntilClose(timeout: .seconds(10)), as: UTF8.self)
                #expect(raw.hasPrefix("HTTP/1.1 502 "), "\(name): \(raw.prefix(300).debugDescription)")
                #expect(!raw.contains("forged"), "\(name): the back end's body reached the client")
                #expect(raw.components(separatedBy: "HTTP/1.1 ").count == 2, "one response only: \(raw.debugDescription)")
            }
            FastCGIFixture.expectErrorLog(server, contains: "interim status 101")
            Self.expectHealthy(server, kept: kept, after: "1xx statuses")
        }
    }

    /// Row 8 for handlers: an embedding module's handler that sets an interim (or a
    /// not three-digit) status is answered 500, its body never sent.
    @Test func handlerInterimStatusIs500() throws {
        let config = try EmbeddingTestSupport.config(.event, handlers: ["test-status"])
        _ = try config.root.writeDocument("static.txt", "static\n")
        try withServer(.testApp, config: config) { server in
            let kept = try Self.openKeptConnection(server)
            defer { kept.close() }
            for status in ["101", "100", "99", "1000", "-7"] {
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(15))
                defer { client.close() }
                try client.send("GET /test-status?\(status) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                let raw = String(decoding: try client.readUntilClose(timeout: .seconds(10)), as: UTF8.self)
                #expect(raw.hasPrefix("HTTP/1.1 500 "), "\(status): \(raw.prefix(300).debugDescription)")
                #expect(!raw.contains("forged"), "\(status): the handler's body reached the client")
            }
            let ok = try FastCGIFixture.get(server, "/test-status?299")
            #expect(ok.status == 299 && ok.bodyText.hasSuffix("forged"), "\(ok)")
            Self.expectHealthy(server, kept: kept, after: "interim statuses from a handler")
        }
    }

    /// Row 4: a back end answering `Location: /loop` (a CGI local redirect) to itself is
    /// followed `LimitInternalRecursion` times (default 10, as Apache), then answered 500
    /// with Apache's AH00124 line. (Apache's mod_proxy_fcgi makes no local redirects, so
    /// the oracle here is Apache's core limit, as mod_cgi meets it.)
    ///
    /// An `ErrorDocument` is an internal redirect too: one that leads into the loop stops
    /// a redirect earlier, and the client gets the original error.
    @Test(arguments: [nil, 3])
    func internalRedirectLoopStopsAtTheLimit(limit: Int?) throws {
        let extra = (limit.map { "LimitInternalRecursion \($0)\n" } ?? "") + "ErrorDocument 404 /fcgi/loop"
        let expected = limit ?? 10
        try Self.withFakeBackend(.skep, extra: extra) { server, fake in
            let kept = try Self.openKeptConnection(server)
            defer { kept.close() }
            // Counted from here: the harness's readiness probe met the ErrorDocument too.
            let start = fake.requests.count
            let response = try FastCGIFixture.get(server, "/fcgi/loop")
            #expect(response.status == 500, "\(response)")
            #expect(fake.requests.count - start == expected, "the back end saw \(fake.requests.count - start) requests")
            FastCGIFixture.expectErrorLog(
                server, contains: "AH00124: Request (/fcgi/loop) exceeded the limit of \(expected) internal redirects due to probable configuration error.")

            let next = fake.requests.count
            let missing = try FastCGIFixture.get(server, "/missing.txt")
            #expect(missing.status == 404, "\(missing)")
            #expect(fake.requests.count - next == expected - 1, "the back end saw \(fake.requests.count - next) requests")
            FastCGIFixture.expectErrorLog(server, contains: "AH00124: Request (/missing.txt) exceeded the limit")
            Self.expectHealthy(server, kept: kept, after: "a redirect loop")
        }
    }

    /// Row 6: `LimitRequestBody` is 1 GiB by default (Apache 2.4.54+): a Content-Length
    /// past it is 413 before any body is read, as Apache answers for a file.
    ///
    /// Apache 2.4.71 applies no `LimitRequestBody` to a `ProxyPass`ed FastCGI request
    /// (measured: it waits for a 1 GiB body, and passes a chunked one past a 1000-byte
    /// limit); skep applies it to every body, so a chunked POST to a script cannot grow
    /// its spool file without bound: those checks are skep's alone. `LimitRequestBody 0`
    /// still means no limit.
    @Test(arguments: FastCGIFixture.servers)
    func requestBodyLimitDefaultsTo1GiB(kind: ServerKind) throws {
        try Self.withFakeBackend(kind, extra: """
            <Location "/fcgi/small/">
                LimitRequestBody 1000
            </Location>
            <Location "/fcgi/open/">
                LimitRequestBody 0
            </Location>
            """) { server, fake in
            let kept = try Self.openKeptConnection(server)
            defer { kept.close() }
            for path in kind == .skep ? ["/static.txt", "/fcgi/x.php"] : ["/static.txt"] {
                let huge = try FastCGIFixture.exchange(server, "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1073741825\r\n\r\n")
                #expect(huge.status == 413, "\(kind) \(path): \(huge)")
            }
            Self.expectHealthy(server, kept: kept, after: "a Content-Length past the limit")
            guard kind == .skep else { return }

            let chunk = String(repeating: "z", count: 1500)
            let chunked = "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n0\r\n\r\n"
            let small = try FastCGIFixture.exchange(server, "POST /fcgi/small/x.php HTTP/1.1\r\nHost: 127.0.0.1\r\n" + chunked)
            #expect(small.status == 413, "\(small)")
            #expect(fake.requests.isEmpty, "a body past the limit reached the back end")
            let open = try FastCGIFixture.exchange(server, "POST /fcgi/open/x.php HTTP/1.1\r\nHost: 127.0.0.1\r\n" + chunked)
            #expect(open.status == 200, "\(open)")
            #expect(fake.requests.count == 1 && fake.requests.last?.stdin.count == 1500, "the back end got the body")
            Self.expectHealthy(server, kept: kept, after: "chunked bodies")
        }
    }

    // MARK: - File cache

    /// Row 2: a deep path under a missing directory (`/q` and 1000 `/a`, a 2 KB request,
    /// under event with its listener answering from the file cache) is 404 promptly, and
    /// once the path exists it is served at once: the cache's memory of the miss is exact.
    @Test(arguments: FastCGIFixture.servers)
    func deepMissingPathIs404AndFreshness(kind: ServerKind) throws {
        let config = try TestConfig(mpm: .event)
        _ = try config.root.writeDocument("static.txt", "static\n")
        let deep = "/q" + String(repeating: "/a", count: 1000)
        try withServer(kind, config: config) { server in
            let kept = try Self.openKeptConnection(server)
            defer { kept.close() }
            for _ in 0..<3 {
                let start = ContinuousClock.now
                let missing = try FastCGIFixture.get(server, deep + "/f.txt", timeout: .seconds(30))
                #expect(missing.status == 404, "\(kind): \(missing)")
                // Generous: seconds of CPU per request was the bug, not milliseconds.
                #expect(ContinuousClock.now - start < .seconds(5), "\(kind)")
            }
            // Asked on the kept connection too, so the listener has it remembered.
            let onKept = try kept.exchange("GET \(deep)/f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(onKept.status == 404, "\(kind): \(onKept)")

            try FileManager.default.createDirectory(atPath: config.root.docroot + deep, withIntermediateDirectories: true)
            try ListenerTestSupport.create(config.root.docroot + deep + "/f.txt", "deep\n")
            let found = try kept.exchange("GET \(deep)/f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(found.status == 200 && found.bodyText == "deep\n", "\(kind): created, then asked: \(found)")
            let fresh = try FastCGIFixture.get(server, deep + "/f.txt")
            #expect(fresh.status == 200 && fresh.bodyText == "deep\n", "\(kind): \(fresh)")
            Self.expectHealthy(server, kept: kept, after: "a deep missing path")
        }
    }
}
