import Foundation
import Testing

/// mod_negotiation against Debian's Apache on one docroot of variant files: MultiViews
/// with Accept, Accept-Language, Accept-Charset and Accept-Encoding combinations,
/// LanguagePriority under each ForceLanguagePriority, 406 pages, MultiviewsMatch, type
/// maps (files and inline bodies), DirectoryIndex answered by MultiViews, and MultiViews
/// off. Each section of the config is a directory, so one Apache answers every case.
/// Compared per request: status, every header but the volatile ones, and the body.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct NegotiationDifferentialTests {
    typealias F = EngineFixture

    static let modules = ["log_config", "authz_core", "authz_host", "mime", "dir", "negotiation", "setenvif"]

    static let config = #"""
        AddLanguage en .en
        AddLanguage fr .fr
        AddLanguage de .de
        AddLanguage en-gb .en-gb
        AddEncoding gzip .gz
        AddEncoding x-compress .Z
        AddCharset UTF-8 .utf8
        AddCharset ISO-8859-1 .latin1
        AddHandler type-map .var
        LanguagePriority fr en de
        SetEnvIf Request_URI "^/envs/" prefer-language=de
        SetEnvIf User-Agent "^nogzip" no-gzip
        SetEnvIf User-Agent "^htmlgzip" gzip-only-text/html=1
        ForceLanguagePriority Prefer Fallback
        <Directory "@DOCROOT@">
            Options MultiViews
        </Directory>
        <Directory "@DOCROOT@/prefer">
            ForceLanguagePriority Prefer
        </Directory>
        <Directory "@DOCROOT@/fallback">
            ForceLanguagePriority Fallback
            LanguagePriority de en
        </Directory>
        <Directory "@DOCROOT@/none">
            ForceLanguagePriority None
        </Directory>
        <Directory "@DOCROOT@/off">
            Options -MultiViews
        </Directory>
        <Directory "@DOCROOT@/any">
            MultiviewsMatch Any
        </Directory>
        <Directory "@DOCROOT@/handlers">
            MultiviewsMatch Handlers
        </Directory>
        <Directory "@DOCROOT@/deflang">
            DefaultLanguage de
        </Directory>
        <Directory "@DOCROOT@/idx2">
            DirectoryIndex index.html index.txt
            ForceLanguagePriority Prefer
        </Directory>
        <Directory "@DOCROOT@/denied">
            <Files "doc.html.fr">
                Require all denied
            </Files>
        </Directory>
        <Directory "@DOCROOT@/setmap">
            <Files "choices">
                SetHandler type-map
            </Files>
        </Directory>
        <Directory "@DOCROOT@/errdoc">
            ErrorDocument 406 /406.html
        </Directory>
        <Directory "@DOCROOT@/errtext">
            ErrorDocument 406 "no variant suits"
        </Directory>
        <Directory "@DOCROOT@/idx3">
            ForceLanguagePriority Prefer
        </Directory>
        """#

    /// The variant files, the same in both docroots.
    static let documents: [(String, String)] = [
        ("doc.html", "plain html\n"), ("doc.html.en", "english\n"), ("doc.html.fr", "french!\n"),
        ("doc.html.gz", "gz"), ("page.en.html", "<p>page en</p>\n"), ("page.de.html", "<p>page de</p>\n"),
        ("lang.html.en-gb", "british\n"), ("lang.html.fr", "francais\n"),
        ("cs.html.utf8", "utf-8 text here\n"), ("cs.html.latin1", "latin1\n"),
        ("data.txt.Z", "compressed\n"),
        ("txt.txt", "text\n"), ("txt.html", "<p>html</p>\n"),
        ("only.xyz", "unknown extension\n"), ("with space.html", "spaced\n"),
        ("script.cgi.en", "english script text\n"),
        ("two.en.fr.html", "both\n"), ("two.de.html", "de\n"),
        ("prefer/doc.html.en", "en\n"), ("prefer/doc.html.fr", "fr\n"),
        ("fallback/doc.html.en", "en\n"), ("fallback/doc.html.fr", "fr\n"),
        ("none/doc.html.en", "english\n"), ("none/doc.html.fr", "fr\n"),
        ("off/doc.html.en", "en\n"),
        ("envs/doc.html.en", "en\n"), ("envs/doc.html.de", "de\n"),
        ("envs/gz.html", "<p>plain</p>\n"), ("envs/gz.html.gz", "gzipped html"), ("envs/gz.txt.gz", "gz text"),
        ("denied/doc.html.en", "en\n"), ("denied/doc.html.fr", "fr\n"), ("denied/only.html.fr", "fr\n"),
        ("any/doc.foo.html", "foo\n"), ("any/doc.foo", "foo only\n"),
        ("handlers/m.var", "URI: one.html\nContent-Type: text/html\n\n"), ("handlers/one.html", "one\n"),
        ("deflang/doc.html", "default language\n"), ("deflang/doc.html.en", "en\n"),
        ("maps/basic.var", """
            # two files
            URI: doc.html.en
            Content-Type: text/html
            Content-Language: en

            URI: doc.html.fr
            Content-Type: text/html; qs=0.9
            Content-Language: fr
            Description: French (the second)

            """),
        ("maps/doc.html.en", "map en\n"), ("maps/doc.html.fr", "map fr\n"),
        ("maps/escaped.var", "URI: a%20b.html\nContent-Type: text/html\n\n"), ("maps/a b.html", "a b\n"),
        ("maps/sub.var", "URI: sub/x.html\nContent-Type: text/html\n\nURI: x.txt\nContent-Type: text/plain\n\n"),
        ("maps/sub/x.html", "sub x\n"), ("maps/x.txt", "x txt\n"),
        ("setmap/choices", "URI: a.html\nContent-Type: text/html\nContent-Language: en\n\nURI: b.html\nContent-Type: text/html\nContent-Language: fr\n\n"),
        ("setmap/a.html", "a en\n"), ("setmap/b.html", "b fr\n"),
        ("maps/body.var", """
            URI: body
            Content-Type: text/plain; charset=utf-8
            Content-Language: en
            Body:----end----
            Hello from the map
            ----end----

            URI: body
            Content-Type: text/html;qs=0.5
            Content-Language: fr
            Body:==
            <p>Bonjour</p>
            ==

            """),
        ("maps/bad.var", "URI doc.html.en\n"),
        ("maps/nested.var", "URI: basic.var\nContent-Type: text/html\n\n"),
        ("maps/missing.var", "URI: nothing-here.html\nContent-Type: text/html\n\n"),
        ("idx/index.html.en", "index en\n"), ("idx/index.html.fr", "index fr\n"),
        ("idx2/index.html.de", "index de\n"), ("idx2/index.txt", "index txt\n"),
        ("idx3/index.html.de", "index de only\n"),
        ("406.html", "<p>custom 406</p>\n"), ("errdoc/doc.html.en", "en\n"), ("errtext/doc.html.en", "en\n"),
        ("both/index.html", "plain index\n"), ("both/index.html.en", "english index\n"),
    ]

    /// Requests: a path and header lines.
    static let requests: [(String, [String])] = [
        ("/doc", []),
        ("/doc", ["Accept-Language: en"]),
        ("/doc", ["Accept-Language: fr;q=0.4, en;q=0.5"]),
        ("/doc", ["Accept-Language: de"]),
        ("/doc", ["Accept-Language: en-US"]),
        ("/doc", ["Accept-Language: *"]),
        ("/doc", ["Accept-Language: en;q=0, fr;q=0"]),
        ("/doc", ["Accept: text/plain"]),
        ("/doc", ["Accept: text/html;q=0"]),
        ("/doc", ["Accept: text/html;q=0, application/gzip"]),
        ("/doc", ["Accept-Encoding: gzip", "Accept: application/gzip"]),
        ("/doc", ["Accept-Encoding: x-gzip", "Accept: */*;q=0.1, application/gzip"]),
        ("/doc", ["Accept-Encoding: identity;q=0"]),
        ("/doc", ["Accept: text/html, */*", "Accept-Language: de, en;q=0.5"]),
        ("/doc?x=1", []),
        ("/doc/extra", []),
        ("/doc.html", ["Accept-Language: fr"]),
        ("/doc.html", ["Accept-Language: en", "Range: bytes=0-2"]),
        ("/doc", ["Accept-Language: en", "Range: bytes=2-"]),
        ("/maps/body.var", ["If-None-Match: *"]),
        ("/maps/body.var", ["If-Match: \"x\""]),
        ("/maps/body.var", ["If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT"]),
        ("/maps/body.var", ["If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT"]),
        ("/doc.html.gz", []),
        // Apache's fix_encoding: the client's spelling of the encoding, negotiated or not.
        ("/data.txt.Z", ["Accept-Encoding: compress"]),
        ("/data.txt.Z", ["Accept-Encoding: x-compress, compress"]),
        ("/data.txt.Z", ["Accept-Encoding: gzip"]),
        ("/data.txt", ["Accept-Encoding: compress"]),
        ("/doc.html.gz", ["Accept-Encoding: x-gzip"]),
        ("/doc", ["Accept: */*;q=0", "Accept-Encoding: x-gzip;q=0.5"]),
        ("/page", ["Accept-Language: de"]),
        ("/page", []),
        ("/page.html", ["Accept-Language: en"]),
        ("/lang", ["Accept-Language: en"]),
        ("/lang", ["Accept-Language: en-gb, fr;q=0.5"]),
        ("/cs", []),
        ("/cs", ["Accept-Charset: iso-8859-1"]),
        ("/cs", ["Accept-Charset: utf-8;q=0.5, iso-8859-1;q=0.4"]),
        ("/cs", ["Accept-Charset: koi8-r"]),
        ("/txt", []),
        ("/txt", ["Accept: text/plain, text/html;q=0.5"]),
        ("/only", []),
        ("/with%20space", []),
        ("/script", []),
        ("/nothing", []),
        ("/prefer/doc", ["Accept-Language: de"]),
        ("/prefer/doc", []),
        ("/fallback/doc", ["Accept-Language: it"]),
        ("/fallback/doc", []),
        ("/none/doc", []),
        ("/none/doc", ["Accept-Language: it"]),
        ("/off/doc", []),
        // The environment Apache's negotiation reads, set by mod_setenvif.
        ("/envs/doc", ["Accept-Language: en"]),
        ("/envs/gz", ["Accept-Encoding: gzip", "User-Agent: nogzip"]),
        ("/envs/gz", ["Accept-Encoding: gzip", "User-Agent: htmlgzip"]),
        ("/envs/gz", ["Accept-Encoding: gzip", "User-Agent: htmlgzip", "Accept: text/plain"]),
        ("/envs/gz", ["Accept-Encoding: gzip"]),
        ("/denied/doc", []),
        ("/denied/doc", ["Accept-Language: fr"]),
        ("/denied/only", []),
        ("/off/doc.html", []),
        ("/any/doc", []),
        ("/handlers/m", []),
        ("/deflang/doc", []),
        ("/deflang/doc", ["Accept-Language: de"]),
        ("/deflang/doc", ["Accept-Language: en"]),
        ("/maps/basic.var", []),
        ("/maps/basic.var", ["Accept-Language: fr"]),
        ("/maps/basic.var", ["Accept-Language: de"]),
        ("/maps/basic.var", ["Accept: text/plain"]),
        ("/maps/body.var", []),
        ("/maps/body.var", ["Accept: text/html"]),
        ("/maps/body.var", ["Accept-Language: fr"]),
        ("/maps/bad.var", []),
        ("/maps/nested.var", []),
        ("/maps/missing.var", []),
        ("/maps/basic", []),
        ("/maps/escaped.var", []),
        ("/setmap/choices", ["Accept-Language: en"]),
        ("/setmap/choices", []),
        ("/maps/sub.var", []),
        ("/maps/sub.var", ["Accept: text/plain"]),
        ("/idx/", []),
        ("/idx/", ["Accept-Language: en"]),
        ("/idx/index.html", ["Accept-Language: en"]),
        ("/idx2/", ["Accept-Language: en"]),
        ("/idx2/", ["Accept-Language: de"]),
        ("/idx3/", ["Accept-Language: en"]),
        // An ErrorDocument for the 406 keeps Vary, TCN and Alternates.
        ("/errdoc/doc", ["Accept: text/plain"]),
        ("/errtext/doc", ["Accept: text/plain"]),
        // Debian's docroot: a plain index.html is served as it is, MultiViews or not.
        ("/dir/", ["Accept-Language: fr"]),
        ("/both/", ["Accept-Language: en"]),
        ("/both/index", ["Accept-Language: en"]),
        ("/doc", ["Negotiate: trans", "Accept: text/plain"]),
        ("/doc", ["Negotiate: trans", "User-Agent: Lynx/2.8.9", "Accept: text/plain"]),
        ("/doc", ["Negotiate: *", "Accept-Language: en"]),
        ("/doc", ["Negotiate: vlist", "Accept-Language: en"]),
        ("/doc", ["Negotiate: 1.0", "Accept-Language: fr", "Accept: text/html"]),
        ("/doc", ["Negotiate: 1.0"]),
        ("/maps/basic.var", ["Negotiate: trans", "Accept: image/png"]),
        ("/maps/basic.var/extra", []),
        ("/maps/basic.var?q=1", ["Accept-Language: fr"]),
        ("/doc.html.en", []),
        ("/DOC", []),
        ("/two", ["Accept-Language: fr"]),
        ("/two", ["Accept-Language: da, en-gb;q=0.8, de;q=0.7"]),
        ("/two.en.fr.html", []),
        ("/two.en", ["Accept-Language: fr"]),
        ("/doc/", ["Accept-Language: en"]),
        ("/doc/x/y", []),
        ("/doc.html/", []),
        ("/doc.html.e", []),
        ("/doc.", []),
        ("/.doc", []),
    ]

    /// Everything but the fields that differ between two servers or two runs; `Expires`
    /// (the time of the request) is compared for presence.
    static let ignored = Differential.volatileHeaders.union(["expires"])

    static func setUp(_ config: inout TestConfig) throws {
        config.modules = modules
        config.skepModules = modules
        config.extra = Self.config
        try F.populate(config.root)
        for (path, text) in documents { try config.root.writeDocument(path, text) }
    }

    @Test func multiViewsAndTypeMapsAnswerAsApache() throws {
        try withServerPair(mode: .foreground, skepMode: .singleProcess, setUp: Self.setUp) { skep, apache in
            // HEAD where the answer is a 200: Skep's HEAD error pages carry a
            // Content-Length Apache's lack (a core difference, not negotiation's).
            let heads = [("/doc", [String]()), ("/doc", ["Accept-Language: en"]), ("/maps/body.var", []), ("/idx/", [])]
            // POST prefers a script variant and is not transparent (no TCN, no Content-Location).
            let posts = [("/doc", ["Accept-Language: en"]), ("/maps/basic.var", []), ("/maps/body.var", [])]
            // An inline body allows GET and POST only.
            let others = [("DELETE", "/maps/body.var"), ("OPTIONS", "/maps/body.var"), ("DELETE", "/maps/basic.var")]
            for (method, (path, headers)) in Self.requests.map({ ("GET", $0) }) + heads.map({ ("HEAD", $0) }) + posts.map({ ("POST", $0) })
                + others.map({ ($0.0, ($0.1, [String]())) }) {
                let s = try F.get(skep, path, headers: headers, method: method)
                let a = try F.get(apache, path, headers: headers, method: method)
                var ignoring = Self.ignored
                // Apache lists allowed methods in its hash table's order, which changes with
                // the modules loaded: compared as a set.
                ignoring.insert("allow")
                let allowed = { (r: HTTPResponse) in Set((r.header("Allow") ?? "").split(separator: ",")) }
                #expect(allowed(s) == allowed(a), "\(method) \(path): Allow")
                let diffs = Differential.differences(s, a, ignoring: ignoring)
                #expect(diffs.isEmpty, "\(method) \(path) \(headers): \(diffs)\nskep: \(s)\napache: \(a)")
                #expect((s.header("Expires") != nil) == (a.header("Expires") != nil), "\(path) \(headers): Expires")
            }
            // The cases do negotiate: Apache chose variants and refused some.
            let chosen = try Self.requests.filter { try F.get(apache, $0.0, headers: $0.1).header("Content-Location") != nil }
            #expect(chosen.count >= 30, "\(chosen.count) negotiated answers")
            let refused = try Self.requests.filter { try F.get(apache, $0.0, headers: $0.1).status == 406 }
            #expect(refused.count >= 5, "\(refused.count) 406 answers")
            F.expectStillServing(skep, after: "the negotiation cases")
        }
    }

    /// Under the event MPM the listener runs requests that cannot block; a MultiViews
    /// request reads a directory, so it goes to a worker, every time, with the same answer.
    @Test func eventListenerHandsMultiViewsToAWorker() throws {
        var config = try TestConfig(mpm: .event)
        try Self.setUp(&config)
        try withServer(.skep, config: config, mode: .foreground) { skep in
            for _ in 0..<3 {
                for (path, language, body) in [("/doc", "en", "english\n"), ("/doc", "fr", "french!\n"), ("/idx/", "en", "index en\n")] {
                    let client = try RawHTTPClient(port: skep.port, timeout: .seconds(5))
                    defer { client.close() }
                    // Two requests on one connection: the second may start on the listener.
                    let request = "GET \(path) HTTP/1.1\r\nHost: a\r\nAccept-Language: \(language)\r\n\r\n"
                    for _ in 0..<2 {
                        let response = try client.exchange(request)
                        #expect(response.status == 200, "\(path) \(language): \(response)")
                        #expect(response.bodyText == body, "\(path) \(language)")
                        #expect(response.header("Vary") != nil)
                    }
                }
            }
        }
    }

    /// The access log names the variant as Apache's does: MultiViews makes the request the
    /// variant's (`%U`, `%f`), a type map serves the variant's file under the map's URL.
    @Test func theAccessLogNamesTheVariant() throws {
        try withServerPair(mode: .foreground, skepMode: .singleProcess, setUp: { config in
            try Self.setUp(&config)
            config.accessLogFormat = #"%r|%U|%f|%>s|%b"#
        }) { skep, apache in
            let paths = ["/doc", "/maps/basic.var", "/doc.html", "/nothing", "/idx/", "/dir/"]
            for path in paths {
                _ = try F.get(skep, path, headers: ["Accept-Language: en"])
                _ = try F.get(apache, path, headers: ["Accept-Language: en"])
            }
            for server in [skep, apache] {
                try Deadline.wait(for: "\(paths.count) lines in the access log") { server.accessLogLines().count >= paths.count }
            }
            // Sorted: each child appends its own line, so a file's order is the order the
            // requests finished, on either server.
            let normalized = { (server: ServerProcess) in
                server.accessLogLines().map { $0.replacingOccurrences(of: server.config.root.docroot, with: "DOCROOT") }.sorted()
            }
            #expect(normalized(skep) == normalized(apache))
            #expect(normalized(apache).contains("GET /doc HTTP/1.1|/doc.html.en|DOCROOT/doc.html.en|200|8"))
        }
    }

    /// Conditional requests run on the chosen variant: a 304 or 412 keeps the negotiation
    /// fields. (Only the status and those fields are compared: Skep's 304 and 412 answers
    /// differ from Apache's in other fields for every file, negotiated or not.)
    @Test func conditionalRequestsApplyToTheVariant() throws {
        try withServerPair(mode: .foreground, skepMode: .singleProcess, setUp: Self.setUp) { skep, apache in
            for server in [skep, apache] {
                let first = try F.get(server, "/doc", headers: ["Accept-Language: en"])
                let lastModified = try #require(first.header("Last-Modified"))
                for (headers, status) in [(["If-Modified-Since: \(lastModified)"], 304), (["If-None-Match: *"], 304),
                                          (["If-Match: \"nope\""], 412), ([String](), 200)] {
                    let r = try F.get(server, "/doc", headers: ["Accept-Language: en"] + headers)
                    #expect(r.status == status, "\(server.kind) \(headers): \(r)")
                    #expect(r.header("Content-Location") == "doc.html.en", "\(server.kind) \(headers)")
                    #expect(r.header("Vary") == "negotiate,accept,accept-language,accept-encoding", "\(server.kind) \(headers)")
                    #expect(r.header("TCN") == "choice", "\(server.kind) \(headers)")
                }
            }
        }
    }

    @Test func http10ClientsAreToldNotToCacheTypeMapAnswers() throws {
        try withServerPair(mode: .foreground, skepMode: .singleProcess, setUp: { config in
            try Self.setUp(&config)
            config.extra += "\n<Directory \"@DOCROOT@/cached\">\nOptions MultiViews\n</Directory>\n"
        }) { skep, apache in
            for path in ["/maps/basic.var", "/maps/body.var", "/doc"] {
                let request = "GET \(path) HTTP/1.0\r\nAccept-Language: en\r\n\r\n"
                let s = try F.exchange(skep, request), a = try F.exchange(apache, request)
                let diffs = Differential.differences(s, a, ignoring: Self.ignored)
                #expect(diffs.isEmpty, "\(path): \(diffs)")
                #expect((s.header("Expires") != nil) == (a.header("Expires") != nil), "\(path): Expires skep \(s.header("Expires") ?? "-") apache \(a.header("Expires") ?? "-")")
            }
        }
    }

    @Test func cacheNegotiatedDocsLetsHTTP10CachesKeepThem() throws {
        try withServerPair(mode: .foreground, skepMode: .singleProcess, setUp: { config in
            try Self.setUp(&config)
            config.extra += "\nCacheNegotiatedDocs On\n"
        }) { skep, apache in
            let request = "GET /maps/basic.var HTTP/1.0\r\nAccept-Language: en\r\n\r\n"
            let s = try F.exchange(skep, request), a = try F.exchange(apache, request)
            #expect(Differential.differences(s, a, ignoring: Self.ignored).isEmpty)
            #expect(a.header("Expires") == nil)
            #expect(s.header("Expires") == nil)
        }
    }

    @Test func debiansNegotiationConfPassesSkepTest() throws {
        let config = try TestConfig()
        defer { config.root.remove() }
        var c = config
        c.modules = Self.modules
        c.skepModules = Self.modules
        c.extra = "Include /etc/apache2/mods-available/negotiation.conf\n"
        let path = try c.write(for: .skep)
        let result = try ServerBinary.configtest(.skep, configPath: path)
        #expect(result.succeeded, "\(result.stdout)\(result.stderr)")
        c.extra = "ForceLanguagePriority None Prefer\n"
        let bad = try ServerBinary.configtest(.skep, configPath: try c.write(for: .skep))
        #expect(!bad.succeeded)
        #expect(bad.stderr.contains("Cannot combine ForceLanguagePriority options None and Prefer"), "\(bad.stderr)")
    }
}
