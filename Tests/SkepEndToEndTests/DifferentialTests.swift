import Foundation
import Testing

/// skep (-X) against Debian's Apache (event MPM, foreground) on the same config, the
/// same docroot and the same bytes. Both load only the modules skep has
/// (`EngineFixture.commonModules`), so Apache has no handler skep lacks.
///
/// Compared per response: status, interim statuses, Content-Length presence (its value
/// and the body too for 2xx, whose bodies are the same files), chunked framing,
/// `Connection`, `Keep-Alive`, the set of methods in `Allow`; and whether the
/// connection stays open. Error-page bodies differ in wording and are not compared.
///
/// Each case has a verdict: `.same`; `.decided` (a documented Skep difference, whose
/// Skep answer is asserted); `.candidate` (a difference to decide on, Skep's current
/// answer asserted so a change is noticed); `.bug` (kept as `withKnownIssue`).
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct DifferentialTests {
    typealias F = EngineFixture

    enum Verdict: Sendable {
        case same
        case decided(String, skepStatus: Int, skepCloses: Bool)
        case candidate(String, skepStatus: Int?)
        case bug(String)
    }

    struct Case: Sendable {
        var name: String
        /// `@ETAG@` and `@LASTMOD@` are replaced by each server's own values for /file.txt.
        var request: String
        var expecting = 1
        var methods: [String] = []
        var verdict: Verdict = .same
        var timeout: Duration = .seconds(3)

        init(_ name: String, _ request: String, expecting: Int = 1, methods: [String] = [], _ verdict: Verdict = .same) {
            self.name = name
            self.request = request
            self.expecting = expecting
            self.methods = methods
            self.verdict = verdict
        }
    }

    /// The comparable shape of one response.
    struct Shape: Equatable, CustomStringConvertible {
        var status: Int
        var interim: [Int]
        var contentLength: String?
        var chunked: Bool
        var connection: String?
        var keepAlive: String?
        var allow: [String]?
        var body: [UInt8]?

        init(_ r: HTTPResponse) {
            status = r.status
            interim = r.interim.map(\.status)
            let success = (200..<300).contains(r.status)
            let multipart = r.header("Content-Type")?.hasPrefix("multipart/") == true
            let exact = success && !multipart && r.header("Content-Type") != "message/http"
            contentLength = r.header("Content-Length").map { exact ? $0 : "present" }
            chunked = r.header("Transfer-Encoding")?.lowercased().contains("chunked") == true
            connection = r.header("Connection")?.lowercased()
            keepAlive = r.header("Keep-Alive")
            allow = r.header("Allow").map { $0.split(separator: ",").map { $0.trimmingWhitespace().uppercased() }.sorted() }
            body = exact ? r.body : nil
        }

        var description: String {
            var parts = ["\(status)"]
            if !interim.isEmpty { parts.append("interim \(interim)") }
            if let contentLength { parts.append("CL \(contentLength)") }
            if chunked { parts.append("chunked") }
            if let connection { parts.append("Connection: \(connection)") }
            if let keepAlive { parts.append("Keep-Alive: \(keepAlive)") }
            if let allow { parts.append("Allow: \(allow.joined(separator: ","))") }
            return parts.joined(separator: " ")
        }
    }

    struct Summary: Equatable, CustomStringConvertible {
        var responses: [Shape]
        var failedRead: Bool
        var connection: String

        init(_ o: Differential.Outcome) {
            responses = o.responses.map(Shape.init)
            failedRead = o.readError != nil
            switch o.connection {
            case .closed, .reset: connection = "closed"
            case .open: connection = "open"
            case .unexpectedData(let bytes): connection = "unexpected \(bytes.count) bytes"
            }
        }

        var description: String {
            "[" + responses.map(\.description).joined(separator: " | ") + "]"
                + (failedRead ? " (read failed)" : "") + " connection \(connection)"
        }
    }

    /// Apache ends these error pages by closing the connection; Skep sends the same status
    /// and closes too, but frames the page with Content-Length.
    static let errorFraming = "error page framed with Content-Length (Apache: delimited by the close)"

    /// ETag and Last-Modified of /file.txt on `server`.
    static func validators(_ server: ServerProcess) throws -> (etag: String, lastModified: String) {
        let head = try F.get(server, "/file.txt", method: "HEAD")
        return (try #require(head.header("ETag")), try #require(head.header("Last-Modified")))
    }

    static func outcome(_ server: ServerProcess, _ c: Case) throws -> Summary {
        let v = try validators(server)
        let text = c.request.replacingOccurrences(of: "@ETAG@", with: v.etag)
            .replacingOccurrences(of: "@LASTMOD@", with: v.lastModified)
        let method = c.request.split(separator: " ", maxSplits: 1).first.map(String.init) ?? "GET"
        let methods = c.methods.isEmpty ? Array(repeating: method, count: c.expecting) : c.methods
        return Summary(try Differential.outcome(
            port: server.port, sending: Array(text.utf8), expecting: c.expecting, methods: methods,
            closeWait: .milliseconds(400), timeout: c.timeout))
    }

    /// Runs `cases` against both servers and judges each by its verdict.
    static func judge(_ cases: [Case], skep: ServerProcess, apache: ServerProcess) throws {
        for c in cases {
            let s = try outcome(skep, c), a = try outcome(apache, c)
            let detail = "\(c.name): skep \(s) / apache \(a)"
            switch c.verdict {
            case .same:
                #expect(s == a, "\(detail)")
            case .decided(let why, let status, let closes):
                #expect(s != a, "documented difference no longer differs: \(why): \(detail)")
                #expect(s.responses.first?.status == status, "\(why): \(detail)")
                #expect((s.connection == "closed") == closes, "\(why): \(detail)")
            case .candidate(let why, let status):
                if let status { #expect(s.responses.first?.status == status, "candidate difference changed: \(why): \(detail)") }
            case .bug(let why):
                withKnownIssue("\(why)") { #expect(s == a, "\(detail)") }
            }
        }
        F.expectStillServing(skep, after: "the differential cases")
    }

    static func pair(extra: String = "", setUp: @escaping (inout TestConfig) throws -> Void = { _ in },
                     _ body: (ServerProcess, ServerProcess) throws -> Void) throws {
        try withServerPair(mode: .foreground, skepMode: .singleProcess, setUp: { config in
            config.modules = F.commonModules
            config.extra = extra
            try F.populate(config.root)
            try setUp(&config)
        }, body)
    }

    static let h = "Host: a\r\n"
    static func get(_ target: String, _ headers: String = "", version: String = "HTTP/1.1") -> String {
        "GET \(target) \(version)\r\n\(version == "HTTP/1.1" ? h : "")\(headers)\r\n"
    }

    // MARK: - The cases

    static let allowTrace = "skep's Allow lacks TRACE (TraceEnable On by default); Apache: GET,POST,OPTIONS,HEAD,TRACE"
    static let headErrorLength = "skep's HEAD error responses carry the error page's Content-Length; Apache's have none"

    static let defaultCases: [Case] = [
        // GET, HEAD, versions, pipelining, keep-alive counting (MaxKeepAliveRequests 3)
        Case("GET", get("/file.txt")),
        Case("HEAD", "HEAD /file.txt HTTP/1.1\r\n\(h)\r\n"),
        Case("404", get("/nope")),
        Case("HTTP/1.0", get("/file.txt", version: "HTTP/1.0")),
        Case("HTTP/1.0 keep-alive x2", get("/file.txt", "Connection: keep-alive\r\n", version: "HTTP/1.0") + get("/file.txt", version: "HTTP/1.0"), expecting: 2),
        Case("HTTP/1.1 Connection: close", get("/file.txt", "Connection: close\r\n")),
        Case("HTTP/1.2 served as 1.1", get("/file.txt", version: "HTTP/1.2")),
        Case("HTTP/2.0 request line", get("/file.txt", version: "HTTP/2.0")),
        Case("HTTP/0.9 version token", get("/file.txt", version: "HTTP/0.9")),
        Case("lowercase method", "get /file.txt HTTP/1.1\r\n\(h)\r\n"),
        Case("3 pipelined", String(repeating: get("/file.txt"), count: 3), expecting: 3),
        Case("MaxKeepAliveRequests 3: 5 pipelined", String(repeating: get("/file.txt"), count: 5), expecting: 5),
        Case("MaxKeepAliveRequests 3: HTTP/1.0 x4", String(repeating: get("/file.txt", "Connection: keep-alive\r\n", version: "HTTP/1.0"), count: 4), expecting: 4),
        Case("absolute-form target", "GET http://a/file.txt HTTP/1.1\r\nHost: b\r\n\r\n"),
        Case("https absolute-form", "GET https://a/file.txt HTTP/1.1\r\n\(h)\r\n"),
        Case("10 empty lines first", String(repeating: "\r\n", count: 10) + get("/file.txt")),
        Case("11 empty lines first", String(repeating: "\r\n", count: 11) + get("/file.txt")),
        Case("GET with a body, pipelined", "GET /file.txt HTTP/1.1\r\n\(h)Content-Length: 3\r\n\r\nabc" + get("/alpha.txt"), expecting: 2),
        Case("GET chunked body, pipelined", "GET /file.txt HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get("/alpha.txt"), expecting: 2),

        // Limits at and around each boundary
        Case("request line 8190", F.requestLine(length: 8190) + "\r\n\(h)\r\n"),
        Case("request line 8191", F.requestLine(length: 8191) + "\r\n\(h)\r\n"),
        Case("request line 8192", F.requestLine(length: 8192) + "\r\n\(h)\r\n"),
        Case("header line 8190", "GET /file.txt HTTP/1.1\r\n\(h)" + F.headerLine(length: 8190) + "\r\n\r\n"),
        Case("header line 8191", "GET /file.txt HTTP/1.1\r\n\(h)" + F.headerLine(length: 8191) + "\r\n\r\n"),
        Case("header line 8192", "GET /file.txt HTTP/1.1\r\n\(h)" + F.headerLine(length: 8192) + "\r\n\r\n"),
        Case("99 fields", F.requestWithFields(99)),
        Case("100 fields", F.requestWithFields(100)),
        Case("101 fields", F.requestWithFields(101)),
        Case("8191-byte path", "GET /" + String(repeating: "a", count: 8191 - "GET / HTTP/1.1".count) + " HTTP/1.1\r\n\(h)\r\n"),

        // Framing
        Case("no Host", "GET /file.txt HTTP/1.1\r\n\r\n"),
        Case("two Host", get("/file.txt", "Host: a\r\n")),
        Case("bad Host", "GET /file.txt HTTP/1.1\r\nHost: a b\r\n\r\n"),
        Case("two Content-Length", "POST /file.txt HTTP/1.1\r\n\(h)Content-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
        Case("Content-Length list", get("/file.txt", "Content-Length: 1, 1\r\n") + "x"),
        Case("signed Content-Length", "POST /file.txt HTTP/1.1\r\n\(h)Content-Length: +1\r\n\r\nx"),
        Case("empty Content-Length", get("/file.txt", "Content-Length: \r\n")),
        Case("huge Content-Length", get("/file.txt", "Content-Length: 99999999999999999999\r\n")),
        Case("whitespace before colon", get("/file.txt", "X-A : b\r\n")),
        Case("bare CR", get("/file.txt", "X-A: b\rc\r\n")),
        Case("NUL", get("/file.txt", "X-A: b\u{0}c\r\n")),
        Case("bare LF", "GET /file.txt HTTP/1.1\nHost: a\n\n"),
        Case("Transfer-Encoding gzip", "POST /file.txt HTTP/1.1\r\n\(h)Transfer-Encoding: gzip\r\n\r\n"),
        Case("fragment in target", get("/file.txt#x")),
        Case("bad percent-encoding", get("/file%zz.txt")),
        Case("target without slash", get("file.txt")),
        Case("obsolete line folding", get("/file.txt", "X-A: b\r\n c\r\n"),
             .decided("Skep refuses obs-fold; Apache unfolds", skepStatus: 400, skepCloses: true)),
        Case("Content-Length with Transfer-Encoding",
             "POST /file.txt HTTP/1.1\r\n\(h)Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
             .decided("Skep refuses CL+TE with 400; Apache drops the length, reads chunked, closes", skepStatus: 400, skepCloses: true)),
        Case("GET bad chunk size", "GET /file.txt HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n",
             .decided(errorFraming, skepStatus: 400, skepCloses: true)),
        Case("POST bad chunk size", "POST /file.txt HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n",
             .decided(errorFraming, skepStatus: 400, skepCloses: true)),

        // Traversal
        Case("/../etc/passwd", get("/../etc/passwd")),
        Case("%2e%2e", get("/%2e%2e/%2e%2e/etc/passwd")),
        Case("..%2f", get("/a/..%2f..%2fetc/passwd")),
        Case("//etc/passwd", get("//etc/passwd")),
        Case("%00", get("/file.txt%00")),
        Case("backslashes", get("/..\\..\\etc\\passwd")),
        Case("%5c", get("/%5c..%5c..%5cetc/passwd")),
        Case("dot segments inside", get("/dir/../file.txt")),
        Case("encoded dot segments inside", get("/dir/%2e%2e/file.txt")),
        Case("encoded slash", get("/dir%2findex.html")),

        // mod_dir
        Case("DirectorySlash", get("/dir?x=1")),
        Case("directory index", get("/dir/")),
        Case("no index", get("/noindex/")),

        // Conditionals
        Case("If-None-Match current", get("/file.txt", "If-None-Match: @ETAG@\r\n")),
        Case("If-None-Match *", get("/file.txt", "If-None-Match: *\r\n")),
        Case("If-None-Match weak", get("/file.txt", "If-None-Match: W/@ETAG@\r\n")),
        Case("If-None-Match other", get("/file.txt", "If-None-Match: \"x\"\r\n")),
        Case("If-Modified-Since equal", get("/file.txt", "If-Modified-Since: @LASTMOD@\r\n")),
        Case("If-Modified-Since older", get("/file.txt", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n")),
        Case("If-Match mismatch", get("/file.txt", "If-Match: \"nope\"\r\n")),
        Case("If-Match current", get("/file.txt", "If-Match: @ETAG@\r\n")),
        Case("If-Unmodified-Since older", get("/file.txt", "If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n")),
        Case("HEAD If-None-Match", "HEAD /file.txt HTTP/1.1\r\n\(h)If-None-Match: @ETAG@\r\n\r\n"),

        // Ranges
        Case("bytes=0-4", get("/file.txt", "Range: bytes=0-4\r\n")),
        Case("bytes=-3", get("/file.txt", "Range: bytes=-3\r\n")),
        Case("bytes=5-", get("/file.txt", "Range: bytes=5-\r\n")),
        Case("multiple ranges", get("/file.txt", "Range: bytes=0-1,5-6\r\n")),
        Case("If-Range current", get("/file.txt", "Range: bytes=0-4\r\nIf-Range: @ETAG@\r\n")),
        Case("If-Range stale", get("/file.txt", "Range: bytes=0-4\r\nIf-Range: \"old\"\r\n")),
        Case("bytes=999-", get("/file.txt", "Range: bytes=999-\r\n"),
             .candidate("416: skep sends Content-Range: bytes */14 (RFC 9110) and a Content-Length; Apache sends no Content-Range and chunks the error page", skepStatus: 416)),

        // Methods
        Case("unknown method", "FOO /file.txt HTTP/1.1\r\n\(h)\r\n"),
        Case("CONNECT", "CONNECT host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n"),
        Case("DELETE", "DELETE /file.txt HTTP/1.1\r\n\(h)\r\n"),
        Case("OPTIONS file", "OPTIONS /file.txt HTTP/1.1\r\n\(h)\r\n"),
        Case("OPTIONS *", "OPTIONS * HTTP/1.1\r\n\(h)\r\n"),
        Case("TRACE", "TRACE /file.txt HTTP/1.1\r\n\(h)\r\n",
             .candidate("TRACE: skep sends Content-Length; Apache chunks the echo", skepStatus: 200)),
        Case("TRACE with a body", "TRACE /file.txt HTTP/1.1\r\n\(h)Content-Length: 1\r\n\r\nx"),
        Case("Expect: bogus", get("/file.txt", "Expect: bogus\r\n"),
             .candidate("417: skep says Connection: close; Apache closes without saying so", skepStatus: 417)),

        // POST to static content
        Case("POST file", "POST /file.txt HTTP/1.1\r\n\(h)Content-Length: 3\r\n\r\nabc"),
        Case("POST chunked file, pipelined", "POST /file.txt HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get("/alpha.txt"),
             expecting: 2),
        Case("POST HTTP/1.0 chunked", "POST /file.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Case("POST directory", "POST /dir/ HTTP/1.1\r\n\(h)Content-Length: 0\r\n\r\n"),
        Case("POST missing file", "POST /nope HTTP/1.1\r\n\(h)Content-Length: 0\r\n\r\n"),
        Case("POST Expect: 100-continue, body sent", "POST /file.txt HTTP/1.1\r\n\(h)Content-Length: 3\r\nExpect: 100-continue\r\n\r\nabc"),
        Case("GET Expect: 100-continue, no body yet", get("/file.txt", "Content-Length: 3\r\nExpect: 100-continue\r\n")),

        // HEAD of errors
        Case("HEAD 404", "HEAD /nope HTTP/1.1\r\n\(h)\r\n", .candidate(headErrorLength, skepStatus: 404)),
        Case("HEAD without Host", "HEAD /file.txt HTTP/1.1\r\n\r\n", .candidate(headErrorLength, skepStatus: 400)),
        Case("HEAD as HTTP/0.9", "HEAD /file.txt\r\n", .candidate(headErrorLength, skepStatus: 400)),
        Case("POST as HTTP/0.9", "POST /file.txt\r\n"),
    ]

    @Test func defaultConfig() throws {
        try Self.pair(extra: "MaxKeepAliveRequests 3") { skep, apache in
            try Self.judge(Self.defaultCases, skep: skep, apache: apache)
        }
    }

    @Test func http09() throws {
        try Self.pair { skep, apache in
            func body(_ server: ServerProcess) throws -> [UInt8] {
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
                try client.send("GET /file.txt\r\n")
                return try client.readUntilClose()
            }
            let s = try body(skep), a = try body(apache)
            #expect(s == a, "skep \(F.show(s)) / apache \(F.show(a))")
            #expect(s == Array(F.fileBody.utf8))
        }
    }

    static let variantConfig = """
        LimitRequestBody 10
        TraceEnable Off
        <Directory "@DOCROOT@/noslash">
            DirectorySlash Off
        </Directory>
        <Directory "@DOCROOT@/nolinks">
            Options -FollowSymLinks
        </Directory>
        """

    static let noLength413 = "413: skep sends the error page with a Content-Length; Apache sends none (body until close); both close"
    static let variantCases: [Case] = [
        Case("LimitRequestBody: POST 11 bytes", "POST /file.txt HTTP/1.1\r\n\(h)Content-Length: 11\r\n\r\nhello world",
             .candidate(noLength413, skepStatus: 413)),
        Case("LimitRequestBody: GET 11 bytes", get("/file.txt", "Content-Length: 11\r\n") + "hello world",
             .candidate(noLength413, skepStatus: 413)),
        Case("LimitRequestBody: GET 10 bytes", get("/file.txt", "Content-Length: 10\r\n") + "helloworld"),
        Case("LimitRequestBody: chunked 11 bytes", "GET /file.txt HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n0\r\n\r\n",
             .decided(errorFraming, skepStatus: 413, skepCloses: true)),
        Case("TraceEnable Off", "TRACE /file.txt HTTP/1.1\r\n\(h)\r\n"),
        Case("DirectorySlash Off", get("/noslash")),
        Case("DirectorySlash Off, with slash", get("/noslash/")),
        Case("symlink followed", get("/link.txt")),
        Case("symlink, FollowSymLinks off", get("/nolinks/link.txt")),
        Case("symlinked directory, FollowSymLinks off", get("/nolinks/linkdir/file.txt")),
    ]

    @Test func configVariants() throws {
        try Self.pair(extra: Self.variantConfig, setUp: { config in
            let d = config.root.docroot
            try config.root.writeDocument("noslash/index.html", "noslash\n")
            try config.root.writeDocument("nolinks/file.txt", "nolinks\n")
            #expect(symlink(d + "/file.txt", d + "/link.txt") == 0)
            #expect(symlink(d + "/file.txt", d + "/nolinks/link.txt") == 0)
            #expect(symlink(d + "/sub", d + "/nolinks/linkdir") == 0)
        }) { skep, apache in
            try Self.judge(Self.variantCases, skep: skep, apache: apache)
        }
    }
}
