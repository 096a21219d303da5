import Foundation
import Glibc
import Testing

/// Issue 16: no request can crash a child, reach the wrong file, forge a log line or
/// exhaust the server. Each test sends the bytes that did harm to the real server, checks
/// the answer against Apache's on the same config (or the safe answer where Apache has
/// none), that no child died (no AH00052 in the error log), and that a connection opened
/// before the attack is still served.
@Suite(.serialized, .tags(.skepBinary, .apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"),
       .timeLimit(.minutes(10)))
struct SecurityTests {
    /// The modules both servers load: the default ones (skep has them all).
    static func setUp(_ config: inout TestConfig, extra: String) throws {
        config.skepModules = config.modules
        config.extra = extra
        try config.root.writeDocument("file.txt", "Hello, world!\n")
        try config.root.writeDocument("dir/index.html", "<p>dir index</p>\n")
    }

    /// A keep-alive connection that has been served once; `stillServed` proves the
    /// process behind it survived what came in between.
    struct Bystander {
        let client: RawHTTPClient
        let port: UInt16

        init(_ server: ServerProcess) throws {
            port = server.port
            client = try RawHTTPClient(port: server.port)
            let first = try client.exchange(Self.request)
            #expect(first.status == 200)
        }

        static let request = "GET /file.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

        /// The kept connection and a new one both answer.
        func expectStillServed(_ server: ServerProcess, sourceLocation: SourceLocation = #_sourceLocation) throws {
            defer { client.close() }
            let again = try client.exchange(Self.request)
            #expect(again.status == 200, "the connection opened before the attack", sourceLocation: sourceLocation)
            let fresh = try EngineFixture.exchange(server, Self.request)
            #expect(fresh.status == 200, sourceLocation: sourceLocation)
            #expect(!server.errorLog().contains("AH00052"), "a child died:\n\(server.diagnostics())",
                    sourceLocation: sourceLocation)
        }
    }

    /// One response to `bytes` on a new connection (`method`: how to read its body).
    static func answer(_ server: ServerProcess, _ bytes: [UInt8], method: String = "GET") throws -> HTTPResponse? {
        try Differential.outcome(port: server.port, sending: bytes, methods: [method]).responses.first
    }

    static func answer(_ server: ServerProcess, _ text: String) throws -> HTTPResponse? {
        let method = text.prefix { $0 != " " }
        return try answer(server, Array(text.utf8), method: method == "HEAD" ? "HEAD" : "GET")
    }

    // MARK: - Row 1: a decoded CR/LF in a response header

    /// `Redirect` re-escapes the decoded rest of the path (`%0a` stays `%0a`), as Apache's
    /// mod_alias; `RedirectMatch` keeps the query as substituted, so a decoded CR/LF there
    /// makes an invalid `Location` that Apache refuses with a logged 500, and a fold (CRLF
    /// and a blank) is unfolded to a space. Under event and prefork, no child dies.
    @Test(arguments: [MPM.event, .prefork])
    func aDecodedLineBreakInARedirectIsEscapedOrRefusedAsApache(mpm: MPM) throws {
        let extra = """
            Redirect /old http://x/new
            RedirectMatch ^/rm/(.*)$ http://x/q?v=$1
            """
        try withServerPair(mpm: mpm, setUp: { try Self.setUp(&$0, extra: extra) }) { skep, apache in
            let bystander = try Bystander(skep)
            for target in ["/old/%0a", "/old/%0d%0aSet-Cookie:%20x=1", "/old/a%20b%22%3f%25%c3%a9%7f", "/old/%1b[31m",
                           "/rm/%0d%0aX:%20y", "/rm/a%0ab", "/rm/a%0d%0a%20b", "/rm/%00x"] {
                let request = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                let ours = try #require(try Self.answer(skep, request), "no answer to \(target)")
                let theirs = try #require(try Self.answer(apache, request), "Apache: no answer to \(target)")
                #expect(ours.status == theirs.status, "\(target): skep \(ours.status), Apache \(theirs.status)")
                #expect(ours.header("Location") == theirs.header("Location"), "\(target)")
                #expect(!(ours.header("Location") ?? "").contains { $0 == "\r" || $0 == "\n" }, "\(target)")
                #expect(ours.header("Set-Cookie") == nil && ours.header("X") == nil, "\(target): the head was split")
            }
            try Deadline.wait(for: "AH02430 in the error log\n\(skep.diagnostics())") {
                skep.errorLog().contains("[http:error]") && skep.errorLog().contains("AH02430: Response header 'Location' value of ")
            }
            try bystander.expectStillServed(skep)
        }
    }

    /// A handler of the `Skep` library that copies the decoded path into a header field
    /// name or value, or answers with status 42: a logged 500, never a trap or a split head.
    @Test func aHandlersBadHeaderIsRefusedWith500AndLogged() throws {
        let config = try EmbeddingTestSupport.config(.event, handlers: ["header-from-path", "test-echo"])
        try config.root.writeDocument("file.txt", "Hello, world!\n")
        try withServer(.testApp, config: config) { server in
            let bystander = try Bystander(server)
            for (target, logged) in [("/header-from-path/%0d%0aSet-Cookie:%20x", "AH02430"),
                                     ("/header-from-path/a%0ab", "AH02430"),
                                     ("/header-from-path/a%20b?name", "AH02429"),
                                     ("/header-from-path/x?status", "status 42"),
                                     ("/header-from-path/x?fail", "status -1")] {
                let response = try #require(try Self.answer(server, "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
                #expect(response.status == 500, "\(target)")
                #expect(response.header("Set-Cookie") == nil && response.header("X-Path") == nil, "\(target)")
                try Deadline.wait(for: "\(logged) in the error log\n\(server.diagnostics())") {
                    server.errorLog().contains("[test_module:error]") && server.errorLog().contains(logged)
                }
            }
            // A fold is unfolded, as Apache does, and the field sent.
            let folded = try #require(try Self.answer(server, "GET /header-from-path/a%0d%0a%09b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
            #expect(folded.status == 200)
            #expect(folded.header("X-Path") == "/header-from-path/a b")
            try bystander.expectStillServed(server)
        }
    }

    // MARK: - Row 5: error-log lines cannot be forged

    /// The path in AH01630 and a FastCGI back end's stderr are escaped as Apache's
    /// `ap_escape_errorlog_item`: control bytes as `\n`, `\x1b`..., `\` doubled, `"` kept.
    /// Both servers' messages are compared, and neither writes a raw ESC or a second line.
    @Test func errorLogMessagesAreEscapedAsApache() throws {
        let fake = try FakeFastCGIBackend { _ in
            FakeFastCGIBackend.record(.stderr, Array("first\n[Mon Dec 07 00:00:00.000000 2026] [core:emerg] FORGED\u{1b}[31m\r\n".utf8))
                + FakeFastCGIBackend.response(head: "Content-Type: text/plain\r\n", body: "ok\n")
        }
        defer { fake.stop() }
        let extra = """
            <Directory "@DOCROOT@/denied">
                Require all denied
            </Directory>
            ProxyPass "/fake/" "fcgi://127.0.0.1:\(fake.port)/"
            """
        try withServerPair(setUp: { config in
            config.modules += ["proxy", "proxy_fcgi"]
            try Self.setUp(&config, extra: extra)
            try config.root.writeDocument("denied/x", "secret\n")
        }) { skep, apache in
            let bystander = try Bystander(skep)
            let denied = "GET /denied/x%0a[Mon%20Dec%2007%2000:00:00.000000%202026]%20[core:emerg]%20FORGED%1b[31m%22q%5c%c3%a9 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            let fcgi = "GET /fake/script HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            for server in [skep, apache] {
                #expect(try Self.answer(server, denied)?.status == 403)
                #expect(try Self.answer(server, fcgi)?.status == 200)
            }
            /// The message after `marker` on the line that has it, the docroot cut out.
            func message(_ server: ServerProcess, _ marker: String) throws -> String {
                try Deadline.waitForValue("\(marker) in \(server.kind)'s error log") {
                    server.errorLog().split(separator: "\n").first { $0.contains(marker) }.map {
                        String($0[$0.range(of: marker)!.lowerBound...]).replacingOccurrences(of: server.config.root.docroot, with: "DOCROOT")
                    }
                }
            }
            // Apache's AH01071 keeps the trailing CRLF and has no script name, so only
            // AH01630 is compared whole; both are checked for escaping.
            let ours = try message(skep, "AH01630: "), theirs = try message(apache, "AH01630: ")
            #expect(ours == theirs, "skep: \(ours)\nApache: \(theirs)")
            #expect(try message(apache, "AH01071: ").hasPrefix(#"AH01071: Got error 'first\n[Mon Dec 07 00:00:00.000000 2026] [core:emerg] FORGED\x1b[31m"#))
            #expect(try message(skep, "AH01630: ").hasSuffix(#"DOCROOT/denied/x\n[Mon Dec 07 00:00:00.000000 2026] [core:emerg] FORGED\x1b[31m"q\\\xc3\xa9"#))
            let fcgiMessage = try message(skep, "AH01071: ")
            #expect(fcgiMessage.hasPrefix(#"AH01071: Got error 'first\n[Mon Dec 07 00:00:00.000000 2026] [core:emerg] FORGED\x1b[31m"#), "\(fcgiMessage)")
            let log = skep.errorLog()
            #expect(!log.utf8.contains(0x1B), "a raw ESC in the error log")
            #expect(!log.split(separator: "\n").contains { $0.hasPrefix("[Mon Dec 07 00:00:00.000000 2026]") }, "a forged line")
            try bystander.expectStillServed(skep)
        }
    }

    // MARK: - Row 9: DirectorySlash builds its URL from validated parts

    /// The `DirectorySlash` redirect names the host of an absolute-form target (never the
    /// `Host` field then), the validated `Host` otherwise (an invalid one is a 400), the
    /// port the client named (none: `ServerName`'s, else 80), as Apache's `ap_construct_url`.
    @Test func directorySlashRedirectsToTheHostApacheWould() throws {
        try withServerPair(setUp: { try Self.setUp(&$0, extra: "") }) { skep, apache in
            let bystander = try Bystander(skep)
            for request in ["GET http://good/dir HTTP/1.1\r\nHost: evil.example/phish?\r\n",
                            "GET http://Good:8080/dir?a=b HTTP/1.1\r\nHost: x\r\n",
                            "GET http://good/dir HTTP/1.1\r\nHost:\r\n",
                            "GET /dir HTTP/1.1\r\nHost: evil.example/phish?\r\n",
                            "GET /dir HTTP/1.1\r\nHost: Evil.EXAMPLE:8080\r\n",
                            "GET /dir HTTP/1.1\r\nHost: [::1]\r\n",
                            "GET /dir HTTP/1.1\r\nHost: x.:80\r\n",
                            "GET /dir HTTP/1.1\r\nHost: a\"b\r\n",
                            "GET /dir HTTP/1.0\r\n"] {
                let text = request + "Connection: close\r\n\r\n"
                let ours = try #require(try Self.answer(skep, text), "no answer to \(request.debugDescription)")
                let theirs = try #require(try Self.answer(apache, text))
                #expect(ours.status == theirs.status, "\(request.debugDescription): skep \(ours.status), Apache \(theirs.status)")
                #expect(ours.header("Location") == theirs.header("Location"), "\(request.debugDescription)")
            }
            try bystander.expectStillServed(skep)
        }
    }

    // MARK: - Row 10: heads refused while reading are logged

    /// A TLS ClientHello on the plain port, an HTTP/2 preface, a control byte in the method,
    /// an invalid `Host` after other fields, a malformed field, a 414: each is in the access
    /// log, in the common and the combined format, byte for byte as Apache writes it (the
    /// time aside).
    @Test func headsRefusedWhileReadingAreLoggedAsApache() throws {
        let combined = #"%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""#
        let inputs: [[UInt8]] = [
            [0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03] + Array("abcdefgh\r\n".utf8),
            Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8),
            Array("G\u{1}T / HTTP/1.1\r\nHost: a\r\n\r\n".utf8),
            Array("GET /x\"y\\z HTTP/1.1\r\nHost: a b\r\nUser-Agent: u\"a\\\r\nReferer: r\u{7f}\r\n\r\n".utf8),
            Array("GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: ua\r\nBad Header: x\r\n\r\n".utf8),
            Array("GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n".utf8),
            Array("GET /x HTTP/1.1\r\n folded\r\nHost: a\r\n\r\n".utf8),
            Array("GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: ua\r\nX: a\u{0}b\r\n\r\n".utf8),
            Array(("GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: ua\r\nX: " + String(repeating: "b", count: 9000) + "\r\n\r\n").utf8),
            Array(("GET /x HTTP/1.1\r\nHost: a\r\n" + (0..<120).map { "X-\($0): v\r\n" }.joined() + "\r\n").utf8),
            Array(("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n").utf8),
        ]
        try withServerPair(setUp: { config in
            try Self.setUp(&config, extra: #"CustomLog "@LOGS@/combined.log" "\#(combined)""#)
        }) { skep, apache in
            let bystander = try Bystander(skep)
            for input in inputs {
                let ours = try Self.answer(skep, input), theirs = try Self.answer(apache, input)
                #expect(ours?.status == theirs?.status, "\(String(decoding: input.prefix(40), as: UTF8.self).debugDescription)")
            }
            // `%O` counts the `Server` field, whose value differs (Skep's banner is its
            // own): each server's banner length is taken off its `%O`.
            let banners = try [skep, apache].map { try #require(try EngineFixture.get($0, "/file.txt").header("Server")).utf8.count }
            /// Log lines without the probe, the bystander and the time; in the combined
            /// format, `%O` less the banner.
            func lines(_ server: ServerProcess, _ file: String, banner: Int) throws -> [String] {
                try Deadline.waitForValue("\(inputs.count) refusals in \(server.kind)'s \(file)") {
                    let all = server.config.root.read(server.config.root.logs + "/" + file).split(separator: "\n")
                        .filter { !$0.contains(ServerProcess.probeTarget) && !$0.contains("/file.txt") }
                        .map { $0.replacingOccurrences(of: #"\[[^\]]*\] "#, with: "[TIME] ", options: .regularExpression) }
                        .map { line -> String in
                            // `"%r" %>s %O "`: the first unescaped quote followed by status and bytes.
                            let pattern = try! NSRegularExpression(pattern: #"(?<!\\)" (\d{3}) (\d+) ""#)  // a constant pattern
                            guard file == "combined.log",
                                  let match = pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)),
                                  let range = Range(match.range(at: 2), in: line), let sent = Int(line[range]) else { return line }
                            return line.replacingCharacters(in: range, with: String(sent - banner))
                        }
                    return all.count >= inputs.count ? all : nil
                }
            }
            for file in ["access.log", "combined.log"] {
                let ours = try lines(skep, file, banner: banners[0]), theirs = try lines(apache, file, banner: banners[1])
                // Compared as a Bool: the 414's line is 8 KiB, only differing lines are shown.
                let differing = zip(ours, theirs).filter { $0 != $1 }.map { "skep:   \($0.prefix(160))\nApache: \($1.prefix(160))" }
                let same = ours.count == theirs.count && differing.isEmpty
                #expect(same, "\(file): \(ours.count) vs \(theirs.count) lines\n\(differing.joined(separator: "\n"))")
            }
            try bystander.expectStillServed(skep)
        }
    }

    /// A head cut short by `RequestReadTimeout`: a 408, logged with the request line and
    /// the fields that arrived, as Apache logs it.
    @Test func aHeadCutShortByTheTimeoutIsLoggedAsApache() throws {
        let combined = #"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\""#
        try withServerPair(setUp: { config in
            config.accessLogFormat = combined
            try Self.setUp(&config, extra: "RequestReadTimeout header=1 body=5")
        }) { skep, apache in
            let bystander = try Bystander(skep)
            var lines: [String] = []
            for server in [skep, apache] {
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                defer { client.close() }
                try client.send("GET /x HTTP/1.1\r\nUser-Agent: slow\r\nReferer: r")
                let response = try client.readResponseOrClose()
                #expect(response?.status == 408, "\(server.kind)")
                lines.append(try Deadline.waitForValue("the 408 in \(server.kind)'s access log") {
                    server.accessLogLines().first { $0.contains("\" 408 ") }
                        .map { $0.replacingOccurrences(of: #"\[[^\]]*\] "#, with: "[TIME] ", options: .regularExpression) }
                })
            }
            #expect(lines[0] == lines[1], "skep: \(lines[0])\nApache: \(lines[1])")
            try bystander.expectStillServed(skep)
        }
    }

    // MARK: - Row 13: Require ip

    /// Every form APR's `apr_ipsubnet_create` refuses fails the config with
    /// `file:line: ip address '...' appears to be invalid...` (Apache's words) and exit 1;
    /// every form it accepts is accepted, and matches as Apache's does.
    @Test func requireIPTakesWhatApacheTakes() throws {
        let refused = ["10.0.0.0/-1", "10.0.0.0/0", "0.0.0.0/0", "10.0.0.0/33", "::1/129", "::1/0", "10.1/16",
                       "::1/255.0.0.0", "::ffff:1.2.3.4", "garbage", "1.2.3.4.5", "10.0.0.0/", "256.1", "10.0.0.0/8x",
                       ":::", "10..1", ".10", "fe80::1%eth0", "10.0.0.0/1.2.3", "1.2.3.4/99999999999999999999"]
        let accepted = ["10.0.0.0/32", "10.0.0.0/1", "::1/128", "::/1", "10.1", "10.1.", "10", "1.2.3",
                        "10.0.0.0/255.0.255.0", "10.0.0.0/+8", "127.0.0.1", "::1", "2001:db8::/32"]
        for (words, ok) in refused.map({ ($0, false) }) + accepted.map({ ($0, true) }) {
            var config = try TestConfig(extra: "<Location /z>\n    Require ip \(words)\n</Location>")
            defer { config.root.remove() }
            config.skepModules = config.modules
            let ours = try ServerBinary.configtest(.skep, configPath: config.write(for: .skep))
            let theirs = try Oracle.configtest(config)
            #expect((ours.status == 0) == ok && (theirs.status == 0) == ok,
                    "\(words): skep \(ours.status) \(ours.stderr), Apache \(theirs.status) \(theirs.stderr)")
            if !ok {
                #expect(ours.status == 1, "\(words)")
                let line = config.render(for: .skep).split(separator: "\n", omittingEmptySubsequences: false)
                    .firstIndex { $0.contains("Require ip") }.map { $0 + 1 } ?? 0
                #expect(ours.stderr.contains("\(config.configPath(for: .skep)):\(line): ip address '\(words)' appears to be invalid"),
                        "\(words): \(ours.stderr)")
                // Apache's reason, word for word.
                let reason = theirs.stderr.range(of: "appears to be invalid").map { String(theirs.stderr[$0.lowerBound...]) }
                    .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                #expect(reason.map { ours.stderr.contains($0) } == true, "\(words): skep \(ours.stderr), Apache \(theirs.stderr)")
            }
        }
        // What grants and what does not, for a client at 127.0.0.1.
        let extra = """
            <Location /grant-mask>
                Require ip 127.0.0.0/255.0.255.0
            </Location>
            <Location /grant-partial>
                Require ip 127.
            </Location>
            <Location /deny-mask>
                Require ip 127.0.0.0/255.255.0.255
            </Location>
            <Location /grant-prefix>
                Require ip 10.0.0.0/1
            </Location>
            <Location /deny-prefix>
                Require ip 128.0.0.0/1
            </Location>
            <Location /deny-v6>
                Require ip ::1/128
            </Location>
            """
        try withServerPair(setUp: { try Self.setUp(&$0, extra: extra) }) { skep, apache in
            for path in ["/grant-mask", "/grant-partial", "/grant-prefix", "/deny-mask", "/deny-prefix", "/deny-v6"] {
                let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                let ours = try Self.answer(skep, request)?.status, theirs = try Self.answer(apache, request)?.status
                #expect(ours == theirs, "\(path): skep \(ours.map(String.init) ?? "-"), Apache \(theirs.map(String.init) ?? "-")")
                #expect(ours == (path.hasPrefix("/grant") ? 404 : 403), "\(path)")
            }
        }
    }

    // MARK: - Row 14: range arithmetic on a huge sparse file

    /// A directory holding `huge`, a sparse file of Int64.max bytes, made by `truncate`
    /// (tmpfs takes one; ext4 stops at 16 TiB); nil where no file system here can.
    static let hugeSparseFile: String? = {
        for parent in ["/dev/shm", NSTemporaryDirectory()] {
            let directory = parent + "/skep-security-\(getpid())"
            mkdir(directory, 0o755)
            let made = try? Subprocess.run("/usr/bin/truncate", ["-s", String(Int64.max), directory + "/huge"])
            if made?.status == 0 { return directory }
            unlink(directory + "/huge")
            rmdir(directory)
        }
        return nil
    }()

    /// Ranges of the Int64.max-byte sparse file: ranges whose lengths add up past Int64
    /// are ignored (200, the whole file), a multipart answer whose length Int64 cannot
    /// hold is served whole too, and plain ranges still work.
    @Test(.enabled(if: SecurityTests.hugeSparseFile != nil, "no file system here takes a sparse file of Int64.max bytes"))
    func rangesOfAHugeSparseFileNeverOverflow() throws {
        let directory = try #require(Self.hugeSparseFile)
        defer {
            unlink(directory + "/huge")
            rmdir(directory)
        }
        let size = Int64.max
        var config = try TestConfig(extra: """
            Alias /huge "\(directory)"
            <Directory "\(directory)">
                Require all granted
            </Directory>
            """)
        config.skepModules = config.modules
        try config.root.writeDocument("file.txt", "Hello, world!\n")
        try withServer(.skep, config: config) { server in
            let bystander = try Bystander(server)
            /// The head of the answer to a GET (the connection is closed before the body)
            /// and to a HEAD with `range`, which must agree.
            func head(_ range: String) throws -> HTTPResponse {
                let client = try RawHTTPClient(port: server.port)
                defer { client.close() }
                try client.send("GET /huge/huge HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: \(range)\r\n\r\n")
                let get = try #require(try client.readResponseOrClose(method: "HEAD"), "no answer to \(range.prefix(40))")
                let head = try #require(try Self.answer(server, "HEAD /huge/huge HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: \(range)\r\n\r\n"))
                #expect(head.status == get.status && head.header("Content-Length") == get.header("Content-Length"), "\(range.prefix(40))")
                return get
            }
            let many = "bytes=" + Array(repeating: "2-,0-0", count: 100).joined(separator: ",")
            for range in ["bytes=2-,0-0,2-,0-0", many, "bytes=0-0,2-", "bytes=0-0,2-\(size - 1)"] {
                let response = try head(range)
                #expect(response.status == 200, "\(range.prefix(40))")
                #expect(response.header("Content-Length") == String(size), "\(range.prefix(40))")
            }
            let one = try head("bytes=\(size - 1)-")
            #expect(one.status == 206)
            #expect(one.header("Content-Range") == "bytes \(size - 1)-\(size - 1)/\(size)")
            let two = try head("bytes=0-0,\(size - 2)-")
            #expect(two.status == 206)
            #expect(two.header("Content-Type")?.hasPrefix("multipart/byteranges") == true)
            #expect(try head("bytes=\(size)-").status == 416)
            try bystander.expectStillServed(server)
        }
    }
}
