import Foundation
import Glibc
import Testing

extension FastCGI {
    /// When the FastCGI side goes wrong: php-fpm down, a backend slower than the
    /// timeout, a backend that dies mid-response or speaks garbage (a fake backend), a
    /// client that gives up mid-upload. After every fault the server keeps serving.
    /// Statuses and error-log lines are Apache 2.4.71's, measured, except where skep
    /// differs on purpose (malformed records: 502, where Apache says 503).
    @Suite struct FastCGIFaultTests {
        typealias F = FastCGIFixture

        static let faultMPMs: [MPM] = [.event, .prefork]

        // MARK: - Backend down

        /// A missing socket or a closed port: 503, and an error-log line naming the
        /// backend (the socket's path, or host:port). Then php-fpm is stopped: 503 through
        /// both of its pools; static files are still served.
        @Test(arguments: F.servers, faultMPMs)
        func backendDownIs503AndLogged(kind: ServerKind, mpm: MPM) throws {
            let closedPort = try FreePort.next()
            try F.withServer(kind, mpm: mpm, extra: { fpm in
                """
                \(F.unixHandler(fpm))
                \(F.tcpDirectory(fpm))
                <Directory "@DOCROOT@/nosocket">
                    <FilesMatch "\\.php$">
                        SetHandler "proxy:unix:@ROOT@/run/missing-fpm.sock|fcgi://localhost"
                    </FilesMatch>
                </Directory>
                <Directory "@DOCROOT@/noport">
                    <FilesMatch "\\.php$">
                        SetHandler "proxy:fcgi://127.0.0.1:\(closedPort)"
                    </FilesMatch>
                </Directory>
                """
            }, setUp: { config in
                for dir in ["tcp", "nosocket", "noport"] {
                    try config.root.writeDocument("\(dir)/hello.php", F.scripts["hello.php"]!)
                }
                try config.root.writeDocument("tcp/env.php", F.envScript)
            }) { server, fpm in
                let missingSocket = server.config.root.run + "/missing-fpm.sock"
                let noSocket = try F.get(server, "/nosocket/hello.php")
                #expect(noSocket.status == 503, "\(kind): \(noSocket)")
                F.expectErrorLog(server, contains: missingSocket)
                F.expectStillServing(server, after: "a missing socket")

                let noPort = try F.get(server, "/noport/hello.php")
                #expect(noPort.status == 503, "\(kind): \(noPort)")
                F.expectErrorLog(server, contains: "127.0.0.1:\(closedPort)")
                F.expectStillServing(server, after: "a closed port", path: "/tcp/hello.php")
                // The <Directory>'s own <FilesMatch> wins over the server's.
                let (tcpEnv, _) = try F.environment(server, "/tcp/env.php")
                #expect(tcpEnv["FPM_POOL"] == "tcp", "\(kind): /tcp/ goes to the TCP pool")

                // php-fpm goes away (it removes its socket on the way out).
                fpm.stop()
                let unix = try F.get(server, "/hello.php")
                #expect(unix.status == 503, "\(kind): php-fpm down, unix socket: \(unix)")
                F.expectErrorLog(server, contains: fpm.socketPath)
                let tcp = try F.get(server, "/tcp/hello.php")
                #expect(tcp.status == 503, "\(kind): php-fpm down, TCP: \(tcp)")
                F.expectErrorLog(server, contains: fpm.tcpAddress)
                F.expectStillServing(server, after: "php-fpm went down", path: "/static.txt", body: "static file\n")
            }
        }

        // MARK: - Timeouts

        /// A script that sleeps 3 s behind a 1-second timeout: 504 after about 1 s, whether
        /// the timeout comes from `ProxyTimeout`, a `ProxyPass` worker parameter or
        /// `<Proxy> ProxySet`; a worker without a short timeout waits for the script.
        @Test(arguments: F.servers)
        func slowBackendIs504(kind: ServerKind) throws {
            // ProxyTimeout, for the handler's default worker.
            try F.withServer(kind, extra: { fpm in "ProxyTimeout 1\n" + F.unixHandler(fpm) }) { server, _ in
                try expectTimeout(server, "/sleep.php?s=3", kind: kind, what: "ProxyTimeout 1")
                F.expectStillServing(server, after: "a ProxyTimeout 504")
            }
            // Worker parameters: timeout= on ProxyPass, and ProxySet in <Proxy> for the TCP
            // handler. (Worker names must differ: a second ProxyPass to the same URL shares
            // the first one's worker and its parameters, in Apache.)
            try F.withServer(kind, extra: { fpm in
                """
                \(F.tcpHandler(fpm))
                <Proxy "fcgi://\(fpm.tcpAddress)">
                    ProxySet timeout=1
                </Proxy>
                ProxyPass "/pp/" "fcgi://\(fpm.tcpAddress)@DOCROOT@/ppdir/" timeout=1
                ProxyPass "/patient/" "unix:\(fpm.socketPath)|fcgi://localhost@DOCROOT@/"
                """
            }, setUp: { config in
                try config.root.writeDocument("ppdir/sleep.php", F.sleepScript)
                try config.root.writeDocument("ppdir/hello.php", F.scripts["hello.php"]!)
            }) { server, _ in
                try expectTimeout(server, "/pp/sleep.php?s=3", kind: kind, what: "ProxyPass timeout=1")
                F.expectStillServing(server, after: "a ProxyPass timeout", path: "/pp/hello.php")
                try expectTimeout(server, "/sleep.php?s=3", kind: kind, what: "ProxySet timeout=1")
                F.expectStillServing(server, after: "a ProxySet timeout", path: "/patient/hello.php")
                // A worker without a short timeout: a 1.5 s script completes.
                let patient = try F.get(server, "/patient/sleep.php?s=1.5")
                #expect(patient.status == 200, "\(kind): no timeout on /patient/: \(patient)")
                #expect(patient.bodyText == "slept 1.5\n", "\(kind)")
            }
        }

