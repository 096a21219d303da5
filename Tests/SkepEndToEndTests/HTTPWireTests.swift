import Foundation
import Testing

/// The HTTP/1.1 engine on the wire: skep alone (`-X`), asserting the answers Apache
/// httpd 2.4 documents and gives (measured with Debian's 2.4.71; DifferentialTests
/// compares the two servers directly).
@Suite(.tags(.skepBinary), .timeLimit(.minutes(10)))
struct HTTPWireTests {
    typealias F = EngineFixture

    // MARK: - GET, HEAD, versions

    @Test func getAndHeadOfAFile() throws {
        try F.withSkep { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            let get = try client.exchange("GET /file.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(get.status == 200)
            #expect(get.version == "HTTP/1.1")
            #expect(get.bodyText == F.fileBody)
            #expect(get.framing == .contentLength(F.fileBody.utf8.count))
            #expect(get.header("Content-Length") == String(F.fileBody.utf8.count))
            let etag = try #require(get.header("ETag"))
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""), "a strong ETag: \(etag)")
            let lastModified = try #require(get.header("Last-Modified"))
            #expect(lastModified.hasSuffix(" GMT"))
            #expect(get.header("Accept-Ranges") == "bytes")
            #expect(get.header("Date") != nil)
            #expect(get.header("Connection") == nil, "HTTP/1.1 keeps the connection without saying so")

            // HEAD on the same connection: the same headers (Date aside), no body, and
            // the connection still usable afterwards.
            let head = try client.exchange("HEAD /file.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            let ignore: Set<String> = ["date"]
            #expect(head.headers.filter { !ignore.contains($0.name.lowercased()) }
                == get.headers.filter { !ignore.contains($0.name.lowercased()) })
            let again = try client.exchange("GET /file.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(again.bodyText == F.fileBody, "no stray HEAD body was sent before this response")
            #expect(client.connectionState(within: .milliseconds(200)) == .open)
        }
    }

