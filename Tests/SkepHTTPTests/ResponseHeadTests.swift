import Testing
@testable import SkepHTTP

@Suite struct ResponseHeadTests {
    let date = Array("Sun, 22 Nov 2026 23:10:03 GMT".utf8)
    let server = Array("Apache/2.4.71 (Debian)".utf8)

    @Test func staticFileOrderAsApache() {
        // Apache 2.4.71 for GET / HTTP/1.0 with Connection: keep-alive, byte for byte.
        var r = ResponseHead(status: .ok, contentLength: 6, connection: .keepAlive(timeout: 5, max: 100))
        r.addDate("Last-Modified", HTTPDate(secondsSince1970: 1_795_388_996))
        r.add("ETag", "\"6-660e5935beb0d\"")
        r.add("Accept-Ranges", "bytes")
        r.setContentType("text/html")
        var out: [UInt8] = []
        r.write(into: &out, date: date, server: server)
        #expect(String(decoding: out, as: UTF8.self) == """
            HTTP/1.1 200 OK\r
            Date: Sun, 22 Nov 2026 23:10:03 GMT\r
            Server: Apache/2.4.71 (Debian)\r
            Last-Modified: Sun, 22 Nov 2026 23:09:56 GMT\r
            ETag: "6-660e5935beb0d"\r
            Accept-Ranges: bytes\r
            Content-Length: 6\r
            Keep-Alive: timeout=5, max=100\r
            Connection: Keep-Alive\r
            Content-Type: text/html\r
            \r

            """)
    }

    @Test func closeAndNone() {
        var r = ResponseHead(status: .badRequest, contentLength: 266, connection: .close)
        r.setContentType("text/html; charset=iso-8859-1")
        var out: [UInt8] = []
        r.write(into: &out, date: nil, server: nil)
        #expect(String(decoding: out, as: UTF8.self)
            == "HTTP/1.1 400 Bad Request\r\nContent-Length: 266\r\nConnection: close\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n")
        r.reset(status: .notModified)
        out.removeAll()
        r.write(into: &out, date: nil, server: nil)
        #expect(String(decoding: out, as: UTF8.self) == "HTTP/1.1 304 Not Modified\r\n\r\n")
        r.connection = .keepAlive(timeout: 5, max: nil)
        r.add(name: "X-Custom", value: "v")
        out.removeAll()
        r.write(into: &out, date: nil, server: nil)
        #expect(String(decoding: out, as: UTF8.self)
            == "HTTP/1.1 304 Not Modified\r\nX-Custom: v\r\nKeep-Alive: timeout=5\r\nConnection: Keep-Alive\r\n\r\n")
    }

    @Test func connectionChoiceAsApache() throws {
        func h(_ s: String) -> RequestHead { head(parseAll(s).0)! }
        let h11 = h("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let h11ka = h("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        let h10 = h("GET / HTTP/1.0\r\n\r\n")
        let h10ka = h("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(ConnectionHeader.apache(for: h11, keepAlive: true, timeout: 5, remaining: 100) == ConnectionHeader.none)
        #expect(ConnectionHeader.apache(for: h11ka, keepAlive: true, timeout: 5, remaining: 99) == .keepAlive(timeout: 5, max: 99))
        #expect(ConnectionHeader.apache(for: h10, keepAlive: true, timeout: 5, remaining: 100) == .close)
        #expect(ConnectionHeader.apache(for: h10ka, keepAlive: true, timeout: 5, remaining: 100) == .keepAlive(timeout: 5, max: 100))
        #expect(ConnectionHeader.apache(for: h11, keepAlive: false, timeout: 5, remaining: 100) == .close)
    }

    @Test func longestFixedParts() {
        var r = ResponseHead(status: HTTPStatus(code: 511), contentLength: Int64.max,
                             connection: .keepAlive(timeout: Int(Int64.max), max: Int(Int64.max)))
        r.setContentType("text/plain")
        var out: [UInt8] = Array("prefix".utf8)
        r.write(into: &out, date: date, server: server)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix("prefixHTTP/1.1 511 Network Authentication Required\r\n"))
        #expect(text.contains("Content-Length: 9223372036854775807\r\n"))
        #expect(text.contains("Keep-Alive: timeout=9223372036854775807, max=9223372036854775807\r\n"))
        #expect(text.hasSuffix("Content-Type: text/plain\r\n\r\n"))
        var odd = ResponseHead(status: HTTPStatus(code: 1234), contentLength: 0)
        odd.add("X", "y")
        out.removeAll()
        odd.write(into: &out, date: nil, server: nil)
        #expect(String(decoding: out, as: UTF8.self) == "HTTP/1.1 1234 \r\nX: y\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func decimals() {
        for n: Int64 in [0, 7, 10, 999, 1_000_000, Int64.max, -5, Int64.min] {
            var b: [UInt8] = []
            ResponseHead.appendDecimal(n, to: &b)
            #expect(String(decoding: b, as: UTF8.self) == String(n))
        }
    }

    @Test func continueResponse() {
        #expect(String(decoding: ResponseHead.continueResponse, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
    }

    /// A field nobody checked still cannot split the head: its control bytes go out as spaces.
    @Test func unsafeBytesNeverSplitTheHead() {
        var r = ResponseHead(status: .found)
        r.add(name: "X-A\r\nSet-Cookie", value: "a\r\nSet-Cookie: x=1")
        r.add("Location", "http://x/\n")
        r.add("X-B", bytes: Array("1\r\n2".utf8))
        r.setContentType("text/html\r\nX: y")
        var out: [UInt8] = []
        r.write(into: &out, date: nil, server: nil)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text == "HTTP/1.1 302 Found\r\nX-A  Set-Cookie: a  Set-Cookie: x=1\r\nLocation: http://x/ \r\nX-B: 1  2\r\nContent-Type: text/html  X: y\r\n\r\n")
    }
}

/// Apache's `check_header` for response fields (strict `HttpProtocolOptions`).
@Suite struct ResponseFieldTests {
    func check(_ name: String, _ value: String) -> Result<String?, ResponseField.Problem> {
        Result { () throws(ResponseField.Problem) -> String? in try ResponseField.check(name: name, value: value) }
    }

    @Test func acceptsTokensAndFieldContent() {
        #expect(check("Location", "http://x/new/%0a") == .success(nil))
        #expect(check("X-Odd!#$%&'*+-.^_`|~", "tab\there, obs-text \u{e9}") == .success(nil))
        #expect(check("X", "") == .success(nil))
    }

    @Test func unfoldsFolds() {
        #expect(check("X", "a\r\n b") == .success("a b"))
        #expect(check("X", "a\r\n\t \tb\r\n c") == .success("a b c"))
    }

    @Test func refusesWhatApacheRefuses() {
        #expect(check("", "x") == .failure(.emptyName))
        for name in ["X Y", "X:", "X\r\nY", "X\u{0}", "Ä", "(x)"] {
            #expect(check(name, "x") == .failure(.invalidName), "\(name.debugDescription)")
        }
        for value in ["a\nb", "a\rb", "a\r\nb", "a\r\n", "a\u{0}", "\u{1b}[31m", "a\u{7f}", "a\r\n\r\n b"] {
            #expect(check("X", value) == .failure(.invalidValue), "\(value.debugDescription)")
        }
        #expect(ResponseField.message(.invalidValue, name: "Location", value: "v").hasPrefix("AH02430: Response header 'Location' value of 'v'"))
    }

    @Test func pathEscapingAsApache() {
        // ap_os_escape_path(partial): lower-case hex, `$-_.+!*'(),:;@&=/~` kept.
        #expect(PathEscaping.escape("/new/\n") == "/new/%0a")
        #expect(PathEscaping.escape("/a b\"?%#\u{e9}\u{7f}") == "/a%20b%22%3f%25%23%c3%a9%7f")
        #expect(PathEscaping.escape("/$-_.+!*'(),:;@&=/~az09AZ") == "/$-_.+!*'(),:;@&=/~az09AZ")
    }
}
