import Foundation
import SkepTestSupport
import Testing

/// mod_headers and mod_expires against Debian's Apache: one Apache per configuration,
/// the same requests to both, every header field compared (Date, Server, ETag and
/// Last-Modified aside; Expires and max-age relative to the request's time).
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct HeadersDifferentialTests {
    typealias F = EngineFixture

    static let modules = F.commonModules + ["env", "headers", "expires", "mime"]

    static func pair(_ extra: String, _ body: (ServerProcess, ServerProcess) throws -> Void) throws {
        try DifferentialTests.pair(extra: extra, setUp: { config in
            config.modules = Self.modules
            config.skepModules = Self.modules.filter { TestConfig.skepAvailableModules.contains($0) || $0 == "mime" || $0 == "log_config" }
            try config.root.writeDocument("sub/edit.txt", "edit\n")
            try config.root.writeDocument("errors/missing.html", "<p>missing</p>\n")
            for dir in ["short", "short/m", "wild", "off", "keep"] {
                try config.root.writeDocument("\(dir)/file.txt", "x\n")
                try config.root.writeDocument("\(dir)/page.html", "<p>x</p>\n")
            }
            // The same modification time in both roots, so a modification base agrees.
            try FileManager.default.setAttributes([.modificationDate: Self.mtime], ofItemAtPath: config.root.docroot + "/sub/file.txt")
        }, body)
    }

    /// An hour ago, in whole seconds, once per test run.
    static let mtime = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3600).rounded(.down))

    /// Sends each request to both and expects the same status, body and fields.
    static func compare(_ skep: ServerProcess, _ apache: ServerProcess, _ requests: [(String, [String])],
                        ignoring: Set<String> = Differential.volatileHeaders,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (path, fields) in requests {
            func get(_ server: ServerProcess) throws -> HTTPResponse {
                do {
                    return try F.get(server, path, headers: fields)
                } catch {
                    Issue.record("\(path) \(fields): \(error)\n\(server.diagnostics())", sourceLocation: sourceLocation)
                    throw error
                }
            }
            let s = try get(skep), a = try get(apache)
            // How a body is framed (a script's: chunked in Apache) is not this suite's matter.
            let diffs = Differential.differences(s, a, ignoring: ignoring.union(["expires", "cache-control"])).filter { !$0.hasPrefix("framing:") }
            #expect(diffs.isEmpty, "\(path) \(fields): \(diffs)\nskep: \(s)\napache: \(a)", sourceLocation: sourceLocation)
            // Times relative to each server's Date.
            let ours = Expiry(s), theirs = Expiry(a)
            #expect(ours.matches(theirs), "\(path) \(fields): skep \(ours) / apache \(theirs)", sourceLocation: sourceLocation)
        }
    }

    static let actions = #"""
        SetEnv myvar "hello"
        Header always set X-Server-Level yes
        Header set X-Early-Out yes early
        Header always set X-Early-Always yes early
        <Location /sub>
            Header set X-Set "one two"
            Header append X-Append a
            Header append X-Append b
            Header add X-Add 1
            Header add X-Add 2
            Header merge X-Merge a
            Header merge X-Merge a
            Header merge X-Merge "b"
            Header setifempty X-Empty first
            Header setifempty X-Empty second
            Header set X-Gone x
            Header unset X-Gone
            Header unset Accept-Ranges
            Header set Content-Language xx
            Header append Vary Accept-Language
            Header onsuccess set X-Both onsuccess
            Header always set X-Both always
            Header always add X-Always-Add yes
            Header echo ^X-Echo
            Header set X-Format "%{myvar}e|%{nothere}e|100%%|%{HTTPS}s|a\tb|end%"
            Header set X-If-Env yes env=myvar
            Header set X-If-Not-Env yes env=!myvar
            Header set X-Colon:ignored value
            Header set X-Expr yes "expr=%{REQUEST_URI} =~ m#edit#"
            Header always set X-Expr-Not yes "expr=%{QUERY_STRING} == 'zzz'"
            Header set X-Edit "ab-cd ef-gh"
            Header edit X-Edit "(\w+)-(\w+)" "$2+$1"
            Header set X-EditAll "ab-cd ef-gh"
            Header edit* X-EditAll "(\w+)-(\w+)" "$2+$1"
            Header set X-EditTwice "a-b a-b"
            Header edit* X-EditTwice "a-b" "[$0]"
            Header always set X-Always-Edit "one"
            Header always edit X-Always-Edit "o(n)e" "[$1]"
        </Location>
        <Location /sub/denied>
            Require all denied
        </Location>
        <Location /sub/doc>
            ErrorDocument 404 "not here
        </Location>
        """#

    /// Every action on a file, a 404, a 403, a 304 and a text ErrorDocument: `onsuccess`
    /// only where the content filters run, `always` everywhere.
    @Test func actionsOnSuccessAndErrors() throws {
        try Self.pair(Self.actions) { skep, apache in
            try Self.compare(skep, apache, [
                ("/sub/file.txt", ["X-Echo-One: 1", "X-Echo-Two: 2", "X-Other: 3"]),
                ("/sub/edit.txt", []),
                ("/sub/file.txt?zzz", []),
                ("/sub/nope", ["X-Echo-One: 1"]),
                ("/sub/denied", []),
                ("/sub/doc/nope", []),
                ("/sub/file.txt", ["If-None-Match: *"]),
                ("/file.txt", []),
                ("/nope", []),
            ])
        }
    }

    /// `Header note` hands a field's value to the access log (`%{name}n`), and the log's
    /// `%{...}i` shows the fields `RequestHeader` changed.
    @Test func notesAndEditedFieldsReachTheAccessLog() throws {
        let extra = #"""
            LogFormat "%r|%{setnote}n|%{X-In}i|%{X-Added}i" notelog
            CustomLog @LOGS@/note.log notelog
            Header set X-Out "value out"
            Header note X-Out setnote
            RequestHeader append X-In more
            RequestHeader set X-Added added
            """#
        try Self.pair(extra) { skep, apache in
            for server in [skep, apache] {
                _ = try F.get(server, "/file.txt", headers: ["X-In: first"])
                _ = try F.get(server, "/nope")
            }
            let ours = try ExprDifferentialTests.logLines(skep, "note.log", count: 2)
            let theirs = try ExprDifferentialTests.logLines(apache, "note.log", count: 2)
            #expect(ours == theirs)
            #expect(ours.contains("GET /file.txt HTTP/1.1|value out|first, more|added"))
        }
    }

    /// The specifiers whose values differ from run to run have the same shape as Apache's;
    /// under the event MPM, a condition that tests a file holds on repeated requests.
    @Test func varyingValuesAndTheEventListener() throws {
        // Both with their scoreboard (skep's single-process run has none).
        try withServerPair(setUp: { config in
            config.modules = Self.modules
            config.skepModules = Self.modules.filter { TestConfig.skepAvailableModules.contains($0) || $0 == "mime" || $0 == "log_config" }
            config.extra = #"""
                Header set X-Stats "%i %b %l %t %D"
                Header set X-File yes "expr=-f '%{DOCUMENT_ROOT}/sub/file.txt'"
                Header set X-No-File yes "expr=-f '%{DOCUMENT_ROOT}/sub/none.txt'"
                """#
            try F.populate(config.root)
        }) { skep, apache in
            let shape = #/i=\d+ b=[1-9]\d* l=\d+\.\d\d/\d+\.\d\d/\d+\.\d\d t=\d{16} D=\d+/#
            for server in [skep, apache] {
                let stats = try F.get(server, "/file.txt").header("X-Stats") ?? ""
                #expect(stats.wholeMatch(of: shape) != nil, "\(server.kind): \(stats)")
            }
            for _ in 0..<3 {
                let s = try F.get(skep, "/file.txt"), a = try F.get(apache, "/file.txt")
                #expect(s.header("X-File") == "yes" && a.header("X-File") == "yes", "skep \(s) / apache \(a)")
                #expect(s.header("X-No-File") == nil && a.header("X-No-File") == nil)
            }
        }
    }

    static let redirects = #"""
        ErrorDocument 404 /errors/missing.html
        <Location /errors>
            Header set X-Error-Page onsuccess
            Header always set X-Error-Page-Always yes
        </Location>
        <Location /gone>
            Header always set X-Original yes
            Header set X-Original-Success yes
        </Location>
        <Files index.html>
            Header set X-Index yes
        </Files>
        """#

    /// After an internal redirect (a local ErrorDocument, DirectoryIndex) the target's
    /// configuration decides, and an ErrorDocument's answer gets both lists.
    @Test func redirectsUseTheTargetsConfiguration() throws {
        try Self.pair(Self.redirects) { skep, apache in
            try Self.compare(skep, apache, [("/gone/nothing", []), ("/nope", []), ("/dir/", []), ("/errors/missing.html", [])])
        }
    }

    static let requestHeaders = #"""
        RequestHeader set X-Forwarded-Proto https
        RequestHeader append X-List b
        RequestHeader merge X-List a
        RequestHeader add X-Added one
        RequestHeader unset X-Removed
        RequestHeader edit X-Edited "^(\w+)$" "<$1>"
        RequestHeader setifempty X-Filled filled
        RequestHeader set X-Early yes early
        RequestHeader set X-Only-Php yes "expr=%{REQUEST_URI} =~ /php$/"
        Header echo ^X-
        Header unset X-Powered-By
        Header set X-From-Skep-Or-Apache same
        Header always set X-Php-Always yes
        Header set X-Script-Own replaced
        Header edit X-Script-Edit "m(ine)" "$1"
        Header always edit Set-Cookie "^(.*)$" "$1; HttpOnly"
        Header always set X-Script-Always replaced
        ExpiresActive On
        ExpiresByType text/plain A100
        ExpiresByType text/html "modification plus 1 hour"
        """#

    /// `RequestHeader` in the fixup phase: the request fields a PHP script sees through
    /// FastCGI, and `Header` on the script's answer.
    @Test(.enabled(if: PHPFPM.isAvailable, "needs php-fpm"))
    func requestHeadersReachAPHPScript() throws {
        try PHPFPM.with { fpm in
            try withServerPair(setUp: { config in
                config.modules = FastCGIFixture.modules + ["headers", "expires", "mime"]
                config.skepModules = config.modules.filter { TestConfig.skepAvailableModules.contains($0) || $0 == "mime" || $0 == "log_config" }
                config.extra = FastCGIFixture.unixHandler(fpm) + "\n" + Self.requestHeaders
                try config.root.writeDocument("show.php", """
                    <?php
                    header('Content-Type: text/plain');
                    foreach (['HTTP_X_FORWARDED_PROTO', 'HTTP_X_LIST', 'HTTP_X_ADDED', 'HTTP_X_REMOVED', 'HTTP_X_EDITED',
                              'HTTP_X_FILLED', 'HTTP_X_EARLY', 'HTTP_X_ONLY_PHP'] as $k) {
                        echo $k, '=', $_SERVER[$k] ?? '(none)', "\\n";
                    }
                    """)
                try config.root.writeDocument("cache.php", """
                    <?php
                    header('Content-Type: text/plain');
                    header('Cache-Control: private');
                    header('X-Script-Own: mine');
                    header('X-Script-Edit: mine');
                    header('X-Script-Always: mine');
                    setcookie('a', '1');
                    setcookie('b', '2');
                    echo "cached\\n";
                    """)
                try config.root.writeDocument("expires.php", """
                    <?php
                    header('Content-Type: text/plain');
                    header('Expires: Thu, 01 Jan 2037 00:00:00 GMT');
                    echo "own expiry\\n";
                    """)
                try config.root.writeDocument("html.php", "<?php\necho '<p>html</p>';\n")
                try F.populate(config.root)
            }) { skep, apache in
                try Self.compare(skep, apache, [
                    ("/show.php", ["X-List: z", "X-Removed: yes", "X-Edited: word", "X-Forwarded-Proto: http"]),
                    ("/show.php", ["X-List: a", "X-Filled: mine", "X-Edited: two words"]),
                    ("/file.txt", ["X-Removed: yes"]),
                    ("/cache.php", []), ("/expires.php", []), ("/html.php", []),
                ], ignoring: Differential.volatileHeaders.union(["content-length", "transfer-encoding"]))
            }
        }
    }

    static let expires = #"""
        ExpiresActive On
        ExpiresDefault "access plus 1 month"
        <Location /sub>
            ExpiresByType text/plain "modification plus 2 hours 30 minutes"
        </Location>
        <Location /short>
            ExpiresDefault A3600
        </Location>
        <Location /short/m>
            ExpiresDefault M604800
        </Location>
        <Location /wild>
            ExpiresByType text/* "now plus 1 week 2 days"
        </Location>
        <Location /off>
            ExpiresActive Off
        </Location>
        <Location /keep>
            Header set Expires "Thu, 01 Jan 2037 00:00:00 GMT"
            Header merge Cache-Control public
        </Location>
        """#

    /// `Expires` and `max-age` for each code, base and type: the seconds after `Date`
    /// (and, from a file's mtime, the `Expires` itself) as Apache's.
    @Test func expiresAsApache() throws {
        try Self.pair(Self.expires) { skep, apache in
            let paths = ["/file.txt", "/sub/file.txt", "/sub/nope", "/short/file.txt", "/short/m/file.txt",
                         "/wild/file.txt", "/wild/page.html", "/off/file.txt", "/keep/file.txt", "/nope"]
            try Self.compare(skep, apache, paths.map { ($0, []) } + paths.map { ($0, ["If-None-Match: *"]) })
        }
    }

    /// A response's `Expires` less its `Date`, `max-age`, and its `Cache-Control` fields
    /// with the number of `max-age` left out.
    struct Expiry: CustomStringConvertible {
        var afterDate: Int64?
        var expires: String?
        var maxAge: Int64?
        var cacheControl: [String]

        init(_ r: HTTPResponse) {
            expires = r.header("Expires")
            let date = r.header("Date").flatMap(HTTPDates.parse)
            afterDate = expires.flatMap(HTTPDates.parse).flatMap { e in date.map { e - $0 } }
            // Each field's own value: one field merged, or two, are not the same answer.
            let fields = r.headers.filter { $0.name.lowercased() == "cache-control" }.map(\.value)
            let parts = fields.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                .map { $0.map { $0.hasPrefix("max-age=") ? "max-age" : $0 }.joined(separator: ",") }
            cacheControl = parts
            let all = fields.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            maxAge = all.first { $0.hasPrefix("max-age=") }.flatMap { Int64($0.dropFirst(8)) }
        }

        /// The same within the second the two requests may straddle.
        func matches(_ other: Expiry) -> Bool {
            func near(_ a: Int64?, _ b: Int64?) -> Bool {
                guard let a, let b else { return a == nil && b == nil }
                return abs(a - b) <= 1
            }
            return (expires == nil) == (other.expires == nil) && near(afterDate, other.afterDate)
                && near(maxAge, other.maxAge) && cacheControl == other.cacheControl
        }

        var description: String { "Expires \(expires ?? "-") (date+\(afterDate.map(String.init) ?? "-")), max-age \(maxAge.map(String.init) ?? "-"), \(cacheControl)" }
    }

    /// A file's modification time is the same for both, so its `Expires` is too.
    @Test func modificationBaseIsTheFilesTime() throws {
        try Self.pair(Self.expires) { skep, apache in
            let s = try F.get(skep, "/sub/file.txt"), a = try F.get(apache, "/sub/file.txt")
            #expect(s.header("Expires") != nil)
            #expect(s.header("Expires") == a.header("Expires"), "skep \(s) / apache \(a)")
        }
    }

    /// Configuration errors: both refuse with exit 1 and skep gives Apache's message.
    @Test(arguments: [
        "Header",
        "Header bogus X-A b",
        "Header set X-A",
        "Header set X-A b c d",
        "Header set X-A b env=",
        "Header set X-A b env=!",
        "Header set X-A b whatever",
        "Header set X-A b \"expr=%{NOPE} == 1\"",
        "Header edit X-A b",
        "Header edit X-A ( b",
        "Header unset X-A b c",
        "Header echo ( ",
        "Header set X-A %Z",
        "RequestHeader echo X-A",
        "ExpiresDefault \"later plus 1 day\"",
        "ExpiresDefault \"access plus one day\"",
        "ExpiresDefault \"access plus 1\"",
        "ExpiresDefault \"access plus 1 fortnight\"",
        "ExpiresByType text \"access plus 1 day\"",
        "ExpiresActive maybe",
    ])
    func configErrorsAsApache(_ extra: String) throws {
        try ConfigErrorOracle.expectSameRefusal(extra, modules: Self.modules)
    }
}