    @Test func http10ClosesUnlessKeepAliveIsAsked() throws {
        try F.withSkep { server in
            let plain = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            let response = try plain.exchange("GET /file.txt HTTP/1.0\r\n\r\n")
            #expect(response.status == 200)
            #expect(response.version == "HTTP/1.1", "Apache answers HTTP/1.1 to an HTTP/1.0 request")
            #expect(response.header("Connection") == "close")
            #expect(response.header("Keep-Alive") == nil)
            #expect(response.bodyText == F.fileBody)
            #expect(plain.serverClosed(within: .seconds(2)))

            let kept = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            let first = try kept.exchange("GET /file.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(first.status == 200)
            #expect(first.header("Connection") == "Keep-Alive")
            #expect(first.header("Keep-Alive") == "timeout=5, max=100")
            let second = try kept.exchange("GET /file.txt HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            #expect(second.header("Keep-Alive") == "timeout=5, max=99")
            let third = try kept.exchange("GET /file.txt HTTP/1.0\r\n\r\n")
            #expect(third.header("Connection") == "close")
            #expect(kept.serverClosed(within: .seconds(2)))
        }
    }

    @Test func http09GetsOnlyTheBody() throws {
        try F.withSkep { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            try client.send("GET /file.txt\r\n")
            #expect(try client.readUntilClose() == Array(F.fileBody.utf8))
        }
    }

    @Test func threePipelinedRequestsAnsweredInOrderOnOneConnection() throws {
        try F.withSkep { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            try client.send(
                "GET /file.txt HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "HEAD /alpha.txt HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /alpha.txt HTTP/1.1\r\nHost: a\r\n\r\n")
            let responses = try client.readResponses(3, methods: ["GET", "HEAD", "GET"])
            #expect(responses.map(\.status) == [200, 200, 200])
            #expect(responses[0].bodyText == F.fileBody)
            #expect(responses[1].body.isEmpty && responses[1].header("Content-Length") == "26")
            #expect(responses[2].bodyText == F.alphabet)
            #expect(client.connectionState(within: .milliseconds(300)) == .open)
        }
    }

    // MARK: - Limits, at and around each boundary

    /// (what, request, expected status); the request line and header limits count the
    /// line without its CRLF, and Apache accepts `limit + 1` bytes (see HTTPLimits).
    static let limitCases: [(String, String, Int)] = [
        ("request line 8190 bytes", F.requestLine(length: 8190) + "\r\nHost: a\r\n\r\n", 200),
        ("request line 8191 bytes", F.requestLine(length: 8191) + "\r\nHost: a\r\n\r\n", 200),
        ("request line 8192 bytes", F.requestLine(length: 8192) + "\r\nHost: a\r\n\r\n", 414),
        ("request line 9000 bytes", F.requestLine(length: 9000) + "\r\nHost: a\r\n\r\n", 414),
        ("header line 8190 bytes", "GET /file.txt HTTP/1.1\r\nHost: a\r\n" + F.headerLine(length: 8190) + "\r\n\r\n", 200),
        ("header line 8191 bytes", "GET /file.txt HTTP/1.1\r\nHost: a\r\n" + F.headerLine(length: 8191) + "\r\n\r\n", 200),
        ("header line 8192 bytes", "GET /file.txt HTTP/1.1\r\nHost: a\r\n" + F.headerLine(length: 8192) + "\r\n\r\n", 400),
        ("99 fields", F.requestWithFields(99), 200),
        ("100 fields", F.requestWithFields(100), 200),
        ("101 fields", F.requestWithFields(101), 400),
    ]

    @Test func defaultLimitsAtAndAroundEachBoundary() throws {
        try F.withSkep { server in
            for (what, request, status) in Self.limitCases {
                let (response, closed) = try F.refusal(server, Array(request.utf8))
                #expect(response?.status == status, "\(what): \(response.map(\.description) ?? "no response")")
                if status == 200 {
                    #expect(response?.bodyText == F.fileBody, "\(what)")
                    #expect(!closed, "\(what): the connection stays open")
                } else {
                    #expect(response?.header("Connection") == "close", "\(what)")
                    #expect(closed, "\(what): the server closes after refusing")
                    F.expectStillServing(server, after: what)
                }
            }
        }
    }

    @Test func configuredLimitsAreApplied() throws {
        try F.withSkep(extra: "LimitRequestLine 100\nLimitRequestFieldSize 100\nLimitRequestFields 5") { server in
            let cases: [(String, String, Int)] = [
                ("request line 101", F.requestLine(length: 101) + "\r\nHost: a\r\n\r\n", 200),
                ("request line 102", F.requestLine(length: 102) + "\r\nHost: a\r\n\r\n", 414),
                ("header line 101", "GET /file.txt HTTP/1.1\r\nHost: a\r\n" + F.headerLine(length: 101) + "\r\n\r\n", 200),
                ("header line 102", "GET /file.txt HTTP/1.1\r\nHost: a\r\n" + F.headerLine(length: 102) + "\r\n\r\n", 400),
                ("5 fields", F.requestWithFields(5), 200),
                ("6 fields", F.requestWithFields(6), 400),
            ]
            for (what, request, status) in cases {
                let (response, _) = try F.refusal(server, Array(request.utf8))
                #expect(response?.status == status, "\(what): \(response.map(\.description) ?? "no response")")
            }
        }
    }

    @Test func limitRequestBodyRefusesALongerBodyAndCloses() throws {
        try F.withSkep(extra: "LimitRequestBody 10") { server in
            let (response, closed) = try F.refusal(
                server, Array("POST /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world".utf8))
            #expect(response?.status == 413, "\(response.map(\.description) ?? "no response")")
            #expect(response?.header("Connection") == "close")
            #expect(closed)
            F.expectStillServing(server, after: "413")

            // At the limit the body is accepted (the static file then answers GET's way
            // or refuses the method, but not with 413).
            let (atLimit, _) = try F.refusal(
                server, Array("POST /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhelloworld".utf8))
            #expect(atLimit != nil && atLimit?.status != 413, "\(atLimit.map(\.description) ?? "no response")")
        }
    }

    // MARK: - Framing refusals

    /// Each is refused with 400 and a closed connection (DESIGN.md §6). The first two
    /// are Skep's documented differences from Apache (Apache unfolds, and reads chunked
    /// dropping the length); the rest are Apache's answers too.
    static let framingRefusals: [WireCase] = [
        WireCase("Content-Length with Transfer-Encoding",
                 "POST /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        WireCase("obsolete line folding", "GET /file.txt HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"),
        WireCase("two Content-Lengths", "POST /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
        WireCase("a list Content-Length", "POST /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx"),
        WireCase("signed Content-Length", "POST /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx"),
        WireCase("negative Content-Length", "POST /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
        WireCase("huge Content-Length", "GET /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"),
        WireCase("whitespace before colon", "GET /file.txt HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n"),
        WireCase("bare CR in a value", "GET /file.txt HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n"),
        WireCase("NUL in a value", "GET /file.txt HTTP/1.1\r\nHost: a\r\nX-A: b\u{0}c\r\n\r\n"),
        WireCase("bare LF line endings", "GET /file.txt HTTP/1.1\nHost: a\n\n"),
        WireCase("Transfer-Encoding gzip", "POST /file.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
        WireCase("Transfer-Encoding chunked, gzip", "POST /file.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        WireCase("HTTP/1.1 without Host", "GET /file.txt HTTP/1.1\r\n\r\n"),
        WireCase("two Host fields", "GET /file.txt HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
        WireCase("11 empty lines before the request", String(repeating: "\r\n", count: 11) + "GET /file.txt HTTP/1.1\r\nHost: a\r\n\r\n"),
    ]

    @Test(arguments: framingRefusals)
    func framingRefusedWith400AndClosed(_ refusal: WireCase) throws {
        let (what, request) = (refusal.name, refusal.request)
        try F.withSkep { server in
            let (response, closed) = try F.refusal(server, Array(request.utf8))
            #expect(response?.status == 400, "\(what): \(response.map(\.description) ?? "no response")")
            #expect(response?.header("Connection") == "close", "\(what)")
            #expect(closed, "\(what): the server closes")
            F.expectStillServing(server, after: what)
        }
    }

    /// A bad chunk size is only seen when the body is read. Apache discards the body of
    /// a request to a static file by reading it, finds the bad size and answers 400 +
    /// close.
    @Test(arguments: ["GET", "POST"])
    func badChunkSizeIsRefused(_ method: String) throws {
        try F.withSkep { server in
            let request = "\(method) /file.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n"
            let (response, closed) = try F.refusal(server, Array(request.utf8))
            #expect(closed, "the server closes")
            #expect(response?.status == 400, "\(response.map(\.description) ?? "no response")")
            F.expectStillServing(server, after: "bad chunk size")
        }
    }

    // MARK: - Bodies and methods

    @Test func chunkedPostBodyIsDiscardedAndTheNextPipelinedRequestAnswered() throws {
        try F.withSkep { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            try client.send(
                "POST /file.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
                    + "GET /alpha.txt HTTP/1.1\r\nHost: a\r\n\r\n")
            let responses = try client.readResponses(2)
            // As Apache's default handler: the body is read and dropped, the file served.
            #expect(responses[0].status == 200, "\(responses[0])")
            #expect(responses[0].bodyText == F.fileBody)
            #expect(responses[1].status == 200)
            #expect(responses[1].bodyText == F.alphabet)
            #expect(client.connectionState(within: .milliseconds(300)) == .open)
        }
    }

    @Test func contentLengthBodyOnGetIsDiscardedAndTheNextPipelinedRequestAnswered() throws {
        try F.withSkep { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            try client.send(
                "GET /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                    + "GET /alpha.txt HTTP/1.1\r\nHost: a\r\n\r\n")
            let responses = try client.readResponses(2)
            #expect(responses.map(\.status) == [200, 200])
            #expect(responses[1].bodyText == F.alphabet)
        }
    }

    /// Expect: 100-continue. RFC 9110 §10.1.1 lets a server answer with the final
    /// status instead of 100 (and then close or read the body). Whatever skep does, a
    /// client that waits for the 100 before sending the body is never left hanging.
    @Test(arguments: ["GET", "POST"])
    func expectContinue(_ method: String) throws {
        try F.withSkep { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            try client.send("\(method) /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            // The first thing back: a 100 or the final response, within the deadline.
            let first = try #require(try client.readResponseOrClose(method: method, stopAtInterim: true))
            if first.status == 100 {
                try client.send("hello")
                let final = try client.readResponse()
                #expect(final.status == 200)
            } else {
                #expect(first.status == 200, "\(first)")
                // The body was not read: the server must not take it for a request.
                #expect(first.header("Connection") == "close", "\(first)")
                #expect(client.serverClosed(within: .seconds(2)))
            }
        }
    }

    @Test func unsupportedExpectationGets417() throws {
        try F.withSkep { server in
            let (response, closed) = try F.refusal(server, Array("GET /file.txt HTTP/1.1\r\nHost: a\r\nExpect: bogus\r\n\r\n".utf8))
            #expect(response?.status == 417)
            #expect(closed)
        }
    }

    @Test func unknownMethodGets501AndCloses() throws {
        try F.withSkep { server in
            let (response, closed) = try F.refusal(server, Array("FOO /file.txt HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
            #expect(response?.status == 501)
            #expect(response?.header("Connection") == "close")
            #expect(closed)
            #expect(response?.header("Allow") == "GET,POST,OPTIONS,HEAD,TRACE")
            F.expectStillServing(server, after: "501")
        }
    }

    @Test func connectGets405() throws {
        try F.withSkep { server in
            let response = try F.exchange(server, "CONNECT host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n")
            #expect(response.status == 405)
            #expect(response.header("Allow") != nil)
        }
    }

    @Test func optionsStarGets200() throws {
        try F.withSkep { server in
            let response = try F.exchange(server, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(response.status == 200)
            #expect(response.header("Content-Length") == "0")
            let file = try F.exchange(server, "OPTIONS /file.txt HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(file.status == 200)
            #expect(file.header("Allow")?.contains("GET") == true)
        }
    }

    @Test func traceEchoesTheRequestByDefault() throws {
        try F.withSkep { server in
            let response = try F.exchange(server, "TRACE /file.txt HTTP/1.1\r\nHost: a\r\nX-Echo: yes\r\n\r\n")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "message/http")
            #expect(response.bodyText.hasPrefix("TRACE /file.txt HTTP/1.1\r\n"), "\(response.bodyText.debugDescription)")
            #expect(response.bodyText.contains("X-Echo: yes\r\n"))
        }
    }

    /// Apache refuses TRACE with a request body: 413 and close (core's ap_send_http_trace).
    @Test func traceWithABodyIsRefused() throws {
        try F.withSkep { server in
            let (response, closed) = try F.refusal(server, Array("TRACE /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx".utf8))
            #expect(response?.status == 413, "\(response.map(\.description) ?? "no response")")
            #expect(closed)
            F.expectStillServing(server, after: "TRACE with a body")
        }
    }

    @Test func traceEnableOffGives405() throws {
        try F.withSkep(extra: "TraceEnable Off") { server in
            let response = try F.exchange(server, "TRACE /file.txt HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(response.status == 405)
            #expect(!response.bodyText.contains("TRACE /file.txt HTTP/1.1"))
        }
    }
}

