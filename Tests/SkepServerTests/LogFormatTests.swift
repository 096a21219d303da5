import SkepConfig
import SkepHTTP
@testable import SkepServer
import SkepSystem
import Testing
#if canImport(Glibc)
import Glibc
import SkepTestSupport
#endif

/// Parses `bytes` with the real parser and hands a Request over them to `body`.
func withRequest<R>(_ bytes: [UInt8], server: VirtualHost, clientPort: UInt16 = 50092, sequence: Int = 1,
                    _ body: (Request) throws -> R) throws -> R {
    var parser = RequestParser()
    guard case .headComplete(let head, let consumed) = parser.parse(bytes) else {
        Issue.record("request did not parse")
        throw LogFormatError("unparsed")
    }
    return try bytes.withUnsafeBytes { raw in
        let request = Request(head: head, bytes: raw, headLength: consumed, client: SocketAddress(ip: "127.0.0.1", port: clientPort)!,
                              local: SocketAddress(ip: "127.0.0.1", port: 19517)!, server: server, sequence: sequence)
        request.uri = head.path(in: raw)
        return try body(request)
    }
}

func withRequest<R>(_ text: String, server: VirtualHost, clientPort: UInt16 = 50092, sequence: Int = 1,
                    _ body: (Request) throws -> R) throws -> R {
    try withRequest(Array(text.utf8), server: server, clientPort: clientPort, sequence: sequence, body)
}

func transaction(_ request: Request, status: Int = 200, headers: [(String, String)] = [("Content-Type", "text/html; charset=utf-8")],
                 body: Int64 = 6, sent: Int64 = 265, received: Int64 = 28, micros: Int64 = 1_234_567,
                 keepAlive: Bool = false, aborted: Bool = false) -> Transaction {
    Transaction(request: request, status: HTTPStatus(code: status), responseHeaders: headers.map { (name: $0.0, value: $0.1) },
                bodyBytes: body, bytesSent: sent, bytesReceived: received, durationMicroseconds: micros,
                keepAlive: keepAlive, aborted: aborted)
}

/// Renders `format` for the transaction through a module built on `config`.
func render(_ format: String, _ t: Transaction, config: ServerConfig) throws -> String {
    let module = try LogConfigModule(config: config)
    return String(decoding: module.line(try LogFormat(format), for: t), as: UTF8.self)
}

