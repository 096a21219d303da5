import SkepConfig
import SkepHTTP
@testable import SkepServer
import Testing

@Suite struct FastCGIRecordTests {
    @Test func headerRoundTrip() throws {
        var out: [UInt8] = []
        let content: [UInt8] = Array("hello".utf8)
        content.withUnsafeBytes { FastCGIRecord.append(.stdout, requestID: 1, content: $0, to: &out) }
        // 8-byte header, 5 bytes content, 3 bytes padding to a multiple of 8.
        #expect(out.count == 16)
        #expect(Array(out[0..<8]) == [1, 6, 0, 1, 0, 5, 3, 0])
        let header = try out.withUnsafeBytes { try FastCGIRecord.parseHeader($0) }
        #expect(header == FastCGIRecord.Header(type: 6, requestID: 1, contentLength: 5, paddingLength: 3))
    }

    @Test func badVersionIsRejected() {
        let bytes: [UInt8] = [2, 6, 0, 1, 0, 0, 0, 0]
        #expect(throws: FastCGIRecord.HeaderError.badVersion(2)) { try bytes.withUnsafeBytes { try FastCGIRecord.parseHeader($0) } }
    }

    @Test func beginRequestAsksForTheResponderRole() {
        var out: [UInt8] = []
        FastCGIRecord.appendBeginRequest(keepConnection: true, to: &out)
        #expect(out == [1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0])
    }

    @Test func paramsUseOneOrFourByteLengths() {
        var params = FastCGIParams()
        params.add("A", "b")
        params.add(String(repeating: "n", count: 200), "v")
        #expect(Array(params.bytes[0..<4]) == [1, 1, 0x41, 0x62])
        #expect(Array(params.bytes[4..<9]) == [0x80, 0, 0, 200, 1])
        let decoded = FastCGIParams.decode(params.bytes)
        #expect(decoded?.count == 2)
        #expect(decoded?[1].name.count == 200)
    }

    @Test func paramRecordsHoldWholePairs() throws {
        var params = FastCGIParams()
        // Three pairs of ~7 KiB: the first two fit one 16 KiB record, the third gets the next.
        for i in 0..<3 { params.add("V\(i)", String(repeating: "x", count: 7000)) }
        var out: [UInt8] = []
        params.appendRecords(to: &out)
        var offset = 0
        var contents: [Int] = []
        while offset < out.count {
            let header = try out[offset...].withUnsafeBytes { try FastCGIRecord.parseHeader($0) }
            #expect(header.type == FastCGIRecord.RecordType.params.rawValue)
            contents.append(header.contentLength)
            offset += 8 + header.contentLength + header.paddingLength
        }
        #expect(contents.count == 3)
        #expect(contents.last == 0)
        // Each record decodes on its own, as PHP-FPM decodes them.
        var pairs = 0
        offset = 0
        for length in contents.dropLast() {
            let header = try out[offset...].withUnsafeBytes { try FastCGIRecord.parseHeader($0) }
            let body = Array(out[(offset + 8)..<(offset + 8 + length)])
            pairs += FastCGIParams.decode(body)?.count ?? -100
            offset += 8 + length + header.paddingLength
        }
        #expect(pairs == 3)
    }
}

@Suite struct CGIScriptHeadersTests {
    @Test func statusLocationAndTypeAreKeptApart() throws {
        let block = Array("Status: 404 Not Found\r\nX-Powered-By: PHP\r\nContent-type: text/html\r\nContent-Length: 12\r\nSet-Cookie: a=1\nSet-Cookie: b=2\r\n\r\n".utf8)
        let headers = try CGIScriptHeaders(block)
        #expect(headers.status?.code == 404)
        #expect(headers.contentType == "text/html")
        #expect(headers.fields.map(\.name) == ["X-Powered-By", "Set-Cookie", "Set-Cookie"])
        #expect(headers.fields.last?.value == "b=2")
    }

