import Foundation
import SkepTestSupport
import Testing

/// mod_env, mod_setenvif, `<If>`/`<ElseIf>`/`<Else>`, `Require expr` and their
/// configuration errors against Debian's Apache: one Apache per configuration, the
/// same requests to both, compared on status, body, the headers that matter, and the
/// access log lines the variables produce.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct ExprDifferentialTests {
    typealias F = EngineFixture

    static let modules = F.commonModules + ["env", "setenvif"]

    /// A server pair with mod_env and mod_setenvif, the standard documents and `extra`.
    static func pair(_ extra: String, setUp: @escaping (inout TestConfig) throws -> Void = { _ in },
                     _ body: (ServerProcess, ServerProcess) throws -> Void) throws {
        try DifferentialTests.pair(extra: extra, setUp: { config in
            config.modules = Self.modules
            try setUp(&config)
        }, body)
    }

    /// Sends each request to both servers and compares status, body and `headers`.
    static func compare(_ skep: ServerProcess, _ apache: ServerProcess, _ requests: [(path: String, headers: [String], method: String)],
                        headers: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (path, extra, method) in requests {
            let s = try F.get(skep, path, headers: extra, method: method), a = try F.get(apache, path, headers: extra, method: method)
            let detail = "\(method) \(path) \(extra): skep \(s.status) / apache \(a.status)"
            #expect(s.status == a.status, "\(detail)", sourceLocation: sourceLocation)
            // skep's 500 page names "you@example.com" where Apache's says "[no address
            // given]" (ErrorPages, not this suite's subject): a 500's body is not compared.
            if a.status != 500 { #expect(s.bodyText == a.bodyText, "\(detail)", sourceLocation: sourceLocation) }
            for name in headers { #expect(s.header(name) == a.header(name), "\(detail): \(name)", sourceLocation: sourceLocation) }
            // Vary's names, in any order: after DirectoryIndex's subrequest Apache lists
            // the subrequest's first, skep the order the expressions read them.
            let vary = { (r: HTTPResponse) in r.header("Vary").map { $0.split(separator: ",").map(String.init).sorted() } }
            #expect(vary(s) == vary(a), "\(detail): Vary \(s.header("Vary") ?? "-") / \(a.header("Vary") ?? "-")", sourceLocation: sourceLocation)
        }
    }

    /// The lines of `logs/NAME` once it has `count` of them, sorted: each child appends its
    /// own line, so a file's order is the order the requests finished, on either server.
    static func logLines(_ server: ServerProcess, _ name: String, count: Int) throws -> [String] {
        let path = server.config.root.logs + "/" + name
        return try Deadline.waitForValue("\(count) lines in \(path)") {
            let lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
                .filter { !$0.contains(ServerProcess.probeTarget) }
            return lines.count >= count ? lines.sorted() : nil
        }
    }

    static let envConfig = #"""
        LogFormat "%r|%{is_post}e|%{app}e|%{HTTP_AUTHORIZATION}e|%{old}e|%{ua}e|%{set}e|%{unset}e|%{inloc}e|%{qx}e|%{gone}e|%{nocase}e|%{hdr}e|%{enc}e|%{dec}e" envlog
        CustomLog @LOGS@/env.log envlog
        CustomLog @LOGS@/posts.log "%r" env=is_post
        CustomLog @LOGS@/notposts.log "%r" env=!is_post
        SetEnvIf Request_Method POST is_post
        SetEnvIf Request_URI "^/(\w+)/" app=$1
        SetEnvIfNoCase ^Authorization$ "(.+)" HTTP_AUTHORIZATION=$1
        BrowserMatch "MSIE [2-6]" old gone=1
        BrowserMatch "MSIE 5" !gone
        BrowserMatchNoCase "tester/(\S+)" ua=$1
        SetEnvIfNoCase X-Case ^abc$ nocase
        SetEnvIf ^X-H.* "(\d+)" hdr=n$1
        SetEnvIfExpr "%{QUERY_STRING} =~ /x=(\d+)/" qx=$1
        SetEnvIf Request_URI "%20" enc=server
        SetEnvIf Request_URI " " dec=server
        SetEnv set yes
        SetEnv unset no
        <Location /sub>
            UnsetEnv unset
            SetEnvIf Request_URI "file" inloc=1
            SetEnvIf is_post 1 inloc=post
            SetEnvIf Request_URI " " dec=location
        </Location>
        """#

    /// SetEnvIf by method, URL with `$1`, header (NoCase, regex names), BrowserMatch,
    /// `!var`, SetEnvIfExpr, SetEnv/UnsetEnv merging: the `%{VAR}e` fields of the
    /// access log, and `CustomLog env=` / `env=!`.
    @Test func variablesReachTheAccessLog() throws {
        let requests: [(path: String, headers: [String], method: String)] = [
            ("/file.txt", [], "GET"),
            ("/sub/file.txt", ["User-Agent: Mozilla/4.0 (compatible; MSIE 6.0)"], "GET"),
            ("/sub/file.txt", ["User-Agent: Mozilla/4.0 (compatible; MSIE 5.5)", "Authorization: Basic dTpw"], "POST"),
            ("/dir/?x=42", ["User-Agent: TESTER/1.2 (x)", "X-Case: ABC"], "GET"),
            ("/alpha.txt?y=1", ["X-Hello: v77", "X-Case: abcd"], "GET"),
            ("/nope/file.txt", [], "POST"),
            ("/sub/a%20file.txt", [], "GET"),
        ]
        try Self.pair(Self.envConfig) { skep, apache in
            try Self.compare(skep, apache, requests)
            let ours = try Self.logLines(skep, "env.log", count: requests.count)
            let theirs = try Self.logLines(apache, "env.log", count: requests.count)
            #expect(ours == theirs)
            #expect(try Self.logLines(skep, "posts.log", count: 2) == Self.logLines(apache, "posts.log", count: 2))
            #expect(try Self.logLines(skep, "notposts.log", count: 5) == Self.logLines(apache, "notposts.log", count: 5))
        }
    }

    static let ifConfig = #"""
        SetEnvIf X-Block . blocked
        SetEnvIfExpr "%{HTTP:X-A} -in {'1', '2'}" a12
        BrowserMatch "^Mozilla/2" nokeepalive
        <If "-n reqenv('blocked')">
            Require all denied
        </If>
        <Directory "@DOCROOT@">
            <If "%{QUERY_STRING} == 'deny'">
                Require all denied
            </If>
            <ElseIf "%{QUERY_STRING} =~ /^msg=(\w+)$/">
                ErrorDocument 404 "missing msg
            </ElseIf>
            <ElseIf "reqenv('a12') == '1'">
                ErrorDocument 404 "a12 set
            </ElseIf>
            <Else>
                ErrorDocument 404 "plain missing
            </Else>
        </Directory>
        <Location /dir>
            <If "%{HTTP:X-Index} == 'other'">
                DirectoryIndex other.html
            </If>
        </Location>
        <Location /sub>
            Require expr "%{HTTP:X-Token} == 'secret' || %{REQUEST_URI} =~ m#/open#"
        </Location>
        <Location /sub/deny>
            Require expr %{REMOTE_ADDR} -ipmatch '10.0.0.0/8'
        </Location>
        <Location /sub/err>
            Require expr "file('/no/such/file') == ''"
        </Location>
        <Location /sub/not>
            Require expr "! -R '10.0.0.0/8'"
        </Location>
        <If "%{REQUEST_URI} == '/alpha.txt' && tolower(%{HTTP:X-Case}) == 'shout'">
            ErrorDocument 403 "shouted
            Require all denied
        </If>
        """#

    /// `<If>`/`<ElseIf>`/`<Else>` choosing `Require`, `ErrorDocument` and `DirectoryIndex`,
    /// server-level and in sections; `Require expr`; SetEnvIfExpr's
    /// variable seen by an `<If>`; `nokeepalive` from BrowserMatch.
    @Test func conditionalSectionsChooseAsApache() throws {
        let requests: [(path: String, headers: [String], method: String)] = [
            ("/file.txt", [], "GET"), ("/file.txt?deny", [], "GET"), ("/file.txt", ["X-Block: 1"], "GET"),
            ("/missing", [], "GET"), ("/missing?msg=hello", [], "GET"), ("/missing", ["X-A: 1"], "GET"),
            ("/missing", ["X-A: 3"], "GET"), ("/missing?deny", [], "GET"),
            ("/dir/", [], "GET"), ("/dir/", ["X-Index: other"], "GET"),
            ("/sub/file.txt", [], "GET"), ("/sub/file.txt", ["X-Token: secret"], "GET"), ("/sub/open", [], "GET"),
            ("/sub/deny/x", ["X-Token: secret"], "GET"), ("/sub/err/x", [], "GET"), ("/sub/not/x", [], "GET"),
            ("/alpha.txt", ["X-Case: SHOUT"], "GET"), ("/alpha.txt", ["X-Case: quiet"], "GET"),
            ("/file.txt", ["User-Agent: Mozilla/2.0"], "GET"),
        ]
        try Self.pair(Self.ifConfig, setUp: { config in
            try config.root.writeDocument("dir/other.html", "<p>other</p>\n")
            try config.root.writeDocument("sub/open", "open\n")
        }) { skep, apache in
            try Self.compare(skep, apache, requests, headers: ["Content-Type", "Connection"])
            F.expectStillServing(skep, after: "the <If> cases")
        }
    }

    /// Configuration errors: both refuse with exit 1, and skep says what Apache says,
    /// at the line Apache names.
    @Test(arguments: [
        "<If \"%{NOPE} == 'a'\">\n</If>",
        "<If \"%{REQUEST_URI} == \">\n</If>",
        "<If \"foo('x') == 'y'\">\n</If>",
        "<If \"-X 'a'\">\n</If>",
        "<If \"'a' =~ /(/\">\n</If>",
        "<If \"true false\">\n</If>",
        "<If \"'a' -ipmatch 'x/99'\">\n</If>",
        "<If \"'a' == 'b' # c\">\n</If>",
        "<If \"%{HTTP-HOST} == 'a'\">\n</If>",
        "<If \"'\\9' == 'a'\">\n</If>",
        "<If \"'\\777' == 'a'\">\n</If>",
        "<If \"'a' -in split('b')\">\n</If>",
        "<If \"'a' == 'b' junk\">\n</If>",
        "<If \"'%{' == 'a'\">\n</If>",
        "<If \"-R '10.0.0.0/8' && -R %{REMOTE_ADDR}\">\n</If>",
        "<If \"'a' =~ /b/ x\">\n</If>",
        "<If \"('a' == 'b'\">\n</If>",
        "<If \"'a' =~ 'b'\">\n</If>",
        "<If \"'a' -in 'b'\">\n</If>",
        "<If \"%{HTTP_HOST\">\n</If>",
        "<If \"tolower('a' 'b') == 'a'\">\n</If>",
        "<If \"'%{HTTP_HOST}\\9' == 'a'\">\n</If>",
        "<If \"'a' -in {'b' 'c'}\">\n</If>",
        "<If \"%{env:x} == 'a' && %{TIME_YEAR} >\">\n</If>",
        "<Else>\n</Else>",
        "<If true>\n</If>\n<Else x>\n</Else>",
        "<If>\n</If>",
        "<If true>\nDocumentRoot /tmp\n</If>",
        "<If true>\n<Directory /x>\n</Directory>\n</If>",
        "<If \"true\" \"x\">\n</If>",
        "<If true>\n</If>\n<ElseIf true>\n</ElseIf>\n<Else>\n</Else>\n<ElseIf true>\n</ElseIf>",
        "<Location /x>\nRequire expr \"%{NOPE} == 1\"\n</Location>",
        "SetEnvIfExpr \"%{NOPE} == 1\" x",
        "SetEnvIf User-Agent",
        "SetEnvIf User-Agent x",
        "BrowserMatch \"(\" x",
    ])
    func configErrorsAsApache(_ extra: String) throws {
        var config = try TestConfig(extra: extra)
        defer { config.root.remove() }
        config.modules = Self.modules
        let ours = try ServerBinary.configtest(.skep, configPath: config.write(for: .skep))
        let theirs = try Oracle.configtest(config)
        #expect(ours.status == 1 && theirs.status == 1, "skep \(ours.statusText) \(ours.stderr) / Apache \(theirs.statusText) \(theirs.stderr)")
        // Apache: "AH00526: Syntax error on line N of FILE:\nMESSAGE".
        let lines = theirs.stderr.split(separator: "\n").map(String.init)
        guard let at = lines.firstIndex(where: { $0.contains("Syntax error on line") }), at + 1 < lines.count,
              let number = lines[at].split(separator: " ").dropFirst(5).first else {
            Issue.record("Apache's message: \(theirs.stderr)")
            return
        }
        // The same line of `extra` (the renderings differ in the lines before it).
        func start(_ kind: ServerKind) -> Int {
            let first = extra.split(separator: "\n").first.map(String.init) ?? extra
            return (config.render(for: kind).split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0 == first } ?? 0) + 1
        }
        let line = (Int(number) ?? 0) - start(.apache) + start(.skep)
        #expect(ours.stderr.contains(":\(line): \(lines[at + 1])"), "skep: \(ours.stderr)\nApache: \(theirs.stderr)")
    }

    /// Debian's stock setenvif.conf and php8.2-fpm.conf's Authorization line, as the
    /// files are installed: accepted by both.
    @Test func debianStockFilesAreAccepted() throws {
        let stock = ["/etc/apache2/mods-available/setenvif.conf", "/etc/apache2/conf-available/php8.2-fpm.conf"]
            .filter { FileManager.default.fileExists(atPath: $0) }
        var config = try TestConfig(extra: stock.map { "Include \($0)" }.joined(separator: "\n"))
        defer { config.root.remove() }
        config.modules = Self.modules + ["proxy", "proxy_fcgi"]
        let ours = try ServerBinary.configtest(.skep, configPath: config.write(for: .skep))
        let theirs = try Oracle.configtest(config)
        #expect(theirs.status == 0, "Apache: \(theirs.stderr)")
        #expect(ours.status == 0, "skep: \(ours.stderr)")
    }

    /// The variables reach a PHP-FPM script's environment: php8.2-fpm.conf's
    /// Authorization line, SetEnv/UnsetEnv merged with a `<Location>`, SetEnvIf with `$1`.
    @Test(.enabled(if: PHPFPM.isAvailable, "needs php-fpm"))
    func variablesReachFastCGI() throws {
        let names: Set<String> = ["HTTP_AUTHORIZATION", "APP_ENV", "script", "IN_LOCATION", "KEPT"]
        var seen: [ServerKind: [String: String]] = [:]
        for kind in FastCGIFixture.servers {
            try FastCGIFixture.withServer(kind, extra: { fpm in
                FastCGIFixture.unixHandler(fpm) + #"""

                    SetEnvIfNoCase ^Authorization$ "(.+)" HTTP_AUTHORIZATION=$1
                    SetEnv APP_ENV production
                    SetEnv KEPT yes
                    SetEnvIf Request_URI "^/(\w+)\.php" script=$1
                    <Location /env.php>
                        UnsetEnv APP_ENV
                        SetEnv IN_LOCATION yes
                    </Location>
                    """#
            }, setUp: { config in
                config.modules += ["setenvif"]
            }) { server, _ in
                let (env, _) = try FastCGIFixture.environment(server, "/env.php", headers: ["Authorization: Bearer abc"])
                seen[kind] = env.filter { names.contains($0.key) }
            }
        }
        #expect(seen[.skep] != nil)
        if let apache = seen[.apache] {
            #expect(apache["HTTP_AUTHORIZATION"] == "Bearer abc", "Apache: \(apache)")
            #expect(seen[.skep] == apache)
        }
    }

    /// Expressions Apache and skep must agree on, each deciding an `<If>`/`<Else>` pair.
    /// (`%{REQUEST_FILENAME}` and `%{PATH_INFO}` are left out: for a path that does not
    /// exist, Apache's directory walk cuts the file name at the first missing component
    /// and makes the rest path info; skep's map-to-storage keeps the whole name.)
    static let expressions = [
        "true", "!true", "false || true && false", "(false || true) && true", "not false and true",
        "%{REQUEST_METHOD} == 'GET'", "%{request_method} = \"GET\"", "%{QUERY_STRING} == 'q=1&x=%41'",
        "%{THE_REQUEST} =~ m#^GET /e/\\d+\\?q=1&x=%41 HTTP/1\\.1$#", "%{HTTP:X-Num} -eq 42", "%{HTTP:x-num} -gt 41",
        "req('X-Num') -lt 43", "http('X-Num') -le 42", "%{HTTP:X-Num} -ge 43", "%{HTTP:X-Num} -ne 42",
        "%{HTTP_USER_AGENT} =~ /mozilla/i", "%{HTTP_USER_AGENT} =~ /mozilla/", "%{HTTP_USER_AGENT} !~ m#Test$#",
        "%{HTTP_COOKIE} == 'a=b' && %{HTTP_ACCEPT} == 'text/html'", "%{REMOTE_ADDR} == '127.0.0.1'",
        "%{HTTPS} == 'off'", "%{SERVER_PROTOCOL} == 'HTTP/1.1'", "%{REQUEST_SCHEME} == 'http'", "%{IS_SUBREQ} == 'false'",
        "%{SERVER_NAME} == '127.0.0.1'", "%{SERVER_PORT} -gt 0", "%{REMOTE_PORT} -gt 0", "%{IPV6} == 'off'",
        "-n %{HTTP:X-Num}", "-z %{HTTP:X-None}", "-z ''", "osenv('PATH') != ''", "env('PATH') != ''",
        "'a' -in { 'b', 'a' }", "'c' -in { 'b', 'a' }", "%{REQUEST_METHOD} in {'GET'}",
        "'10' -eq 10", "'010' -eq '10'", "' 7' -eq 7", "'abc' -eq 0", "-5 -lt 3", "'12abc' -eq 12",
        "'abc' < 'abd'", "'b' > 'abc'", "'a' <= 'a'", "'a' >= 'b'", "'A' != 'a'", "'' < 'a'",
        "'x' . 'y' == 'xy'", "\"a%{REQUEST_METHOD}b\" == 'aGETb'", "'\\x41' == 'x41'", "'\\101' == 'A'",
        "tolower('AbC') == 'abc'", "toupper('AbC') == 'ABC'", "escape('a b/c?#%') == 'a%20b/c%3f%23%25'",
        "unescape('a%20b%2F') == 'a b/'", "unescape('a%zz') == ''", "unescape('a%00b') == ''",
        "base64('hello') == 'aGVsbG8='", "base64('hi') == 'aGk='", "unbase64('aGVsbG8=') == 'hello'", "unbase64('aGk') == 'hi'",
        "md5('abc') == '900150983cd24fb0d6963f7d28e17f72'", "sha1('abc') == 'a9993e364706816aba3e25717850c26c9cd0d89d'",
        "%{REQUEST_URI} =~ m#^/(\\w+)/(\\d+)# && $1 == 'e' && $2 -gt 0",
        "%{REQUEST_URI} =~ /(nomatch)/ || $1 == ''",
        "'abc' =~ /(b)/ && 'xyz' =~ /y/ && $1 == 'b'", "'abc' =~ /(b)/ && 'xyz' =~ /(q)/ || $1 == ''",
        "'abc' =~ /(b)/ && \"[$1]\" == '[b]' && \"$0\" == 'b'",
        "-T 'on'", "-T 'OFF'", "-T '0'", "-T '00'", "-T ''", "-T 'No'", "-T 'falsehood'",
        "'/a/b/c' -fnmatch '/a/*'", "'/a/b/c' -strmatch '/a/*'", "'ABC' -strcmatch 'a*'", "'ABC' -strmatch 'a*'",
        "%{REMOTE_ADDR} -ipmatch '127.0.0.0/8'", "'10.1.2.3' -ipmatch '10.1.'", "'10.2.0.1' -ipmatch '10.1.0.0/16'",
        "'::1' -ipmatch '::1/128'", "-R '127.0.0.1'", "-R '192.168.0.0/16'",
        "-d '/'", "-f '/'", "-e '/etc/passwd'", "-f '/etc/passwd'", "-s '/etc/passwd'", "-d '/no/such/dir'",
        "filesize('/no/such') == '0'", "filesize('/etc/passwd') -gt 0", "-x '/bin/sh'", "-L '/no/such'",
        "%{TIME_YEAR} -ge 2024", "%{TIME} =~ /^\\d{14}$/", "%{TIME_WDAY} -lt 7", "%{API_VERSION} == '20120211'",
        "%{CONTENT_TYPE} == ''",
        "%{DOCUMENT_ROOT} =~ /htdocs$/", "%{CONTEXT_PREFIX} == ''", "%{REMOTE_USER} == ''",
    ]

    /// The evaluator against Apache's: every expression decides an `<If>` in its own
    /// `<Location>`, whose `ErrorDocument` says which branch applied.
    @Test func expressionsEvaluateAsApache() throws {
        let sections = Self.expressions.enumerated().map { index, source in
            // Apache's `ap_getword_conf` unescapes only `\"` inside quotes.
            let quoted = source.replacingOccurrences(of: "\"", with: "\\\"")
            return "<Location /e/\(index)>\n<If \"\(quoted)\">\nErrorDocument 404 \"T\n</If>\n<Else>\nErrorDocument 404 \"F\n</Else>\n</Location>"
        }
        let headers = ["X-Num: 42", "User-Agent: Mozilla/5.0 (X11) Test", "Accept: text/html", "Cookie: a=b"]
        try Self.pair(sections.joined(separator: "\n")) { skep, apache in
            for (index, source) in Self.expressions.enumerated() {
                let path = "/e/\(index)?q=1&x=%41"
                let s = try F.get(skep, path, headers: headers), a = try F.get(apache, path, headers: headers)
                #expect(a.status == 404 && (a.bodyText == "T" || a.bodyText == "F"), "\(source): Apache \(a.status) \(a.bodyText)")
                #expect(s.bodyText == a.bodyText, "\(source): skep \(s.bodyText) / Apache \(a.bodyText)")
            }
        }
    }
}