/// The `%t` of `request`, formatted independently with strftime.
func clfTime(_ request: Request) -> String {
    var t = time_t(request.received.seconds)
    var parts = tm()
    localtime_r(&t, &parts)
    var buffer = [CChar](repeating: 0, count: 64)
    let n = strftime(&buffer, 64, "[%d/%b/%Y:%H:%M:%S %z]", &parts)
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

@Suite struct LogFormatTests {
    let config: ServerConfig

    init() throws {
        config = try makeConfig("ServerName test.local\nLogFormat \"%h %l %u %t \\\"%r\\\" %>s %b\" common\n")
    }

    @Test func everyCodeRendersAsApacheDoes() throws {
        // The same request and format as captured from Debian's Apache 2.4.71.
        let text = "GET /index.html HTTP/1.0\r\n\r\n"
        let line = try withRequest(text, server: config.main) { r throws in
            r.filename = "/tmp/aptest/htdocs/index.html"
            return try render("h=%h a=%a ca=%{c}a l=%l u=%u r=%r s=%s fs=%>s b=%b B=%B v=%v V=%V p=%p pc=%{canonical}p pl=%{local}p pr=%{remote}p q=%q U=%U m=%m H=%H f=%f I=%I O=%O S=%S k=%k X=%X L=%L R=%R n=%{foo}n e=%{HOME}e o=%{Content-Type}o i=%{X-Test}i pct=%% c400=%400,501{User-agent}i cn=%!200,304{User-agent}i ct=%{Content-Type}o",
                              transaction(r), config: config)
        }
        #expect(line == "h=127.0.0.1 a=127.0.0.1 ca=127.0.0.1 l=- u=- r=GET /index.html HTTP/1.0 s=200 fs=200 b=6 B=6 v=test.local V=test.local p=80 pc=80 pl=19517 pr=50092 q= U=/index.html m=GET H=HTTP/1.0 f=/tmp/aptest/htdocs/index.html I=28 O=265 S=293 k=0 X=- L=- R=- n=- e=- o=text/html i=- pct=% c400=- cn=- ct=text/html")
    }

    @Test func statusConditionsAndOriginalStatus() throws {
        try withRequest("GET /nonexist HTTP/1.1\r\nHost: x\r\nUser-Agent: UA2\r\n\r\n", server: config.main) { r throws in
            let t = transaction(r, status: 404, body: 236)
            #expect(try render("%400,404{User-agent}i|%!200,304{User-agent}i|%200{User-agent}i|%!404{User-agent}i", t, config: config) == "UA2|UA2|-|-")
            #expect(try render("%V %>s %s", t, config: config) == "x 404 404")
            r.originalStatus = .movedPermanently
            #expect(try render("%<s %s %>s", t, config: config) == "301 301 404")
        }
    }

    @Test func bytesDurationsAndConnectionStatus() throws {
        try withRequest("HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n", server: config.main, sequence: 3) { r throws in
            let t = transaction(r, body: 0, sent: 0, received: 110, micros: 2_345_678, keepAlive: true)
            #expect(try render("%b %B %D %T %{ms}T %{us}T %{s}T %{bogus}T %k %X", t, config: config) == "- 0 2345678 2 2345 2345678 2 bogus 2 +")
            let last = transaction(r, keepAlive: false)
            #expect(try render("%k %X", last, config: config) == "1 -")
            #expect(try render("%X", transaction(r, aborted: true), config: config) == "X")
        }
    }

    @Test func escapingFollowsApEscapeLogitem() throws {
        // Captured from Apache 2.4.71 for this request (combined format, %O being 246 there).
        var bytes = Array("GET /index.html?a=%22b%20c HTTP/1.1\r\nHost: h\r\nUser-Agent: ag\"e\\nt".utf8)
        bytes += [0xC3, 0xA9, 0x09] + Array("x\r\nReferer: http://r/\"q\"\r\nX-M: 1\r\nX-M: 2\r\nCookie: a=1; sess=xyz; b=2\r\n\r\n".utf8)
        try withRequest(bytes, server: config.main) { r throws in
            let t = transaction(r, sent: 246)
            let combined = "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""
            let expected = "127.0.0.1 - - \(clfTime(r)) \"GET /index.html?a=%22b%20c HTTP/1.1\" 200 246 \"http://r/\\\"q\\\"\" \"ag\\\"e\\\\nt\\xc3\\xa9\\tx\""
            #expect(try render(combined, t, config: config) == expected)
            #expect(try render("%{X-M}i|%{sess}C|%{SESS}C|%{none}C|%q|%{tid}^ti", t, config: config) == "1, 2|xyz|xyz|-|?a=%22b%20c|-")
            r.user = "we\"ird\n"
            r.environment["V"] = "a\u{7f}b"
            #expect(try render("%u %{V}e", t, config: config) == "we\\\"ird\\n a\\x7fb")
            r.user = ""
            #expect(try render("%u", t, config: config) == "\"\"")
        }
    }

    @Test func commonFormatMatchesApacheByteForByte() throws {
        // Lines Apache 2.4.71 wrote for these requests, the timestamp aside.
        let cases: [(String, Int64, Bool, String)] = [
            ("GET /index.html HTTP/1.0\r\n\r\n", 6, false, "127.0.0.1 - - T \"GET /index.html HTTP/1.0\" 200 6"),
            ("GET /index.html\r\n", 6, false, "127.0.0.1 - - T \"GET /index.html\" 200 6"),
            ("HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n", 0, false, "127.0.0.1 - - T \"HEAD /index.html HTTP/1.1\" 200 -"),
            ("GET /index.html?q HTTP/1.1\r\nHost: Foo.Example:19517\r\nUser-Agent: curl/8\r\n\r\n", 6, true,
             "127.0.0.1 - - T \"GET /index.html?q HTTP/1.1\" 200 6 \"-\" \"curl/8\""),
        ]
        for (text, body, combined, expected) in cases {
            try withRequest(text, server: config.main) { r throws in
                let format = combined ? "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"" : "common"
                let module = try LogConfigModule(config: config)
                let resolved = config.main.server[LogConfigServerConfig.self].resolve(format)
                let line = String(decoding: module.line(try LogFormat(resolved), for: transaction(r, body: body)), as: UTF8.self)
                #expect(line == expected.replacingFirst("T", with: clfTime(r)))
            }
        }
    }

    @Test func timeFormats() throws {
        try withRequest("GET / HTTP/1.1\r\nHost: x\r\n\r\n", server: config.main) { r throws in
            let t = transaction(r, micros: 1_500_000)
            let us = r.received.microseconds
            let line = try render("%t|%{sec}t|%{msec}t|%{usec}t|%{msec_frac}t|%{usec_frac}t|%{end:sec}t|%{begin}t", t, config: config)
            let frac3 = String(1000 + (us / 1000) % 1000).dropFirst()
            let frac6 = String(1_000_000 + us % 1_000_000).dropFirst()
            #expect(line == "\(clfTime(r))|\(us / 1_000_000)|\(us / 1000)|\(us)|\(frac3)|\(frac6)|\((us + 1_500_000) / 1_000_000)|\(clfTime(r))")
            // strftime formats, with begin:/end: prefixes, in local time.
            var seconds = time_t(r.received.seconds)
            var parts = tm()
            localtime_r(&seconds, &parts)
            var buffer = [CChar](repeating: 0, count: 64)
            let n = strftime(&buffer, 64, "%Y-%m-%d %H", &parts)
            let hour = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(try render("%{%Y-%m-%d %H}t|%{begin:%Y-%m-%d %H}t", t, config: config) == "\(hour)|\(hour)")
            // The CLF shape: [dd/Mon/yyyy:hh:mm:ss +zzzz].
            let clf = try render("%t", t, config: config)
            #expect(clf.count == 28 && clf.hasPrefix("[") && clf.hasSuffix("]") && clf.utf8[clf.utf8.index(clf.utf8.startIndex, offsetBy: 21)] == UInt8(ascii: " "))
        }
    }

    @Test func timeIsFormattedOncePerSecond() {
        let clock = LogClock()
        LogLineBuffer.withTemporary { b in
            for _ in 0..<100 { clock.append(.clf, microseconds: 1_795_389_877_153_877, to: &b) }
            clock.append(.clf, microseconds: 1_795_389_878_000_000, to: &b)
        }
        #expect(clock.formatCount == 2)
    }

    @Test func badCodesFailConfigurationWithFileAndLine() throws {
        for (text, message) in [("LogFormat \"%h %Z\" bad", "Unrecognized LogFormat directive %Z"),
                                ("CustomLog /tmp/x \"%{foo\"", "Ran off end of LogFormat parsing args to some directive"),
                                ("CustomLog /tmp/x common env", "error in condition clause")] {
            do {
                _ = try makeConfig("ServerName x\n" + text + "\n")
                Issue.record("\(text) must fail")
            } catch {
                #expect("\(error)".hasPrefix("test.conf:2: \(message)"), "\(error)")
            }
        }
    }

    @Test func literalEscapesAndUndefinedNicknames() throws {
        try withRequest("GET / HTTP/1.1\r\nHost: x\r\n\r\n", server: config.main) { r throws in
            #expect(try render("a\\tb\\\\c\\q", transaction(r), config: config) == "a\tb\\c\\q")
        }
        // No nickname is predefined: an undefined one is the (literal) format, as in Apache.
        #expect(LogConfigServerConfig().resolve("combined") == "combined")
        #expect(LogConfigServerConfig().resolve(nil) == LogFormat.commonLogFormat)
    }

    @Test func logsAreWrittenPerServerWithConditions() throws {
        let dir = try makeTemporaryDirectory()
        let config = try makeConfig("""
            ServerName main.test
            LogFormat "%v %U" short
            CustomLog logs-main short
            CustomLog logs-env "%U env" env=LOGME
            CustomLog logs-notenv "%U notenv" env=!LOGME
            GlobalLog logs-global "global %v %U"
            <VirtualHost *:80>
                ServerName a.test
                CustomLog logs-a short
            </VirtualHost>
            <VirtualHost *:80>
                ServerName b.test
            </VirtualHost>
            """, serverRoot: dir)
        let module = try LogConfigModule(config: config)
        try withRequest("GET /m HTTP/1.1\r\nHost: x\r\n\r\n", server: config.main) { r throws in
            module.log(transaction(r))
            r.environment["LOGME"] = "1"
            module.log(transaction(r))
        }
        try withRequest("GET /a HTTP/1.1\r\nHost: a.test\r\n\r\n", server: config.virtualHosts[0]) { r in module.log(transaction(r)) }
        try withRequest("GET /b HTTP/1.1\r\nHost: b.test\r\n\r\n", server: config.virtualHosts[1]) { r in module.log(transaction(r)) }
        #expect(readFile(dir + "/logs-main") == "main.test /m\nmain.test /m\nb.test /b\n")
        #expect(readFile(dir + "/logs-a") == "a.test /a\n")
        #expect(readFile(dir + "/logs-env") == "/m env\n")
        #expect(readFile(dir + "/logs-notenv") == "/m notenv\n/b notenv\n")
        #expect(readFile(dir + "/logs-global") == "global main.test /m\nglobal main.test /m\nglobal a.test /a\nglobal b.test /b\n")
    }

    @Test func pipedLogsReachTheProgram() throws {
        let dir = try makeTemporaryDirectory()
        let config = try makeConfig("CustomLog \"|$cat >> \(dir)/piped\" \"%U\"\n", serverRoot: dir)
        var module: LogConfigModule? = try LogConfigModule(config: config)
        try withRequest("GET /p HTTP/1.1\r\nHost: x\r\n\r\n", server: config.main) { r in module!.log(transaction(r)) }
        module = nil // closes the pipe: the logger sees end of file and exits
        try Deadline.wait(for: "the piped logger to write the line", timeout: .seconds(10)) {
            readFile(dir + "/piped") == "/p\n"
        }
        #expect(readFile(dir + "/piped") == "/p\n")
        #expect(throws: ConfigError.self) { _ = try makeConfig("CustomLog \"|relative/prog\" common\n") }
    }

    @Test func longLinesSpillToTheHeapWhole() throws {
        let long = String(repeating: "a", count: 6_000)
        try withRequest("GET /\(long) HTTP/1.1\r\nHost: x\r\n\r\n", server: config.main) { r throws in
            #expect(try render("%U", transaction(r), config: config) == "/" + long)
        }
    }
}

extension String {
    func replacingFirst(_ target: Character, with replacement: String) -> String {
        guard let i = firstIndex(of: target) else { return self }
        return String(self[..<i]) + replacement + String(self[index(after: i)...])
    }
}
