import Foundation
import Glibc
import Testing

/// mod_rewrite against Debian's Apache on the same rules and files: server-context rules
/// (URL to file, URL to URL with `PT`, redirects, `F`, `G`, `R=code`, the query flags,
/// `B`, `NE`, `E`, `CO`, `T`, `C`, `S`, `N` bounded, `END`, `UnsafeAllow3F`, the
/// condition kinds and variables), per-directory rules in `<Directory>` (the prefix
/// stripped, `RewriteBase`, a WordPress-style front controller, internal redirects with
/// the `REDIRECT_*` variables a script sees, a loop stopped by `LimitInternalRecursion`),
/// and the `rewrite:trace3` lines of a simple rule. The answer cannot depend on the MPM:
/// Apache runs once (prefork, with mod_cgi).
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct RewriteDifferentialTests {
    typealias F = EngineFixture

    static let config = #"""
        LogLevel info rewrite:trace3
        ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
        <Directory "@ROOT@/cgi-bin">
            Require all granted
        </Directory>
        RewriteEngine On
        RewriteRule ^/old/(.*)$ /file.txt [L]
        RewriteRule ^/env/(.*)$ /cgi-bin/env.cgi?p=$1 [PT,QSA]
        RewriteRule ^/perm/(.*)$ /new/$1 [R=301,L]
        RewriteRule ^/temp(.*)$ http://example.com/x$1 [R,L]
        RewriteRule ^/seeother$ /file.txt [R=seeother,L]
        RewriteRule ^/forbidden - [F]
        RewriteRule ^/gone - [G]
        RewriteRule ^/teapot - [R=405]
        RewriteCond %{HTTP_USER_AGENT} ^Bot [NC]
        RewriteRule ^/ua$ /alpha.txt [L]
        RewriteCond %{QUERY_STRING} (^|&)id=([0-9]+)
        RewriteRule ^/q$ /cgi-bin/env.cgi?item=%2 [PT]
        RewriteRule ^/qsd$ /cgi-bin/env.cgi [PT,QSD]
        RewriteRule ^/qsa$ /cgi-bin/env.cgi?new=1 [PT,QSA]
        RewriteRule ^/noquery$ /cgi-bin/env.cgi? [PT]
        RewriteRule ^/envflag$ /cgi-bin/env.cgi [PT,E=MYVAR:hello,E=OTHER:%{REQUEST_METHOD}]
        RewriteRule ^/b/(.*)$ /cgi-bin/env.cgi?v=$1 [PT,B]
        RewriteRule ^/bnp/(.*)$ /cgi-bin/env.cgi?v=$1 [PT,B,BNP]
        RewriteRule ^/bchars/(.*)$ /cgi-bin/env.cgi?v=$1 [PT,B=&]
        RewriteRule ^/ne/(.*)$ http://example.com/$1?x=a%20b [R,NE]
        RewriteRule ^/escaped/(.*)$ http://example.com/$1?x=a%20b [R]
        RewriteRule ^/type$ /file.txt [T=application/x-test]
        RewriteRule ^/chain$ /chained [C]
        RewriteRule ^/chained$ /alpha.txt [L]
        RewriteRule ^/chainbroken$ /chained [C]
        RewriteRule ^/nowhere$ /alpha.txt [L]
        RewriteRule ^/skip$ /skipped [S=1]
        RewriteRule ^/skipped$ /alpha.txt [L]
        RewriteRule ^/skipped$ /sub/file.txt [L]
        RewriteRule ^/cookie$ /file.txt [CO=flavor:choc:a,L]
        RewriteRule ^/loop(.*)$ /loop$1x [N=5]
        RewriteRule ^/unsafe/(.*)$ /cgi-bin/$1 [PT]
        RewriteRule ^/allowed/(.*)$ /cgi-bin/$1 [PT,UnsafeAllow3F]
        RewriteRule ^/qsl/(.*)$ /cgi-bin/env.cgi?a=1?$1 [PT,QSA,QSL]
        RewriteCond expr "%{QUERY_STRING} =~ /magic/"
        RewriteRule ^/expr$ /alpha.txt [L]
        RewriteCond %{DOCUMENT_ROOT}/sub/file.txt -f
        RewriteCond %{DOCUMENT_ROOT}/sub -d
        RewriteCond %{DOCUMENT_ROOT}/sub/file.txt -s
        RewriteRule ^/exists$ /alpha.txt [L]
        RewriteCond %{HTTP:X-Num} -gt5
        RewriteRule ^/num$ /alpha.txt [L]
        RewriteCond %{HTTP:X-Str} >m
        RewriteRule ^/str$ /alpha.txt [L]
        RewriteCond %{HTTP:X-A} =yes [OR]
        RewriteCond %{HTTP:X-B} =yes
        RewriteRule ^/or$ /alpha.txt [L]
        RewriteCond %{HTTP:X-A} !=yes
        RewriteRule ^/not$ /alpha.txt [L]
        RewriteRule ^/vars$ /cgi-bin/env.cgi?m=%{REQUEST_METHOD}&u=%{REQUEST_URI}&q=%{QUERY_STRING}&h=%{HTTP_HOST}&https=%{HTTPS}&s=%{REQUEST_SCHEME}&e=%{ENV:SCRIPT_URL} [PT]
        RewriteRule ^/end$ /pd/env [END]
        RewriteRule ^/absolute$ @DOCROOT@/sub/file.txt [L]
        RewriteRule ^/nosub - [E=JUST:set]
        RewriteRule ^/nosub$ /cgi-bin/env.cgi [PT]
        RewriteRule ^/al/(.*)$ /elsewhere/$1 [PT]
        RewriteRule ^/handler$ /cgi-bin/env.cgi [H=cgi-script,PT]
        RewriteRule ^/proxied$ fcgi://127.0.0.1:1/x [P]
        RewriteRule ^/permq$ /file.txt?a=b [R=permanent,QSA]
        RewriteRule ^/absq$ http://example.com/p?a=b [R,QSA]
        RewriteCond %{HTTP_REFERER} example [NV]
        RewriteRule ^/novary$ /alpha.txt [L]
        RewriteCond %{REMOTE_ADDR} ^127\.0\.0\.1$
        RewriteCond %{SERVER_PORT} ^80$
        RewriteCond %{IS_SUBREQ} false
        RewriteCond %{REQUEST_SCHEME} =http
        RewriteCond %{HTTPS} off
        RewriteRule ^/conn$ /alpha.txt [L]
        RewriteCond %{DOCUMENT_ROOT}/link.txt -l
        RewriteRule ^/islink$ /alpha.txt [L]
        RewriteCond @ROOT@/cgi-bin/env.cgi -x
        RewriteRule ^/isexec$ /alpha.txt [L]
        RewriteRule ^/bctls/(.*)$ /cgi-bin/env.cgi?v=$1 [PT,BCTLS]
        RewriteRule ^/bne/(.*)$ /cgi-bin/env.cgi?v=$1 [PT,B,BNE=/]
        RewriteRule ^/cookies$ /file.txt [CO=a:1:a:10:/p:secure:httponly:Lax,CO=;b;2;a,L]
        <Directory "@DOCROOT@/pd">
            RewriteEngine On
            RewriteRule ^old\.txt$ new.txt [L]
            RewriteRule ^redir$ target [R=302,L]
            RewriteRule ^loop$ loop2 [L]
            RewriteRule ^loop2$ loop [L]
            RewriteRule ^same$ same
            RewriteRule ^env$ /cgi-bin/env.cgi [E=FOO:bar,L]
            RewriteRule ^sub/(.*)$ /cgi-bin/env.cgi?path=$1 [L]
            RewriteRule ^forbid - [F]
            RewriteRule ^dpi/(.*)$ /cgi-bin/env.cgi [DPI,L]
            RewriteRule ^end$ /pd/plain.txt [END]
        </Directory>
        <Directory "@DOCROOT@/pd/child">
            RewriteOptions Inherit
            RewriteRule ^mine$ /alpha.txt [L]
        </Directory>
        <Directory "@DOCROOT@/pd/other">
            RewriteRule ^mine$ /alpha.txt [L]
        </Directory>
        <Directory "@DOCROOT@/based">
            RewriteEngine On
            RewriteBase /elsewhere/
            RewriteRule ^go$ target [R,L]
            RewriteRule ^in$ file.txt [L]
        </Directory>
        Alias /elsewhere/ "@DOCROOT@/sub/"
        <Directory "@DOCROOT@/wp">
            Options +ExecCGI
            AddHandler cgi-script .cgi
            RewriteEngine On
            RewriteBase /wp/
            RewriteRule ^index\.cgi$ - [L]
            RewriteCond %{REQUEST_FILENAME} !-f
            RewriteCond %{REQUEST_FILENAME} !-d
            RewriteRule . /wp/index.cgi [L]
        </Directory>
        """#

    /// Prints the variables a rewritten request passes to a script.
    static let envScript = """
        #!/bin/sh
        printf 'Content-Type: text/plain\\r\\n\\r\\n'
        for v in REQUEST_METHOD QUERY_STRING SCRIPT_NAME PATH_INFO REQUEST_URI REDIRECT_STATUS REDIRECT_URL \\
                 REDIRECT_QUERY_STRING MYVAR OTHER FOO REDIRECT_FOO JUST SCRIPT_URL SCRIPT_URI REDIRECT_SCRIPT_URL \\
                 REDIRECT_SCRIPT_URI REDIRECT_MYVAR; do
            eval "printf '%s=[%s]\\n' $v \\"\\${$v-unset}\\""
        done
        """

    static let files: [(path: String, text: String, mode: mode_t)] = [
        ("cgi-bin/env.cgi", envScript, 0o755),
        ("htdocs/pd/new.txt", "new in pd\n", 0o644),
        ("htdocs/pd/old.txt", "old in pd\n", 0o644),
        ("htdocs/pd/plain.txt", "plain in pd\n", 0o644),
        ("htdocs/based/file.txt", "based file\n", 0o644),
        ("htdocs/wp/index.cgi", envScript, 0o755),
        ("htdocs/wp/static.txt", "static in wp\n", 0o644),
        ("htdocs/wp/deep/er/file.txt", "deep file\n", 0o644),
    ]

    static let h = "Host: a\r\n"

    static func get(_ name: String, _ target: String, _ fields: String = "") -> WireCase {
        WireCase(name, "GET \(target) HTTP/1.1\r\n\(h)\(fields)\r\n")
    }

    static let cases: [WireCase] = [
        get("URL to a file under DocumentRoot", "/old/anything"),
        get("PT and QSA to a script", "/env/one?two=2"),
        get("R=301", "/perm/a/b?q=1"),
        get("R to an absolute URL", "/temp/y?z=1"),
        get("R=seeother", "/seeother"),
        get("F", "/forbidden"),
        get("G", "/gone"),
        get("R=405", "/teapot"),
        get("condition on User-Agent, NC", "/ua", "User-Agent: bot/1.0\r\n"),
        get("condition on User-Agent not matching", "/ua", "User-Agent: Mozilla\r\n"),
        get("%N from the condition", "/q?x=1&id=42"),
        get("QSD", "/qsd?drop=me"),
        get("QSA", "/qsa?keep=me"),
        get("trailing ? drops the query", "/noquery?drop=me"),
        get("E=", "/envflag"),
        get("B", "/b/a%20b%26c%3Dd"),
        get("B with BNP", "/bnp/a%20b"),
        get("B=chars", "/bchars/a%20b%26c"),
        get("NE", "/ne/p%20q"),
        get("redirect escaped", "/escaped/p%20q"),
        get("T=", "/type"),
        get("C, the chain taken", "/chain"),
        get("C, the chain broken", "/chainbroken"),
        get("S=1", "/skip"),
        get("CO=", "/cookie"),
        get("N bounded", "/loop"),
        get("%3f without UnsafeAllow3F", "/unsafe/env.cgi%3fx=1"),
        get("%3f with UnsafeAllow3F", "/allowed/env.cgi%3fx=1"),
        get("QSL with a %3f last", "/qsl/b%3fc"),
        get("per-dir rewrite to itself", "/pd/same"),
        get("expr condition", "/expr?magic=1"),
        get("expr condition not matching", "/expr?plain=1"),
        get("-f -d -s", "/exists"),
        get("-gt", "/num", "X-Num: 7\r\n"),
        get("-gt not matching", "/num", "X-Num: 3\r\n"),
        get(">", "/str", "X-Str: zebra\r\n"),
        get("OR, second", "/or", "X-B: yes\r\n"),
        get("OR, neither", "/or", "X-A: no\r\n"),
        get("!=", "/not", "X-A: no\r\n"),
        get("variables", "/vars?k=v"),
        get("END into a directory with rules", "/end"),
        get("absolute file-system path", "/absolute"),
        get("- keeps going", "/nosub"),
        get("untouched file", "/file.txt?x=1"),
        get("per-dir relative rewrite", "/pd/old.txt"),
        get("per-dir untouched", "/pd/plain.txt"),
        get("per-dir redirect", "/pd/redir?k=1"),
        get("per-dir internal redirect loop", "/pd/loop"),
        get("per-dir to a script with E=", "/pd/env?orig=1"),
        get("per-dir with path", "/pd/sub/x/y?z=1"),
        get("per-dir F", "/pd/forbid"),
        get("PT into an Alias", "/al/file.txt"),
        get("H=", "/handler"),
        get("P without mod_proxy", "/proxied"),
        get("R=permanent with QSA", "/permq?c=d"),
        get("R to an absolute URL with QSA", "/absq?c=d"),
        get("NV keeps Vary out", "/novary", "Referer: http://example.com/\r\n"),
        get("connection variables", "/conn"),
        get("-l", "/islink"),
        get("-x", "/isexec"),
        get("BCTLS", "/bctls/a%20b%01c&d"),
        get("B with BNE", "/bne/a/b%20c"),
        get("CO= with every field", "/cookies"),
        get("per-dir DPI", "/pd/dpi/x"),
        get("per-dir END", "/pd/end"),
        get("per-dir Inherit", "/pd/child/forbid"),
        get("per-dir own rules", "/pd/child/mine"),
        get("per-dir without Inherit", "/pd/other/forbid"),
        get("per-dir directory without slash", "/pd"),
        get("RewriteBase redirect", "/based/go"),
        get("RewriteBase internal", "/based/in"),
        get("front controller", "/wp/some/pretty/path/?p=1"),
        get("front controller, existing file", "/wp/static.txt"),
        get("front controller, deep file", "/wp/deep/er/file.txt"),
        get("front controller, the script itself", "/wp/index.cgi"),
    ]

    static func setUp(_ config: inout TestConfig, cgi: String = "cgi", extra: String = Self.config) throws {
        let modules = F.commonModules + ["alias", "mime", cgi, "rewrite"]
        config.modules = modules
        config.skepModules = modules
        config.extra = extra
        try F.populate(config.root)
        for file in files { try config.root.writeFile(file.path, file.text, mode: file.mode) }
        try config.root.writeDocument("pd/child/x.txt", "child\n")
        try config.root.writeDocument("pd/other/x.txt", "other\n")
        guard symlink("file.txt", config.root.path + "/htdocs/link.txt") == 0 else { throw HarnessError("symlink: \(errno)") }
    }

    @Test func preforkRewritesAsApache() throws {
        try compare(mpm: .prefork, cgi: "cgi")
    }

    /// The event MPM's listener may run a request: a condition's file test it cannot
    /// answer from the cache hands the request to a worker.
    @Test func eventRewritesAsApache() throws {
        try compare(mpm: .event, cgi: "cgid")
    }

    /// Virtual hosts: the main server's rules reach one only with `RewriteOptions
    /// Inherit` (or `InheritBefore`), the engine state always.
    @Test func virtualHostsInheritAsApache() throws {
        let extra = """
            RewriteEngine On
            RewriteRule ^/main$ /file.txt [L]
            <VirtualHost *:@PORT@>
                ServerName plain
            </VirtualHost>
            <VirtualHost *:@PORT@>
                ServerName inherit
                RewriteOptions Inherit
                RewriteRule ^/own$ /alpha.txt [L]
                RewriteRule ^/main$ /sub/file.txt [L]
            </VirtualHost>
            <VirtualHost *:@PORT@>
                ServerName before
                RewriteOptions InheritBefore
                RewriteRule ^/main$ /sub/file.txt [L]
            </VirtualHost>
            <VirtualHost *:@PORT@>
                ServerName off
                RewriteEngine Off
                RewriteRule ^/main$ /sub/file.txt [L]
            </VirtualHost>
            <VirtualHost *:@PORT@>
                ServerName own
                RewriteRule ^/main$ /alpha.txt [L]
            </VirtualHost>
            """
        try withServerPair(mpm: .prefork, mode: .foreground, setUp: { try Self.setUp(&$0, extra: extra) }) { skep, apache in
            var statuses: [String: Int] = [:]
            for host in ["plain", "inherit", "before", "off", "own"] {
                for path in ["/main", "/own"] {
                    let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\r\n"
                    let s = try F.exchange(skep, request), a = try F.exchange(apache, request)
                    let diffs = Self.differences(s, skep, a, apache)
                    #expect(diffs.isEmpty, "\(host)\(path): \(diffs.joined(separator: "; "))")
                    statuses["\(host)\(path)"] = a.status
                }
            }
            // The cases tell the hosts apart (Apache's answers, which skep's equal).
            #expect(statuses == ["plain/main": 404, "plain/own": 404, "inherit/main": 200, "inherit/own": 200, "before/main": 200,
                                 "before/own": 404, "off/main": 404, "off/own": 404, "own/main": 200, "own/own": 404])
        }
    }

    /// The same per-directory engine read from `.htaccess` (WordPress's block, a
    /// relative rule, a redirect with RewriteBase, a rule refused where AllowOverride
    /// does not grant FileInfo). Passes on Apache; Skep needs the `.htaccess` reader.
    @Test func htaccessRulesAsApache() throws {
        let extra = """
            <Directory "@DOCROOT@/ht">
                AllowOverride FileInfo
                Options +ExecCGI
                AddHandler cgi-script .cgi
            </Directory>
            <Directory "@DOCROOT@/ht/locked">
                AllowOverride None
            </Directory>
            <Directory "@DOCROOT@/ht/limited">
                AllowOverride Indexes
            </Directory>
            """
        let htaccess = """
            RewriteEngine On
            RewriteBase /ht/
            RewriteRule ^index\\.cgi$ - [L]
            RewriteRule ^old\\.txt$ new.txt [L]
            RewriteRule ^go$ target [R=301,L]
            RewriteCond %{REQUEST_FILENAME} !-f
            RewriteCond %{REQUEST_FILENAME} !-d
            RewriteRule . /ht/index.cgi [L]

            """
        try withServerPair(mpm: .prefork, mode: .foreground, setUp: { config in
            try Self.setUp(&config, extra: extra)
            try config.root.writeDocument("ht/.htaccess", htaccess)
            try config.root.writeFile("htdocs/ht/index.cgi", Self.envScript, mode: 0o755)
            try config.root.writeDocument("ht/new.txt", "new\n")
            try config.root.writeDocument("ht/locked/.htaccess", "RewriteEngine On\nRewriteRule ^ - [F]\n")
            try config.root.writeDocument("ht/locked/file.txt", "locked\n")
            try config.root.writeDocument("ht/limited/.htaccess", "RewriteEngine On\nRewriteRule ^ - [F]\n")
            try config.root.writeDocument("ht/limited/file.txt", "limited\n")
        }) { skep, apache in
            for target in ["/ht/old.txt", "/ht/new.txt", "/ht/go", "/ht/pretty/route?x=1", "/ht/index.cgi", "/ht/locked/file.txt", "/ht/limited/file.txt"] {
                let request = Self.get(target, target).request
                let s = try F.exchange(skep, request), a = try F.exchange(apache, request)
                let diffs = Self.differences(s, skep, a, apache)
                #expect(diffs.isEmpty, "\(target): \(diffs.joined(separator: "; "))")
            }
        }
    }

    func compare(mpm: MPM, cgi: String) throws {
        try withServerPair(mpm: mpm, mode: .foreground, setUp: { try Self.setUp(&$0, cgi: cgi) }) { skep, apache in
            for c in Self.cases {
                let s: HTTPResponse, a: HTTPResponse
                do {
                    s = try F.exchange(skep, c.request)
                    a = try F.exchange(apache, c.request)
                } catch {
                    Issue.record("\(c.name): \(error)\n\(skep.diagnostics())")
                    continue
                }
                let diffs = Self.differences(s, skep, a, apache)
                #expect(diffs.isEmpty, "\(c.name): \(diffs.joined(separator: "; "))\nskep: \(s)\napache: \(a)")
            }
            // Both logs name the loops they stopped.
            for line in ["AH00124: Request exceeded the limit of 10 internal redirects", "AH02596: RewriteRule '^/loop(.*)$' and URI '/loop' exceeded maximum number of rounds (5) via the [N] flag",
                         "AH10508: Unsafe URL with %3f URL rewritten without UnsafeAllow3F"] {
                for server in [skep, apache] {
                    #expect(throws: Never.self, "\(server.kind) logs \(line)") {
                        try Deadline.wait(for: "\(line) in the error log", timeout: .seconds(5)) {
                            server.errorLog().replacingOccurrences(of: " (/pd/loop)", with: "").contains(line)
                        }
                    }
                }
            }
            F.expectStillServing(skep, after: "the rewrite cases")
        }
    }

    /// Status, headers and body, each server's root written as @ROOT@ (a per-directory
    /// redirect without RewriteBase puts the file-system path in `Location`, as Apache's).
    static func differences(_ s: HTTPResponse, _ skep: ServerProcess, _ a: HTTPResponse, _ apache: ServerProcess) -> [String] {
        func normalized(_ r: HTTPResponse, _ server: ServerProcess) -> HTTPResponse {
            var r = r
            let root = server.config.root.path
            // A cookie's expiry is now + lifetime: the two servers' clocks may read a second apart.
            // The date's format still has to match for the replacement to happen.
            r.headers = r.headers.map {
                HTTPHeader(name: $0.name, value: $0.value.replacingOccurrences(of: root, with: "@ROOT@")
                    .replacingOccurrences(of: #"expires=[A-Z][a-z]{2}, \d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2} GMT"#,
                                          with: "expires=@DATE@", options: .regularExpression))
            }
            r.body = Array(r.bodyText.replacingOccurrences(of: root, with: "@ROOT@").utf8)
            return r
        }
        let ignored = Differential.volatileHeaders.union(["content-length", "transfer-encoding"])
        return Differential.differences(normalized(s, skep), normalized(a, apache), ignoring: ignored).filter { !$0.hasPrefix("framing") }
    }

    /// The trace lines one request writes at `rewrite:trace3`, in order, from the text
    /// after `[rid#.../initial] ` (the pointers are Apache's own).
    static func traceLines(_ log: String, root: String) -> [String] {
        log.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("[rewrite:trace"), let marker = line.range(of: "/initial] ") else { return nil }
            let level = line.range(of: "[rewrite:trace").map { String(line[$0.upperBound...].prefix(1)) } ?? "?"
            return "trace\(level) " + String(line[marker.upperBound...]).replacingOccurrences(of: root, with: "@ROOT@")
        }
    }

    @Test func traceLinesAsApache() throws {
        try withServerPair(mpm: .prefork, mode: .foreground, setUp: { try Self.setUp(&$0) }) { skep, apache in
            for server in [skep, apache] { _ = try F.exchange(server, Self.get("trace", "/old/x").request) }
            var lines: [ServerKind: [String]] = [:]
            for server in [skep, apache] {
                try Deadline.wait(for: "the trace of /old/x in \(server.kind)'s error log", timeout: .seconds(5)) {
                    Self.traceLines(server.errorLog(), root: server.config.root.path).contains { $0.contains("go-ahead with @ROOT@/htdocs/file.txt") }
                }
                // The request's lines: from its first to its last (the servers' own
                // start-up probes come before).
                let all = Self.traceLines(server.errorLog(), root: server.config.root.path)
                let first = all.lastIndex { $0.contains("init rewrite engine with requested uri /old/x") } ?? all.endIndex
                let last = all.lastIndex { $0.contains("go-ahead with") } ?? all.endIndex
                lines[server.kind] = first <= last && last < all.endIndex ? Array(all[first...last]) : []
            }
            #expect(lines[.skep] == lines[.apache])
            #expect(lines[.skep]?.contains("trace3 applying pattern '^/old/(.*)$' to uri '/old/x'") == true)
        }
    }
}

/// Rewritten requests reaching PHP through mod_proxy_fcgi as Apache sends them: a
/// WordPress-style front controller in `<Directory>` (the internal redirect's
/// `REDIRECT_*` variables, `E=` passing the Authorization header on), and `[P]` to an
/// `fcgi://` back end.
@Suite(.tags(.apache, .phpFPM, .skepBinary),
       .enabled(if: Oracle.isAvailable && PHPFPM.isAvailable, "needs apache2 and php-fpm"),
       .timeLimit(.minutes(10)))
struct RewriteFastCGITests {
    typealias F = FastCGIFixture

    static func extra(_ fpm: PHPFPM) -> String {
        """
        \(F.unixHandler(fpm))
        RewriteEngine On
        RewriteRule ^/p/(.*)$ fcgi://\(fpm.tcpAddress)@DOCROOT@/env.php/$1 [P,E=VIA:proxy]
        <Directory "@DOCROOT@/app">
            RewriteEngine On
            RewriteBase /app/
            RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
            RewriteRule ^index\\.php$ - [L]
            RewriteCond %{REQUEST_FILENAME} !-f
            RewriteCond %{REQUEST_FILENAME} !-d
            RewriteRule . /app/index.php [L,E=ROUTED:yes]
        </Directory>
        """
    }

    static let names = [
        "SCRIPT_FILENAME", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "PHP_SELF", "REDIRECT_URL",
        "REDIRECT_STATUS", "REDIRECT_QUERY_STRING", "ROUTED", "REDIRECT_ROUTED", "HTTP_AUTHORIZATION",
        "REDIRECT_HTTP_AUTHORIZATION", "SCRIPT_URL", "REDIRECT_SCRIPT_URL", "VIA",
    ]

    @Test func rewrittenRequestsReachPHPAsApacheSendsThem() throws {
        try PHPFPM.with { fpm in
            try withServerPair(setUp: { config in
                config.modules = F.modules + ["rewrite"]
                config.extra = Self.extra(fpm)
                try F.populate(config.root)
                try config.root.writeDocument("app/index.php", F.envScript)
                try config.root.writeDocument("app/real.txt", "real\n")
            }) { skep, apache in
                for (path, headers) in [("/app/some/route?x=1", ["Authorization: Bearer t0k"]), ("/app/index.php?y=2", []), ("/p/extra/path?z=3", [])] {
                    let a = try F.environment(apache, path, headers: headers).env
                    let s = try F.environment(skep, path, headers: headers).env
                    // Skep's mod_proxy_fcgi sends REDIRECT_STATUS on every request (as nginx's
                    // fastcgi_params, for PHP's force-cgi-redirect); compared where Apache sends it.
                    for name in Self.names where name != "REDIRECT_STATUS" || a[name] != nil {
                        let sv = s[name]?.replacingOccurrences(of: skep.config.root.path, with: "@ROOT@")
                        let av = a[name]?.replacingOccurrences(of: apache.config.root.path, with: "@ROOT@")
                        #expect(sv == av, "\(path): \(name): skep \(sv ?? "-") / apache \(av ?? "-")")
                    }
                }
                for (path, body) in [("/app/real.txt", "real\n")] {
                    for server in [skep, apache] {
                        let response = try F.get(server, path)
                        #expect(response.status == 200 && response.bodyText == body, "\(server.kind) \(path): \(response)")
                    }
                }
            }
        }
    }
}