        func expectTimeout(_ server: ServerProcess, _ path: String, kind: ServerKind, what: String,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
            let start = ContinuousClock.now
            let response = try F.get(server, path)
            let elapsed = ContinuousClock.now - start
            #expect(response.status == 504, "\(kind), \(what): \(response)", sourceLocation: sourceLocation)
            #expect(elapsed >= .milliseconds(900) && elapsed < .milliseconds(2800),
                    "\(kind), \(what): answered after \(elapsed) (timeout 1 s, script 3 s)", sourceLocation: sourceLocation)
        }

        // MARK: - A fake backend

        /// The fake's answers, chosen by the request's REQUEST_URI.
        static func fakeReply(_ request: FakeFastCGIBackend.Request) -> [UInt8] {
            typealias B = FakeFastCGIBackend
            let uri = request.param("REQUEST_URI") ?? ""
            let id = request.requestID
            switch uri {
            case "/fake/truncated":
                // Headers and part of a body, then the backend closes (no END_REQUEST).
                return B.stdout("Content-Type: text/plain\r\n\r\n" + String(repeating: "x", count: 100), id: id)
            case "/fake/truncated-length":
                return B.stdout("Content-Type: text/plain\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "y", count: 100), id: id)
            case "/fake/bad-version":
                return B.record(.stdout, id: id, Array("Content-Type: text/plain\r\n\r\nhello".utf8), version: 2)
            case "/fake/not-fastcgi":
                return Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8)
            case "/fake/empty":
                return []
            case "/fake/local-redirect":
                return B.stdout("Location: /static.txt\r\n\r\n", id: id) + B.endRequest(id: id)
            default:
                return B.response(head: "Content-Type: text/plain", body: "fake ok\n", id: id)
            }
        }

        /// Starts a fake backend and `kind` with `ProxyPass /fake/ fcgi://127.0.0.1:FAKE/fake/`
        /// (and php-fpm behind *.php).
        func withFake(_ kind: ServerKind, extra: String = "",
                      _ body: (ServerProcess, FakeFastCGIBackend) throws -> Void) throws {
            let fake = try FakeFastCGIBackend(reply: Self.fakeReply)
            defer { fake.stop() }
            try F.withServer(kind, extra: { fpm in
                """
                \(F.unixHandler(fpm))
                ProxyPass "/fake/" "fcgi://127.0.0.1:\(fake.port)/fake/"
                \(extra)
                """
            }) { server, _ in
                try body(server, fake)
            }
        }

        /// The backend closes in the middle of a response: the client gets the status and
        /// the bytes sent so far, then its connection is closed, and the response is
        /// visibly incomplete (a chunked body without its last chunk, or fewer bytes than
        /// Content-Length). Apache turns the backend's Content-Length into chunked, and
        /// closes only after KeepAliveTimeout.
        @Test(arguments: F.servers)
        func backendClosingMidResponseCutsTheClientOff(kind: ServerKind) throws {
            try withFake(kind, extra: "KeepAliveTimeout 2") { server, fake in
                for (path, sent) in [("/fake/truncated", 100), ("/fake/truncated-length", 100)] {
                    let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                    defer { client.close() }
                    try client.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    let start = ContinuousClock.now
                    let raw: [UInt8]
                    do {
                        raw = try client.readUntilClose(timeout: .seconds(8))
                    } catch {
                        Issue.record("\(kind) \(path): the connection stayed open: \(error)")
                        continue
                    }
                    let elapsed = ContinuousClock.now - start
                    let verdict = Self.incompleteness(raw, sent: sent)
                    #expect(verdict.incomplete, "\(kind) \(path): \(verdict.description)")
                    // Apache closes once KeepAliveTimeout (2 s here) has passed.
                    #expect(elapsed < .seconds(4), "\(kind) \(path): closed after \(elapsed)")
                }
                #expect(fake.requests.count == 2, "\(kind): the fake saw \(fake.requests.count) requests")
                F.expectStillServing(server, after: "a backend died mid-response", path: "/fake/ok", body: "fake ok\n")
                F.expectStillServing(server, after: "a backend died mid-response")
            }
        }

