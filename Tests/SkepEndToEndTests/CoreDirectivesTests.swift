import Foundation
import Testing

/// Core directives the stock tree and the common app guides use, against Debian's Apache
/// on the same config: `AddDefaultCharset`, `AllowEncodedSlashes`, `MergeSlashes`,
/// `NameVirtualHost`, `Protocols`, `ProxyStatus`, and the `AH00128` line a missing file
/// leaves in the error log at `LogLevel info`.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct CoreDirectivesTests {
    typealias F = EngineFixture

    /// The main server answers `main.test`; the others differ in one path directive each.
    static let config = #"""
        AddDefaultCharset On
        <Directory "@DOCROOT@/utf">
            AddDefaultCharset utf-8
        </Directory>
        <Directory "@DOCROOT@/off">
            AddDefaultCharset Off
        </Directory>
        <VirtualHost *:@PORT@>
            ServerName main.test
            DocumentRoot "@DOCROOT@"
        </VirtualHost>
        <VirtualHost *:@PORT@>
            ServerName on.test
            DocumentRoot "@DOCROOT@"
            AllowEncodedSlashes On
        </VirtualHost>
        <VirtualHost *:@PORT@>
            ServerName nodecode.test
            DocumentRoot "@DOCROOT@"
            AllowEncodedSlashes NoDecode
        </VirtualHost>
        <VirtualHost *:@PORT@>
            ServerName nomerge.test
            DocumentRoot "@DOCROOT@"
            MergeSlashes Off
            RedirectMatch "^/m/(.*)$" "http://example.com/$1"
        </VirtualHost>
        """#

    static let requests: [(host: String, path: String)] = [
        ("main.test", "/file.txt"), ("main.test", "/utf/a.txt"), ("main.test", "/utf/a.html"),
        ("main.test", "/off/a.txt"), ("main.test", "/a.css"), ("main.test", "/a.koi"), ("main.test", "/nope"),
        ("main.test", "/sub%2ffile.txt"), ("on.test", "/sub%2ffile.txt"), ("on.test", "/sub%2f..%2ffile.txt"),
        ("nodecode.test", "/sub%2ffile.txt"), ("nodecode.test", "/sub/file.txt"),
        ("main.test", "//sub//file.txt"), ("nomerge.test", "//sub//file.txt"), ("nomerge.test", "/m//a//b"),
    ]

    @Test func pathAndCharsetDirectivesAnswerAsApache() throws {
        try DifferentialTests.pair(extra: Self.config, setUp: { config in
            config.modules = F.commonModules + ["alias", "mime"]
            config.skepModules = F.commonModules + ["alias", "mime"]
            try config.root.writeDocument("sub/file.txt", "sub\n")
            try config.root.writeDocument("utf/a.txt", "utf\n")
            try config.root.writeDocument("utf/a.html", "<p>utf</p>\n")
            try config.root.writeDocument("off/a.txt", "off\n")
            try config.root.writeDocument("a.css", "p {}\n")
            try config.root.writeDocument("a.koi", "koi\n")
            // A type that names its charset already keeps it.
            config.extra += "\nAddType \"text/html; charset=koi8-r\" .koi\n"
        }) { skep, apache in
            for (host, path) in Self.requests {
                let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\r\n"
                let s = try F.exchange(skep, request), a = try F.exchange(apache, request)
                let detail = "\(host)\(path): skep \(s.status) \(s.header("Content-Type") ?? "-") \(s.header("Location") ?? "") / apache \(a.status) \(a.header("Content-Type") ?? "-") \(a.header("Location") ?? "")"
                #expect(s.status == a.status, "\(detail)")
                #expect(s.header("Content-Type") == a.header("Content-Type"), "\(detail)")
                #expect(s.header("Location") == a.header("Location"), "\(detail)")
                if a.status == 200 { #expect(s.body == a.body, "\(detail)") }
            }
            // The cases exercise what they name (Apache agreeing with Skep on no change would pass too).
            let charset = try F.exchange(skep, "GET /file.txt HTTP/1.1\r\nHost: main.test\r\n\r\n")
            #expect(charset.header("Content-Type") == "text/plain; charset=iso-8859-1")
            let decoded = try F.exchange(skep, "GET /sub%2ffile.txt HTTP/1.1\r\nHost: on.test\r\n\r\n")
            #expect(decoded.status == 200)
            // Apache logs a missing file at info, with the path it looked for.
            for server in [skep, apache] {
                let line = "AH00128: File does not exist: \(server.config.root.docroot)/nope"
                try Deadline.wait(for: "\(server.kind)'s AH00128 line", timeout: .seconds(5)) {
                    server.errorLog().contains(line)
                }
            }
            F.expectStillServing(skep, after: "the path and charset cases")
        }
    }

    /// Config-time answers: both servers accept `NameVirtualHost` with Apache's AH00548
    /// warning, `Protocols http/1.1` and `ProxyStatus On`, and refuse a bad `ProxyStatus`
    /// or `AllowEncodedSlashes` value; Skep refuses `Protocols h2` (HTTP/2 is issue 21)
    /// where Apache without mod_http2 silently ignores it.
    @Test func configTimeAnswersMatchApache() throws {
        let cases: [(text: String, apacheOK: Bool, skepOK: Bool, skepSays: String)] = [
            ("NameVirtualHost *:80", true, true, "warning: AH00548: NameVirtualHost has no effect and will be removed in the next release"),
            ("Protocols http/1.1", true, true, ""),
            ("ProtocolsHonorOrder On", true, true, ""),
            ("ProxyStatus On", true, true, ""),
            ("ProxyStatus Sometimes", false, false, "ProxyStatus: 'Sometimes' is not one of Off, On, Full"),
            ("AllowEncodedSlashes Maybe", false, false, "AllowEncodedSlashes: 'Maybe' is not one of On, Off, NoDecode"),
            ("MergeSlashes Maybe", false, false, "MergeSlashes"),
            ("AddDefaultCharset utf-8", true, true, ""),
            ("CGIPassAuth On", false, false, "CGIPassAuth not allowed here"),
            ("Protocols h2 http/1.1", true, false, "Protocols: h2 is HTTP/2, which Skep does not speak yet"),
        ]
        for item in cases {
            var config = try TestConfig(extra: item.text)
            defer { config.root.remove() }
            config.modules = F.commonModules + ["proxy"]
            config.skepModules = F.commonModules + ["proxy"]
            let ours = try ServerBinary.configtest(.skep, configPath: config.write(for: .skep))
            let theirs = try Oracle.configtest(config)
            #expect((theirs.status == 0) == item.apacheOK, "\(item.text): Apache \(theirs.status) \(theirs.stderr)")
            #expect(ours.status == (item.skepOK ? 0 : 1), "\(item.text): skep \(ours.status) \(ours.stderr)")
            let line = config.render(for: .skep).split(separator: "\n", omittingEmptySubsequences: false)
                .firstIndex { $0 == Substring(item.text) }.map { $0 + 1 } ?? 0
            if !item.skepSays.isEmpty {
                #expect(ours.stderr.contains("\(config.configPath(for: .skep)):\(line): \(item.skepSays)"), "\(item.text): \(ours.stderr)")
            }
            if item.text.hasPrefix("NameVirtualHost") {
                #expect(theirs.stderr.contains("AH00548"), "Apache: \(theirs.stderr)")
            }
        }
    }
}