    @Test func aLineWithoutAColonIsABadHeader() {
        #expect(throws: CGIScriptHeaders.ParseError.badHeader("this is not a header")) {
            try CGIScriptHeaders(Array("this is not a header\r\n\r\n".utf8))
        }
    }

    @Test func aStatusBeyondHTTPsRangeIsABadHeader() throws {
        for status in ["600 Beyond", "999", "99", "abc"] {
            #expect(throws: CGIScriptHeaders.ParseError.self, "Status: \(status)") {
                try CGIScriptHeaders(Array("Status: \(status)\r\n\r\n".utf8))
            }
        }
        #expect(try CGIScriptHeaders(Array("Status: 599 Last\r\n\r\n".utf8)).status?.code == 599)
        #expect(try CGIScriptHeaders(Array("Status: 200\r\n\r\n".utf8)).status?.code == 200)
    }

    @Test func controlBytesNeverReachTheResponse() throws {
        let headers = try CGIScriptHeaders(Array("X-A: one\rtwo\n\n".utf8))
        #expect(headers.fields.first?.value == "onetwo")
    }

    @Test func endOfHeadersAcceptsCRLFAndLF() {
        func end(_ text: String) -> CGIScriptHeaderScanner.Outcome {
            var scanner = CGIScriptHeaderScanner(lineCountLimit: 100)
            return scanner.append(Array(text.utf8))
        }
        #expect(end("A: b\r\n\r\nbody") == .end(8))
        #expect(end("A: b\n\nbody") == .end(6))
        #expect(end("A: b\n\r\nbody") == .end(7))
        #expect(end("A: b\r\n") == .incomplete)
        #expect(end("A: b\n\r\r\n") == .incomplete)
    }

    /// The head arriving a byte at a time is found where it ends, each byte scanned once.
    @Test func scannerFindsTheEndAcrossPieces() {
        var scanner = CGIScriptHeaderScanner(lineCountLimit: 100)
        let text = Array("Status: 200\r\nX-A: b\r\n\r\nbody".utf8)
        var outcomes: [CGIScriptHeaderScanner.Outcome] = []
        for byte in text { outcomes.append(scanner.append([byte])) }
        #expect(outcomes.firstIndex(where: { $0 != .incomplete }) == 22)
        #expect(outcomes[22] == .end(23))
    }

    /// A line past Apache's HUGE_STRING_LEN, or more lines than the count allowed, ends
    /// the scan at once, whether the line has ended yet or not.
    @Test func scannerBoundsLinesAndTheirCount() {
        var long = CGIScriptHeaderScanner(lineCountLimit: 100)
        #expect(long.append(Array("X-Long: ".utf8) + [UInt8](repeating: 0x61, count: 8183)) == .incomplete)
        #expect(long.append([0x61]) == .lineTooLong(at: 0))
        var ended = CGIScriptHeaderScanner(lineCountLimit: 100)
        #expect(ended.append(Array("A: b\r\nX-Long: ".utf8) + [UInt8](repeating: 0x61, count: 9000) + Array("\r\n\r\n".utf8)) == .lineTooLong(at: 6))
        var exact = CGIScriptHeaderScanner(lineCountLimit: 100)
        #expect(exact.append(Array("X-Long: ".utf8) + [UInt8](repeating: 0x61, count: 8182) + Array("\r\n\r\n".utf8)) == .end(8194))
        var many = CGIScriptHeaderScanner(lineCountLimit: 3)
        #expect(many.append(Array(String(repeating: "X-A: b\r\n", count: 3).utf8)) == .incomplete)
        #expect(many.append(Array("X-A: b\r\n".utf8)) == .tooManyLines)
    }
}

@Suite struct CGIEnvironmentTests {
    @Test func pathInfoStartsWhereApacheFindsIt() {
        #expect(CGIEnvironment.pathInfoStart(uri: "/env.php/extra/path", pathInfo: "/extra/path") == 8)
        #expect(CGIEnvironment.pathInfoStart(uri: "/a/b.php//x", pathInfo: "/x") == 8)
        #expect(CGIEnvironment.pathInfoStart(uri: "/x.php", pathInfo: "/x.php") == 0)
    }

    @Test func headerNamesBecomeHTTPVariables() {
        #expect(CGIEnvironment.environmentName(forHeader: "X-Custom-Header") == "HTTP_X_CUSTOM_HEADER")
        #expect(CGIEnvironment.environmentName(forHeader: "accept") == "HTTP_ACCEPT")
        #expect(CGIEnvironment.environmentName(forHeader: "X_Under") == nil)
    }
}

@Suite struct ProxyWorkerTests {
    /// mod_proxy's `enc_path` canon: what the back end reads cannot hold a raw `?`,
    /// space, CR, LF, '%' or non-ASCII byte; '/' and the allowed punctuation stay.
    @Test func canonicalPathEscapesAsModProxy() {
        #expect(ProxyModule.canonicalPath("/a b?c\r\n%/\u{E9}.php") == "/a%20b%3Fc%0D%0A%25/%C3%A9.php")
        #expect(ProxyModule.canonicalPath("/x~$-_.+!*'(),;:@&=/Az09") == "/x~$-_.+!*'(),;:@&=/Az09")
        #expect(ProxyModule.canonicalPath("/\"<>#[]{}|\\^`") == "/%22%3C%3E%23%5B%5D%7B%7D%7C%5C%5E%60")
    }

    @Test func tcpURL() throws {
        let (worker, path) = try #require(ProxyWorker.parse("fcgi://127.0.0.1:9000/var/www/$1"))
        #expect(worker.host == "127.0.0.1")
        #expect(worker.port == 9000)
        #expect(path == "/var/www/$1")
        #expect(worker.key == "fcgi://127.0.0.1:9000")
    }

    @Test func unixSocketURLWithDefaultPort() throws {
        let (worker, path) = try #require(ProxyWorker.parse("unix:/run/php/php8.2-fpm.sock|fcgi://localhost/srv/x.php"))
        #expect(worker.unixPath == "/run/php/php8.2-fpm.sock")
        #expect(worker.host == "localhost")
        #expect(worker.port == 8000)
        #expect(path == "/srv/x.php")
    }

    @Test func parameters() {
        var p = ProxyWorkerParameters()
        #expect(p.set("timeout=2") == nil)
        #expect(p.set("enablereuse=on") == nil)
        #expect(p.set("flushpackets=auto") == nil)
        #expect(p.timeoutMilliseconds == 2000)
        #expect(p.reuse == true)
        #expect(p.flushPackets == .auto)
        #expect(p.set("max=4") == nil)
        #expect(p.set("acquire=250") == nil)
        #expect(p.max == 4)
        #expect(p.acquireMilliseconds == 250)
        #expect(p.set("max=0") != nil)
        #expect(p.set("bogus=1") != nil)
        #expect(p.set("enablereuse=maybe") != nil)
    }

    @Test func badURLs() {
        #expect(ProxyWorker.parse("unix:relative.sock|fcgi://localhost") == nil)
        #expect(ProxyWorker.parse("fcgi://host:notaport/") == nil)
        #expect(ProxyWorker.parse("/just/a/path") == nil)
    }
}