        /// Whether `raw` (a whole connection's bytes) holds a 200 response that is visibly
        /// cut short, with what it saw.
        static func incompleteness(_ raw: [UInt8], sent: Int) -> (incomplete: Bool, description: String) {
            let text = String(decoding: raw, as: UTF8.self)
            guard let headEnd = FastCGIFixture.Timed.find(Array("\r\n\r\n".utf8), in: raw, from: 0) else {
                return (false, "no response head: \(text.prefix(300).debugDescription)")
            }
            guard let head = try? HTTPResponse.parseHead(String(decoding: raw[..<headEnd], as: UTF8.self)) else {
                return (false, "bad head: \(text.prefix(300).debugDescription)")
            }
            let body = Array(raw[(headEnd + 4)...])
            let shown = "\(head.status), \(head.headers), body \(String(decoding: body.prefix(400), as: UTF8.self).debugDescription)"
            guard head.status == 200 else { return (false, "status \(head.status), not the backend's 200: \(shown)") }
            if head.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
                let ended = String(decoding: body, as: UTF8.self).hasSuffix("0\r\n\r\n")
                return (!ended, "chunked, \(ended ? "with" : "without") the last chunk: \(shown)")
            }
            if let length = head.header("Content-Length").flatMap({ Int($0) }) {
                return (body.count < length, "Content-Length \(length), \(body.count) bytes: \(shown)")
            }
            return (false, "delimited by the close, which looks complete to the client: \(shown)")
        }

        /// Records that are not FastCGI 1 (a bad version byte; an HTTP response), and a
        /// backend that closes without a byte: Apache answers 503 (AH01068 "Got bogus
        /// version N"; AH01067 "Failed to read FastCGI header"); skep answers 502 Bad
        /// Gateway, on purpose (README: the back end answered, badly).
        @Test(arguments: F.servers)
        func malformedRecordsAre502(kind: ServerKind) throws {
            try withFake(kind) { server, _ in
                let malformedStatus = kind == .apache ? 503 : 502
                for path in ["/fake/bad-version", "/fake/not-fastcgi"] {
                    let response = try F.get(server, path)
                    #expect(response.status == malformedStatus, "\(kind) \(path): \(response)")
                    #expect(!response.bodyText.contains("hello"), "\(kind) \(path): the backend's bytes leaked to the client")
                    F.expectStillServing(server, after: path, path: "/fake/ok", body: "fake ok\n")
                }
                let empty = try F.get(server, "/fake/empty")
                #expect(empty.status == malformedStatus, "\(kind): \(empty)")
                F.expectStillServing(server, after: "an empty reply", path: "/fake/ok", body: "fake ok\n")
                F.expectStillServing(server, after: "malformed replies")
            }
        }

        /// A backend answering with only `Location: /static.txt` (the CGI "local redirect"
        /// of RFC 3875 6.2.2). Apache 2.4.71's mod_proxy_fcgi does not follow it: the
        /// client gets a 200 with that Location and an empty body. skep follows it, as
        /// mod_cgi does and as issue #4 asks (a deliberate difference): the client gets
        /// /static.txt with 200 and no Location.
        @Test(arguments: F.servers)
        func localRedirectFromTheBackend(kind: ServerKind) throws {
            try withFake(kind) { server, _ in
                let response = try F.get(server, "/fake/local-redirect")
                #expect(response.status == 200, "\(kind): \(response)")
                if kind == .apache {
                    #expect(response.header("Location") == "/static.txt", "\(kind)")
                    #expect(response.body.isEmpty, "\(kind): \(response.bodyText.prefix(200).debugDescription)")
                } else {
                    #expect(response.header("Location") == nil, "\(kind)")
                    #expect(response.bodyText == "static file\n", "\(kind): the local redirect's target")
                }
                F.expectStillServing(server, after: "a local redirect")
            }
        }

        // MARK: - Clients that give up

        /// Clients that send part of a large POST body and go away (FIN, then RST):
        /// nothing goes down; a complete upload and a plain request work afterwards.
        @Test(arguments: F.servers, faultMPMs)
        func clientDisconnectingMidUploadHarmsNothing(kind: ServerKind, mpm: MPM) throws {
            try F.withServer(kind, mpm: mpm, extra: F.unixHandler) { server, fpm in
                let part = [UInt8](repeating: UInt8(ascii: "z"), count: 256 * 1024)
                for round in 0..<4 {
                    let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                    try client.send("POST /post.php HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: \(2 * 1024 * 1024)\r\n\r\n")
                    try client.send(part)
                    if round % 2 == 1 { client.abortOnClose() }
                    client.close()
                }
                F.expectStillServing(server, after: "clients gave up mid-upload")
                let body = [UInt8](repeating: UInt8(ascii: "q"), count: 100_000)
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(15))
                defer { client.close() }
                try client.send("POST /post.php HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n")
                try client.send(body)
                let json = try F.json(client.readResponse())
                #expect(json["input_length"] as? Int == body.count, "\(kind): a complete upload afterwards")
                #expect(json["input_crc"] as? String == F.crc32(body), "\(kind)")
                #expect(server.isRunning, "\(kind)")
                #expect(fpm.isRunning, "php-fpm")
            }
        }
    }
}
