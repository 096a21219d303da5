import Foundation
import Testing
import SkepTestSupport

/// mod_deflate and mod_filter against Debian's Apache on Debian's own deflate.conf lines,
/// the same files and the same requests: status, header fields (volatile ones aside),
/// and the body — a gzip body after gunzip, so the comparison does not hang on zlib's
/// choices. ETags differ between the two docroots (inodes); what is compared is whether
/// each server added the `-gzip` suffix.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct DeflateDifferentialTests {
    typealias F = EngineFixture

    /// Debian's own deflate.conf (from the apache2 package the oracle is), plus the
    /// other ways of naming the filter.
    static let debianDeflateConf = (try? String(contentsOfFile: "/etc/apache2/mods-available/deflate.conf", encoding: .utf8)) ?? ""
    static let config = debianDeflateConf + """
        AddEncoding gzip .gz
        <Directory "@DOCROOT@/all">
            SetOutputFilter DEFLATE
        </Directory>
        <Directory "@DOCROOT@/ext">
            AddOutputFilter DEFLATE .json
        </Directory>
        <Directory "@DOCROOT@/none">
            RemoveOutputFilter .json
            FilterChain !
        </Directory>
        <Directory "@DOCROOT@/expr">
            FilterDeclare SQUEEZE
            FilterProvider SQUEEZE DEFLATE "%{CONTENT_TYPE} =~ m#^application/#"
            FilterChain =SQUEEZE
        </Directory>
        """

    static let page = (0..<2000).map { "<p>line \($0 % 97) of the page</p>\n" }.joined()
    static let data = "{\"key\": \"" + String(repeating: "value ", count: 200) + "\"}\n"

    static func populate(_ root: TestServerRoot) throws {
        try root.writeDocument("page.html", page)
        try root.writeDocument("page.txt", page)
        try root.writeDocument("style.css", String(repeating: "p { color: red; }\n", count: 50))
        try root.writeDocument("tiny.html", "<p>tiny</p>\n")
        try root.writeDocument("edge.html", String(repeating: "x", count: 68))
        try root.writeDocument("edge2.html", String(repeating: "x", count: 69))
        try root.writeDocument("image.png", String(repeating: "not really a png ", count: 40))
        try root.writeDocument("archive.html.gz", page)
        try root.writeDocument("all/data.bin", data)
        try root.writeDocument("ext/data.json", data)
        try root.writeDocument("none/page.html", page)
        try root.writeDocument("expr/data.json", data)
        try root.writeDocument("expr/page.html", page)
    }

    static let gzip = "Accept-Encoding: gzip"

    /// (path, header fields, method) of every case.
    static let cases: [(String, [String], String)] = {
        var c: [(String, [String], String)] = []
        for path in ["/page.html", "/page.txt", "/style.css", "/tiny.html", "/edge.html", "/edge2.html", "/image.png",
                     "/archive.html.gz", "/all/data.bin", "/ext/data.json", "/none/page.html", "/expr/data.json",
                     "/expr/page.html", "/missing.html"] {
            c.append((path, [gzip], "GET"))
            c.append((path, [], "GET"))
        }
        for value in ["gzip;q=0", "gzip;q=0.0", "gzip; q=0.001", "x-gzip", "*", "identity", "deflate, GZIP ; q=0.5",
                      "br, gzip;q=0", "gzip,deflate", "\"gzip\"", "foo;bar,gzip"] {
            c.append(("/page.txt", ["Accept-Encoding: \(value)"], "GET"))
        }
        c.append(("/page.html", [gzip], "HEAD"))
        c.append(("/page.html", [gzip, "Range: bytes=0-99"], "GET"))
        c.append(("/page.html", [gzip, "Range: bytes=0-99"], "HEAD"))
        c.append(("/page.html", [gzip, "Range: bytes=-10"], "GET"))
        c.append(("/page.html", ["Range: bytes=0-99"], "HEAD"))
        c.append(("/page.html", [gzip, "If-Modified-Since: Thu, 01 Jan 2037 00:00:00 GMT"], "GET"))
        c.append(("/page.html", [gzip], "POST"))
        return c
    }()

    /// What is compared of one response.
    struct Shape: Equatable, CustomStringConvertible {
        var status: Int
        var fields: [String]
        var gzipETag: Bool
        var body: [UInt8]?

        /// `comparesLength` false leaves `Content-Length` out (a FastCGI answer Skep
        /// collected whole carries one; Apache's is chunked).
        init(_ r: HTTPResponse, method: String, comparesLength: Bool = true) {
            status = r.status
            let volatile: Set<String> = ["date", "server", "etag", "last-modified", "keep-alive", "connection", "content-length", "transfer-encoding"]
            fields = r.headers.filter { !volatile.contains($0.name.lowercased()) }.map { "\($0.name.lowercased()): \($0.value)" }.sorted()
            // The length only where both frame with it the same way (error pages are not compared).
            if comparesLength, r.status < 400, let length = r.header("Content-Length") { fields.append("content-length: \(length)") }
            gzipETag = r.header("ETag")?.hasSuffix("-gzip\"") ?? false
            if r.status >= 400 || method == "HEAD" {
                body = nil
            } else if r.header("Content-Encoding") == "gzip" && r.status == 200 {
                body = gunzip(r.body) ?? [0xFF]
            } else {
                body = r.body
            }
        }

        var description: String { "\(status) \(fields) gzipETag=\(gzipETag) body \(body.map { "\($0.count) bytes" } ?? "-")" }
    }

    @Test func deflateAnswersAsApache() throws {
        try #require(Self.debianDeflateConf.contains("AddOutputFilterByType DEFLATE text/html"), "Debian's deflate.conf is read")
        try DifferentialTests.pair(extra: Self.config, setUp: { config in
            config.modules = F.commonModules + ["mime", "filter", "deflate"]
            config.skepModules = config.modules
            try Self.populate(config.root)
        }) { skep, apache in
            for (path, fields, method) in Self.cases {
                let s = try F.get(skep, path, headers: fields, method: method)
                let a = try F.get(apache, path, headers: fields, method: method)
                #expect(Shape(s, method: method) == Shape(a, method: method),
                        "\(method) \(path) \(fields): skep \(Shape(s, method: method)) / apache \(Shape(a, method: method))")
            }
        }
    }

    /// Conditionals on a compressed answer: Apache compares the request's validators
    /// with the file's own ETag (without `-gzip`), so only that one gives a 304, and
    /// the 304 carries no `Vary`.
    @Test func conditionalsUseTheFilesOwnValidators() throws {
        try DifferentialTests.pair(extra: Self.config, setUp: { config in
            config.modules = F.commonModules + ["mime", "filter", "deflate"]
            config.skepModules = config.modules
            try Self.populate(config.root)
        }) { skep, apache in
            for (tagOf, asksGzip) in [("plain", true), ("gzip", true), ("gzip", false)] {
                func ask(_ server: ServerProcess) throws -> Shape {
                    let tag = try #require(try F.get(server, "/page.html", headers: tagOf == "gzip" ? [Self.gzip] : []).header("ETag"))
                    let fields = (asksGzip ? [Self.gzip] : []) + ["If-None-Match: \(tag)"]
                    return Shape(try F.get(server, "/page.html", headers: fields), method: "GET")
                }
                let s = try ask(skep), a = try ask(apache)
                #expect(s == a, "If-None-Match with the \(tagOf) ETag, gzip asked: \(asksGzip): skep \(s) / apache \(a)")
            }
        }
    }

    /// DeflateFilterNote: the input and output sizes and the ratio reach the access log
    /// through `%{name}n` with Apache's values (zlib's output without gzip's framing).
    @Test func filterNotesReachTheAccessLog() throws {
        try DifferentialTests.pair(extra: Self.config + "\n" + """
            DeflateFilterNote Input in
            DeflateFilterNote Output out
            DeflateFilterNote Ratio ratio
            """, setUp: { config in
            config.modules = F.commonModules + ["mime", "filter", "deflate"]
            config.skepModules = config.modules
            config.accessLogFormat = #"%r %{in}n %{out}n %{ratio}n"#
            try Self.populate(config.root)
        }) { skep, apache in
            var logs: [[String]] = []
            for server in [skep, apache] {
                for (path, fields) in [("/page.html", [Self.gzip]), ("/page.txt", []), ("/tiny.html", [Self.gzip])] {
                    _ = try F.get(server, path, headers: fields)
                }
                // The harness's own readiness requests are in the log too: only these three count.
                let lines = try Deadline.waitForValue("three access log lines of \(server.kind)") { () -> [String]? in
                    let text = (try? String(contentsOfFile: server.config.accessLog, encoding: .utf8)) ?? ""
                    let lines = text.split(separator: "\n").map(String.init).filter { $0.contains("/page.") || $0.contains("/tiny.") }
                    return lines.count >= 3 ? lines : nil
                }
                // Each request may go to another child, and each child appends its own line:
                // the order in the file is the order they finished, not the order sent.
                logs.append(lines.sorted())
            }
            #expect(logs[0] == logs[1], "skep \(logs[0]) / apache \(logs[1])")
            #expect(logs[0].first { $0.contains("/page.html") }?.hasSuffix(" -") == false, "the compressed request has notes: \(logs[0])")
            #expect(logs[0].count == 3, "\(logs[0])")
        }
    }
}
