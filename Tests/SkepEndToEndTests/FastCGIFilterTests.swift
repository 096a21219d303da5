import Foundation
import Testing
import SkepTestSupport

/// The filter chain on PHP-FPM answers, against Apache with the same php-fpm pool:
/// DEFLATE on a script's body (as it arrives), conditionals on the script's own
/// `ETag`/`Last-Modified` (Apache's `ap_scan_script_header_err` calls
/// `ap_meets_conditions`), and ranges. Compared as `DeflateDifferentialTests` compares.
@Suite(.tags(.apache, .skepBinary, .phpFPM), .enabled(if: Oracle.isAvailable && PHPFPM.isAvailable, "needs apache2 and php-fpm"),
       .timeLimit(.minutes(10)))
struct FastCGIFilterTests {
    typealias F = FastCGIFixture
    typealias Shape = DeflateDifferentialTests.Shape

    static let scripts: [String: String] = [
        "page.php": """
            <?php
            header('Content-Type: text/html');
            echo str_repeat("<p>a page from php</p>\\n", 400);
            """,
        "tiny.php": "<?php\necho \"hi\\n\";\n",
        "plain.php": "<?php\nheader('Content-Type: image/png');\necho str_repeat('not a png ', 100);\n",
        "validators.php": """
            <?php
            header('Content-Type: text/html');
            header('ETag: "php-tag"');
            header('Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT');
            echo str_repeat("<p>validated</p>\\n", 300);
            """,
        // The first part, a flush, then the second part only once the test has created
        // `go` next to the script (at most 10 s): no timing is assumed.
        "wait.php": """
            <?php
            header('Content-Type: text/html');
            echo str_repeat("<p>first part</p>\\n", 100);
            flush();
            $deadline = microtime(true) + 10;
            while (!file_exists(__DIR__ . '/go') && microtime(true) < $deadline) { usleep(10000); }
            echo str_repeat("<p>second part</p>\\n", 100);
            """,
    ]

    static func withPair(_ body: (ServerProcess, ServerProcess) throws -> Void) throws {
        try PHPFPM.with { fpm in
            try withServerPair(setUp: { config in
                config.modules = F.modules + ["filter", "deflate"]
                config.skepModules = config.modules.filter { TestConfig.skepAvailableModules.contains($0) || $0 == "mime" }
                config.extra = """
                    \(F.unixHandler(fpm))
                    <IfModule mod_filter.c>
                        AddOutputFilterByType DEFLATE text/html text/plain text/xml text/css text/javascript
                    </IfModule>
                    <Proxy "unix:\(fpm.socketPath)|fcgi://localhost">
                        ProxySet flushpackets=on
                    </Proxy>
                    """
                for (path, text) in Self.scripts { try config.root.writeDocument(path, text) }
            }, body)
        }
    }

    static let gzip = "Accept-Encoding: gzip"

    @Test func scriptAnswersAreFilteredAsApacheFiltersThem() throws {
        let cases: [(String, [String], String)] = [
            ("/page.php", [Self.gzip], "GET"), ("/page.php", [], "GET"), ("/page.php", [Self.gzip], "HEAD"),
            ("/tiny.php", [Self.gzip], "GET"), ("/plain.php", [Self.gzip], "GET"),
            ("/validators.php", [Self.gzip], "GET"),
            ("/validators.php", [Self.gzip, "If-None-Match: \"php-tag\""], "GET"),
            ("/validators.php", ["If-None-Match: \"php-tag\""], "GET"),
            ("/validators.php", ["If-None-Match: \"other\""], "GET"),
            ("/validators.php", ["If-Match: \"other\""], "GET"),
            ("/validators.php", ["If-Modified-Since: Tue, 02 Jan 2024 00:00:00 GMT"], "GET"),
            ("/validators.php", ["If-Modified-Since: Sun, 31 Dec 2023 00:00:00 GMT"], "GET"),
            ("/validators.php", ["Range: bytes=0-9"], "GET"),
            ("/validators.php", [Self.gzip, "Range: bytes=0-9"], "GET"),
        ]
        try Self.withPair { skep, apache in
            for (path, fields, method) in cases {
                let s = try F.exchange(skep, request(path, fields, method, skep.port))
                let a = try F.exchange(apache, request(path, fields, method, apache.port))
                var skepShape = Shape(s, method: method, comparesLength: false), apacheShape = Shape(a, method: method, comparesLength: false)
                if a.status == 412 {
                    // Apache's 412 keeps the script's Content-Type over its error page's (Skep: the page's own).
                    skepShape.fields.removeAll { $0.hasPrefix("content-type:") }
                    apacheShape.fields.removeAll { $0.hasPrefix("content-type:") }
                }
                #expect(skepShape == apacheShape, "\(method) \(path) \(fields): skep \(skepShape) / apache \(apacheShape)")
            }
        }
    }

    func request(_ path: String, _ fields: [String], _ method: String, _ port: UInt16) -> String {
        "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n" + fields.map { $0 + "\r\n" }.joined() + "Connection: close\r\n\r\n"
    }

    /// A compressed PHP body streams: what the script flushed can be decompressed by the
    /// client while the script still waits, and the whole body is one gzip member.
    @Test func aFlushedPartIsCompressedAndSentBeforeTheScriptEnds() throws {
        try Self.withPair { skep, apache in
            for server in [skep, apache] {
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(15))
                defer { client.close() }
                try client.send(request("/wait.php", [Self.gzip], "GET", server.port))
                var raw: [UInt8] = []
                let first = Array(String(repeating: "<p>first part</p>\n", count: 100).utf8)
                let deadline = Deadline(after: .seconds(10))
                while gunzipPrefix(Self.dechunked(raw)).count < first.count, !deadline.hasPassed, !client.serverHasClosed {
                    raw += try client.receiveAvailable(timeout: deadline.remaining)
                }
                #expect(gunzipPrefix(Self.dechunked(raw)) == first, "\(server.kind): the flushed part before the script goes on")
                try server.config.root.writeDocument("go", "")
                let rest = try client.readUntilClose(timeout: .seconds(10))
                let body = gunzip(Self.dechunked(raw + rest))
                #expect(body == first + Array(String(repeating: "<p>second part</p>\n", count: 100).utf8), "\(server.kind): the whole body")
                try? FileManager.default.removeItem(atPath: server.config.root.docroot + "/go")
            }
        }
    }

    /// The body of a chunked response as far as it has arrived.
    static func dechunked(_ raw: [UInt8]) -> [UInt8] {
        guard let headEnd = (0..<max(raw.count - 3, 0)).first(where: { raw[$0] == 13 && raw[$0 + 1] == 10 && raw[$0 + 2] == 13 && raw[$0 + 3] == 10 }) else { return [] }
        var rest = raw[(headEnd + 4)...]
        var body: [UInt8] = []
        while let lineEnd = rest.firstIndex(of: 13), lineEnd + 1 < rest.endIndex {
            guard let size = Int(String(decoding: rest[..<lineEnd], as: UTF8.self), radix: 16), size > 0 else { break }
            let start = lineEnd + 2
            body += rest[start..<min(start + size, rest.endIndex)]
            guard start + size + 2 <= rest.endIndex else { break }
            rest = rest[(start + size + 2)...]
        }
        return body
    }
}
