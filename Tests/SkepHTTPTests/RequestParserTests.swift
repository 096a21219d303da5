import Testing
@testable import SkepHTTP

/// Parses `text` in one go.
func parseAll(_ text: String, limits: HTTPLimits = HTTPLimits()) -> (RequestParser.Result, [UInt8]) {
    let bytes = Array(text.utf8)
    var p = RequestParser(limits: limits)
    return (p.parse(bytes), bytes)
}

func parseBytes(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits()) -> RequestParser.Result {
    var p = RequestParser(limits: limits)
    return p.parse(bytes)
}

func head(_ r: RequestParser.Result) -> RequestHead? {
    if case .headComplete(let h, _) = r { return h }
    return nil
}

func status(_ r: RequestParser.Result) -> Int? {
    if case .error(let s, _) = r { return s.code }
    return nil
}

/// Feeds the bytes as they would arrive: the buffer grows by `step` bytes at a time.
func parseIncrementally(_ bytes: [UInt8], splits: [Int]) -> RequestParser.Result {
    var p = RequestParser()
    var last: RequestParser.Result = .needMore
    for end in splits + [bytes.count] {
        last = bytes.withUnsafeBytes { p.parse(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
        if case .needMore = last { continue }
        return last
    }
    return last
}

@Suite struct RequestParserTests {
    @Test func simpleGet() {
        let (r, b) = parseAll("GET /index.html?x=1&y HTTP/1.1\r\nHost: Example.COM:8080\r\nAccept: */*\r\n\r\n")
        guard case .headComplete(let h, let consumed) = r else { Issue.record("\(r)"); return }
        #expect(consumed == b.count)
        #expect(h.method == .get)
        #expect(h.method(in: b) == "GET")
        #expect(h.target(in: b) == "/index.html?x=1&y")
        #expect(h.path(in: b) == "/index.html")
        #expect(h.query(in: b) == "x=1&y")
        #expect(h.version == .http11)
        #expect(h.host(in: b) == "example.com")
        #expect(h.port == 8080)
        #expect(h.keepAlive)
        #expect(!h.clientSentKeepAlive)
        #expect(h.framing == .none)
        #expect(h.expectation == .none)
        #expect(h.targetForm == .origin)
        #expect(h.fields.count == 2)
        #expect(h.firstValue(of: "accept", in: b) == "*/*")
        #expect(h.firstValue(of: "ACCEPT", in: b) == "*/*")
        #expect(h.firstValue(of: "missing", in: b) == nil)
    }

    @Test func noQueryMeansNil() {
        let (r, b) = parseAll("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(head(r)?.query(in: b) == nil)
        let (r2, b2) = parseAll("GET /a? HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(head(r2)?.query(in: b2) == "")
    }

    @Test func multipleValuesAndWhitespaceTrimmed() {
        let (r, b) = parseAll("GET / HTTP/1.1\r\nHost:x\r\nX-A:  one \t\r\nx-a:\ttwo\r\nX-Empty:\r\n\r\n")
        let h = head(r)
        #expect(h?.values(of: "X-A", in: b) == ["one", "two"])
        #expect(h?.combinedValue(of: "x-a", in: b) == "one, two")
        #expect(h?.firstValue(of: "x-empty", in: b) == "")
        #expect(h?.host(in: b) == "x")
    }

    @Test func obsTextInValueAccepted() {
        // Apache 2.4 accepts bytes >= 0x80 in values (200).
        var b = Array("GET / HTTP/1.1\r\nHost: x\r\nFoo: b".utf8)
        b += [0xE9] + Array("ar\r\n\r\n".utf8)
        #expect(head(parseBytes(b)) != nil)
    }

    // MARK: versions

    @Test func http10DefaultsToClose() {
        let (r, _) = parseAll("GET / HTTP/1.0\r\n\r\n")
        #expect(head(r)?.version == .http10)
        #expect(head(r)?.keepAlive == false)
        #expect(head(r)?.hostRange == nil)
    }

    @Test func http10KeepAlive() {
        let (r, _) = parseAll("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        #expect(head(r)?.keepAlive == true)
        #expect(head(r)?.clientSentKeepAlive == true)
        // Apache: "close, keep-alive" closes.
        let (r2, _) = parseAll("GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n")
        #expect(head(r2)?.keepAlive == false)
        // Apache: tokens from several Connection fields count.
        let (r3, _) = parseAll("GET / HTTP/1.0\r\nConnection: foo\r\nConnection: keep-alive\r\n\r\n")
        #expect(head(r3)?.keepAlive == true)
    }

    @Test func http11Close() {
        #expect(head(parseAll("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").0)?.keepAlive == false)
        #expect(head(parseAll("GET / HTTP/1.1\r\nHost: x\r\nConnection: CLOSE\r\n\r\n").0)?.keepAlive == false)
        #expect(head(parseAll("GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, close\r\n\r\n").0)?.keepAlive == false)
        let h = head(parseAll("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n").0)
        #expect(h?.keepAlive == true)
        #expect(h?.clientSentKeepAlive == true)
    }

    @Test func higherVersionsServedAsHTTP11() {
        // Apache 2.4: HTTP/1.2, 2.0, 3.0 are answered 200 as HTTP/1.1.
        for v in ["1.2", "2.0", "3.0", "9.9"] {
            let h = head(parseAll("GET / HTTP/\(v)\r\nHost: x\r\n\r\n").0)
            #expect(h != nil, "HTTP/\(v)")
            #expect(h?.keepAlive == true)
        }
        #expect(status(parseAll("GET / HTTP/2.0\r\n\r\n").0) == 400)  // needs Host like 1.1
    }

    @Test func badVersions() {
        // Apache 2.4 (strict): 400 for each of these.
        for v in ["HTTP/1.10", "HTTP/01.1", "http/1.1", "HTTP/0.9", "FOO", "HTTP/1", "HTTP/1.", "HTTP/a.b", "HTTP/1.1 ", "HTTP/1.1 x", "HTTP/1,1"] {
            #expect(status(parseAll("GET / \(v)\r\nHost: x\r\n\r\n").0) == 400, "\(v)")
        }
    }

    // MARK: HTTP/0.9

    @Test func http09SimpleRequest() {
        // Apache 2.4 answers "GET /\r\n" with the bare body and reads no headers.
        let (r, b) = parseAll("GET /index.html\r\nHost: x\r\n\r\n")
        guard case .headComplete(let h, let consumed) = r else { Issue.record("\(r)"); return }
        #expect(h.version == .http09)
        #expect(consumed == 17)
        #expect(h.path(in: b) == "/index.html")
        #expect(h.keepAlive == false)
        #expect(h.fields.isEmpty)
    }

    @Test func http09OnlyForGet() {
        // Apache: HEAD/POST/FOO without version are 400.
        for m in ["HEAD", "POST", "FOO"] {
            #expect(status(parseAll("\(m) /\r\n").0) == 400)
        }
        // Apache: a bare-LF 0.9 request is a 400 too.
        #expect(status(parseAll("GET /\n").0) == 400)
    }

    @Test func http09CanBeDisabled() {
        #expect(status(parseAll("GET /\r\n", limits: HTTPLimits(allowHTTP09: false)).0) == 400)
    }

    // MARK: request line

    @Test func unknownAndLowercaseMethodsAccepted() {
        // Apache answers 501 later; the parser accepts any token.
        let (r, b) = parseAll("FOO / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(head(r)?.method == .other)
        #expect(head(r)?.method(in: b) == "FOO")
        #expect(head(parseAll("get / HTTP/1.1\r\nHost: x\r\n\r\n").0)?.method == .other)
        #expect(head(parseAll("M-SEARCH / HTTP/1.1\r\nHost: x\r\n\r\n").0)?.method == .other)
    }

    @Test func knownMethods() {
        let pairs: [(String, HTTPMethod)] = [("GET", .get), ("HEAD", .head), ("POST", .post), ("PUT", .put),
                                             ("DELETE", .delete), ("OPTIONS", .options), ("TRACE", .trace), ("PATCH", .patch)]
        for (m, e) in pairs {
            #expect(head(parseAll("\(m) / HTTP/1.1\r\nHost: x\r\n\r\n").0)?.method == e)
        }
    }

    @Test func malformedRequestLines() {
        // All 400 in Apache 2.4.71.
        let lines = [
            "G(T / HTTP/1.1",  // bad method char
            "GET  / HTTP/1.1",  // two spaces
            "GET / HTTP/1.1 ",  // trailing space
            "GET\t/\tHTTP/1.1",  // tabs
            "GET / HTTP/1.1 x",  // extra token
            "GET  HTTP/1.1",  // no path
            "GET index.html HTTP/1.1",  // relative path
            "GET /a b HTTP/1.1",  // space in URI
            "GET /#frag HTTP/1.1",  // fragment
            "GET /a?b?#c HTTP/1.1",
            " GET / HTTP/1.1",
            "GET",
            "GET ",
        ]
        for l in lines {
            #expect(status(parseAll("\(l)\r\nHost: x\r\n\r\n").0) == 400, "\(l)")
        }
        // Control characters in the target: 400; DEL too.
        #expect(status(parseBytes(Array("GET /\u{01} HTTP/1.1\r\nHost: x\r\n\r\n".utf8))) == 400)
        #expect(status(parseBytes(Array("GET /\u{7F} HTTP/1.1\r\nHost: x\r\n\r\n".utf8))) == 400)
    }

    @Test func targetCharactersApacheAccepts() {
        // Apache: these reach the handler (404 for a missing file), not a 400.
        for c in "!\"$&'()*+,;=:@[]{}|\\^`<>~%" {
            #expect(head(parseAll("GET /a\(c)b HTTP/1.1\r\nHost: x\r\n\r\n").0) != nil, "\(c)")
        }
        var b = Array("GET /".utf8) + [0xE9] + Array(" HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        #expect(head(parseBytes(b)) != nil)
        b = Array("GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        #expect(head(parseBytes(b)) != nil)
    }

    @Test func asteriskOnlyForOptions() {
        let h = head(parseAll("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").0)
        #expect(h?.targetForm == .asterisk)
        #expect(status(parseAll("GET * HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
    }

    @Test func absoluteForm() {
        let (r, b) = parseAll("GET http://Other.example:81/index.html?q HTTP/1.1\r\nHost: x\r\n\r\n")
        let h = head(r)
        #expect(h?.targetForm == .absolute)
        #expect(h?.host(in: b) == "other.example")
        #expect(h?.port == 81)
        #expect(h?.path(in: b) == "/index.html")
        #expect(h?.query(in: b) == "q")
        let (r2, b2) = parseAll("GET HTTPS://x HTTP/1.1\r\nHost: y\r\n\r\n")
        #expect(head(r2)?.path(in: b2) == "/")
        #expect(head(r2)?.host(in: b2) == "x")
        // Apache: ftp scheme and userinfo are 400; HTTP/1.1 still needs Host; 1.0 does not.
        #expect(status(parseAll("GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
        #expect(status(parseAll("GET http://u@x/ HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
        #expect(status(parseAll("GET http://other/ HTTP/1.1\r\n\r\n").0) == 400)
        #expect(head(parseAll("GET http://x/ HTTP/1.0\r\n\r\n").0) != nil)
        #expect(status(parseAll("GET http:/x/ HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
        // Apache ignores the Host value when the target has a host: these are 200.
        let (r3, b3) = parseAll("GET http://x/ HTTP/1.1\r\nHost: a b\r\n\r\n")
        #expect(head(r3)?.host(in: b3) == "x")
        #expect(head(parseAll("GET http://x/ HTTP/1.1\r\nHost:\r\n\r\n").0) != nil)
        #expect(status(parseAll("GET http://x..y/ HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
    }

    @Test func connect() {
        // Apache without mod_proxy: CONNECT host:port is answered 405 (connection kept);
        // the parser accepts it as authority-form.
        let (r, b) = parseAll("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        let h = head(r)
        #expect(h?.method == .connect)
        #expect(h?.targetForm == .authority)
        #expect(h?.host(in: b) == "example.com")
        #expect(h?.port == 443)
        #expect(h?.keepAlive == true)
        // Apache: 400 for CONNECT with an origin-form target or without port, and for an
        // authority-form target with another method.
        #expect(status(parseAll("CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
        #expect(status(parseAll("CONNECT example.com HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
        #expect(status(parseAll("GET example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
    }

    @Test func moreApacheAnswers() {
        // Measured on Apache 2.4.71.
        #expect(status(parseAll("CONNECT http://x:443/ HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
        let (r, b) = parseAll("CONNECT [::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n")  // 405 in Apache
        #expect(head(r)?.host(in: b) == "[::1]")
        #expect(head(r)?.port == 443)
        #expect(head(parseAll("OPTIONS * HTTP/1.0\r\n\r\n").0)?.targetForm == .asterisk)
        #expect(status(parseAll("GET *\r\n").0) == 400)
        #expect(head(parseAll("GET http://x/\r\n").0)?.version == .http09)  // served as 0.9
        var u = Array("GET / HTTP/1.1\r\nHost: x\r\nF".utf8) + [0xC3, 0xA9] + Array(": 1\r\n\r\n".utf8)
        #expect(status(parseBytes(u)) == 400)  // non-token header name
        u = Array("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n".utf8)
        #expect(head(parseBytes(u))?.keepAlive == false)
    }

    // MARK: leading empty lines

    @Test func leadingEmptyLines() {
        // Apache skips up to 10 CRLFs; the 11th is a 400; a bare LF is a 400.
        for n in 0...10 {
            let text = String(repeating: "\r\n", count: n) + "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
            guard case .headComplete(let h, let consumed) = parseAll(text).0 else { Issue.record("n=\(n)"); continue }
            #expect(consumed == text.utf8.count)
            #expect(h.methodRange == (2 * n)..<(2 * n + 3))
        }
        #expect(status(parseAll(String(repeating: "\r\n", count: 11) + "GET / HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
        #expect(status(parseAll("\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
        #expect(status(parseAll("\r\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").0) == 400)
    }

    // MARK: header syntax

    @Test func headerRefusals() {
        // Apache 2.4.71: every one of these is a 400 with Connection: close.
        let bad = [
            "Foo : bar",  // whitespace before colon
            "Foo\t: bar",
            "Foo",  // no colon
            ": bar",  // empty name
            "F(o: bar",  // bad name char
            "F\"o: bar",
            "Foo: b\u{01}ar",  // control character
            "Foo: b\u{7F}ar",  // DEL
            "Foo: b\u{0B}ar",
        ]
        for l in bad {
            #expect(status(parseAll("GET / HTTP/1.1\r\nHost: x\r\n\(l)\r\n\r\n").0) == 400, "\(l)")
        }
    }

    @Test func obsoleteLineFoldingRefused() {
        // Apache folds these (200); Skep refuses them (DESIGN.md §6).
        #expect(status(parseAll("GET / HTTP/1.1\r\nHost: x\r\nFoo: bar\r\n baz\r\n\r\n").0) == 400)
        #expect(status(parseAll("GET / HTTP/1.1\r\nHost: x\r\nFoo: bar\r\n\tbaz\r\n\r\n").0) == 400)
        // Apache too: whitespace before the first header line is a 400.
        #expect(status(parseAll("GET / HTTP/1.1\r\n Host: x\r\n\r\n").0) == 400)
    }

    @Test func nulAndBareCRRefused() {
        #expect(status(parseBytes(Array("GET / HTTP/1.1\r\nHost: x\r\nFoo: b\0ar\r\n\r\n".utf8))) == 400)
        #expect(status(parseBytes(Array("GET / HTTP/1.1\r\nHost: x\r\nFoo: b\rar\r\n\r\n".utf8))) == 400)
        #expect(status(parseBytes(Array("GET /\r HTTP/1.1\r\nHost: x\r\n\r\n".utf8))) == 400)
        #expect(status(parseBytes(Array("GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n".utf8))) == 400)
        #expect(status(parseBytes(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\r\n".utf8))) == 400)
        // NUL is refused as soon as it is seen, before the line is complete.
        #expect(status(parseBytes(Array("GET /\0".utf8))) == 400)
    }

    @Test func lfOnlyRefused() {
        // Apache 2.4 (strict) answers 400 to LF-only line endings.
        #expect(status(parseAll("GET / HTTP/1.1\nHost: x\n\n").0) == 400)
        #expect(status(parseAll("GET / HTTP/1.1\r\nHost: x\n\r\n").0) == 400)
        #expect(status(parseAll("GET / HTTP/1.1\r\nHost: x\r\n\n").0) == 400)
    }

    // MARK: Host

    @Test func hostRules() {
        #expect(status(parseAll("GET / HTTP/1.1\r\n\r\n").0) == 400)  // missing
        #expect(status(parseAll("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n").0) == 400)
        #expect(status(parseAll("GET / HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n").0) == 400)  // even identical
        #expect(status(parseAll("GET / HTTP/1.1\r\nHost:\r\n\r\n").0) == 400)  // empty on 1.1
        #expect(head(parseAll("GET / HTTP/1.0\r\nHost:\r\n\r\n").0) != nil)  // allowed on 1.0
        let good = ["a.b-c_d", "1.2.3.4:80", "[::1]:80", "[::1]", "-x", "X.COM", "x.", "x:65535", "x:08", "1.2.3.4", "123:80"]
        for g in good {
            #expect(head(parseAll("GET / HTTP/1.1\r\nHost: \(g)\r\n\r\n").0) != nil, "\(g)")
        }
        let bad = ["x:", "x:abc", "x:99999", "x:65536", "x:0", "x..y", "a%20b", "a@b", "a,b", "*", "a b", "a/b", "a\\b",
                   "a~b", "a!b", "a$b", "a+b", "a=b", "a;b", "a'b", "123", "[::1", "[zz]", "[::1]x", "x::80", "x:80:80", ":80", "[]"]
        for g in bad {
            #expect(status(parseAll("GET / HTTP/1.1\r\nHost: \(g)\r\n\r\n").0) == 400, "\(g)")
        }
        var b = Array("GET / HTTP/1.1\r\nHost: ".utf8) + [0xE9] + Array("x\r\n\r\n".utf8)
        #expect(status(parseBytes(b)) == 400)
        b = Array("GET / HTTP/1.1\r\nHost: x.\r\n\r\n".utf8)
        #expect(head(parseBytes(b))?.host(in: b) == "x")
    }

    // MARK: framing

    @Test func contentLength() {
        let h = head(parseAll("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0003\r\n\r\nabc").0)
        #expect(h?.framing == .length(3))
        #expect(head(parseAll("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3 \r\n\r\n").0)?.framing == .length(3))
        #expect(head(parseAll("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").0)?.framing == BodyFraming.none)
        #expect(head(parseAll("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775807\r\n\r\n").0)?.framing
            == .length(Int64.max))
        // Apache 2.4: all 400.
        for v in ["-3", "+3", "3a", "", "99999999999999999999999", "9223372036854775808", "3, 3", "0x3", "3 3", "1e3"] {
            #expect(status(parseAll("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(v)\r\n\r\n").0) == 400, "\(v)")
        }
        #expect(status(parseAll("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n").0) == 400)
        #expect(status(parseAll("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n").0) == 400)
    }

    @Test func transferEncoding() {
        for v in ["chunked", "CHUNKED", "gzip, chunked", "chunked, chunked", ",chunked", "gzip chunked", "gzip,\tchunked"] {
            #expect(head(parseAll("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \(v)\r\n\r\n").0)?.framing == .chunked, "\(v)")
        }
        // Apache answers 400 (not 501) to a last coding other than chunked.
        for v in ["gzip", "identity", "chunked, gzip", "chunked;foo=bar", "chunked,", "", "xchunked", "chunke"] {
            #expect(status(parseAll("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \(v)\r\n\r\n").0) == 400, "\(v)")
        }
        // Apache merges repeated fields: the last one decides.
        #expect(head(parseAll("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n").0)?.framing == .chunked)
        #expect(status(parseAll("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n").0) == 400)
        // HTTP/1.0 with chunked: Apache accepts it.
        #expect(head(parseAll("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").0)?.framing == .chunked)
    }

    @Test func contentLengthWithTransferEncodingRefused() {
        // Apache drops Content-Length and closes; Skep refuses (DESIGN.md §6).
        #expect(status(parseAll("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n").0) == 400)
        #expect(status(parseAll("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n").0) == 400)
    }

    @Test func expect() {
        #expect(head(parseAll("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n").0)?.expectsContinue == true)
        #expect(head(parseAll("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n").0)?.expectation == .continue100)
        #expect(head(parseAll("GET / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n").0)?.expectation == .unsupported)
        #expect(head(parseAll("GET / HTTP/1.1\r\nHost: x\r\nExpect:\r\n\r\n").0)?.expectation == Expectation.none)
        // Apache answers 417 to an unknown expectation from HTTP/1.0 clients too.
        #expect(head(parseAll("GET / HTTP/1.0\r\nExpect: foo\r\n\r\n").0)?.expectation == .unsupported)
        // Apache ignores 100-continue from HTTP/1.0 clients.
        #expect(head(parseAll("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n").0)?.expectation == Expectation.none)
    }

    // MARK: limits

    /// A request line of exactly `n` bytes (CRLF excluded).
    func requestLine(_ n: Int) -> String {
        "GET /" + String(repeating: "a", count: n - 14) + " HTTP/1.1"
    }

    @Test func requestLineLimit() {
        // Apache 2.4.71 with LimitRequestLine 8190: 8191 bytes pass, 8192 get a 414.
        for n in [8189, 8190, 8191] {
            #expect(head(parseAll(requestLine(n) + "\r\nHost: x\r\n\r\n").0) != nil, "\(n)")
        }
        for n in [8192, 8193, 9000] {
            #expect(status(parseAll(requestLine(n) + "\r\nHost: x\r\n\r\n").0) == 414, "\(n)")
        }
        // Refused as soon as the line is known to be too long, without waiting for CRLF.
        #expect(status(parseAll(String(requestLine(8192).prefix(8192))).0) == 414)
        #expect(parseAll(String(requestLine(8191).prefix(8191))).0 == .needMore)
        // With LimitRequestLine 100: 101 pass, 102 get a 414 (measured).
        let l = HTTPLimits(requestLine: 100)
        #expect(head(parseAll(requestLine(101) + "\r\nHost: x\r\n\r\n", limits: l).0) != nil)
        #expect(status(parseAll(requestLine(102) + "\r\nHost: x\r\n\r\n", limits: l).0) == 414)
        // HTTP/0.9 lines too.
        #expect(status(parseAll("GET /" + String(repeating: "a", count: 97) + "\r\n", limits: l).0) == 414)
        #expect(head(parseAll("GET /" + String(repeating: "a", count: 96) + "\r\n", limits: l).0) != nil)
    }

    func field(_ n: Int) -> String { "X-A: " + String(repeating: "b", count: n - 5) }

    @Test func fieldSizeLimit() {
        // Apache 2.4.71 with LimitRequestFieldSize 8190: a line of 8191 passes, 8192 is a 400.
        for n in [8189, 8190, 8191] {
            #expect(head(parseAll("GET / HTTP/1.1\r\nHost: x\r\n\(field(n))\r\n\r\n").0) != nil, "\(n)")
        }
        for n in [8192, 8193] {
            #expect(status(parseAll("GET / HTTP/1.1\r\nHost: x\r\n\(field(n))\r\n\r\n").0) == 400, "\(n)")
        }
        // Trailing blanks count (measured with limit 100: 98 bytes + 3 blanks pass, +4 fail).
        let l = HTTPLimits(requestFieldSize: 100)
        #expect(head(parseAll("GET / HTTP/1.1\r\nHost: x\r\n\(field(98))   \r\n\r\n", limits: l).0) != nil)
        #expect(status(parseAll("GET / HTTP/1.1\r\nHost: x\r\n\(field(99))   \r\n\r\n", limits: l).0) == 400)
    }

    func fields(_ n: Int) -> String {
        "GET / HTTP/1.1\r\nHost: x\r\n" + (0..<(n - 1)).map { "X-\($0): v\r\n" }.joined() + "\r\n"
    }

    @Test func fieldCountLimit() {
        // Apache: 100 fields pass, 101 are a 400.
        #expect(head(parseAll(fields(99)).0) != nil)
        #expect(head(parseAll(fields(100)).0)?.fields.count == 100)
        #expect(status(parseAll(fields(101)).0) == 400)
        let l = HTTPLimits(requestFields: 5)
        #expect(head(parseAll(fields(5), limits: l).0) != nil)
        #expect(status(parseAll(fields(6), limits: l).0) == 400)
    }

    // MARK: incremental

    static let sample = "\r\nPOST http://h.example/p/a%20th?q=1 HTTP/1.1\r\nHost: ignored.example\r\nContent-Length: 5\r\n"
        + "Connection: keep-alive\r\nX-Long: " + String(repeating: "v", count: 300) + "\r\nExpect: 100-continue\r\n\r\nhello"

    @Test func everySplitPointGivesTheSameHead() {
        let bytes = Array(Self.sample.utf8)
        let whole = parseBytes(bytes)
        guard case .headComplete(_, let consumed) = whole else { Issue.record("\(whole)"); return }
        #expect(consumed == bytes.count - 5)
        for split in 0...bytes.count {
            #expect(parseIncrementally(bytes, splits: [split]) == whole, "split \(split)")
        }
        // Byte by byte.
        #expect(parseIncrementally(bytes, splits: Array(0..<bytes.count)) == whole)
        // Two split points.
        for a in stride(from: 0, to: bytes.count, by: 7) {
            for b in stride(from: a, to: bytes.count, by: 11) {
                #expect(parseIncrementally(bytes, splits: [a, b]) == whole)
            }
        }
    }

    @Test func everySplitPointGivesTheSameError() {
        let bytes = Array("GET / HTTP/1.1\r\nHost: x\r\nFoo: b\rar\r\n\r\n".utf8)
        for split in 0...bytes.count {
            #expect(status(parseIncrementally(bytes, splits: [split])) == 400)
        }
        let lf = Array("GET / HTTP/1.1\r\nHost: x\n\r\n".utf8)
        for split in 0...lf.count {
            #expect(status(parseIncrementally(lf, splits: [split])) == 400)
        }
    }

    @Test func incompleteHeadNeedsMore() {
        let bytes = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        for n in 0..<bytes.count {
            #expect(parseBytes(Array(bytes[0..<n])) == .needMore, "\(n)")
        }
    }

    @Test func errorIsSticky() {
        var p = RequestParser()
        let bad = Array("GET / HTTP/1.1\r\nFoo : x\r\n".utf8)
        #expect(status(p.parse(bad)) == 400)
        #expect(status(p.parse(bad + Array("\r\n".utf8))) == 400)
    }

    @Test func pipelinedRequests() {
        let text = "GET /one HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc"
            + "GET /three HTTP/1.0\r\n\r\n"
        let bytes = Array(text.utf8)
        var p = RequestParser()
        var offset = 0
        var paths: [String] = []
        while offset < bytes.count {
            let r = bytes.withUnsafeBytes { p.parse(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            guard case .headComplete(let h, let consumed) = r else { Issue.record("\(r)"); return }
            let view = Array(bytes[offset...])
            paths.append(h.path(in: view))
            offset += consumed
            if case .length(let n) = h.framing { offset += Int(n) }
            p.reset()
        }
        #expect(paths == ["/one", "/two", "/three"])
        #expect(offset == bytes.count)
    }

    @Test func resetReusesStorageWithoutLeakingFields() {
        var p = RequestParser()
        let one = Array("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n".utf8)
        let two = Array("GET / HTTP/1.1\r\nHost: b\r\n\r\n".utf8)
        let h1 = head(p.parse(one))
        p.reset()
        let h2 = head(p.parse(two))
        #expect(h1?.fields.count == 3)  // the caller's copy is untouched
        #expect(h2?.fields.count == 1)
        #expect(h2?.host(in: two) == "b")
    }
}
