import Foundation
import Testing

/// `<LocationMatch>`, `<FilesMatch>`, `<DirectoryMatch>`, `AliasMatch` and `RedirectMatch`
/// against Debian's Apache, with patterns where PCRE (Apache's engine, and Skep's) and the
/// standard library's `Regex` disagree: `\Z`, possessive quantifiers, `(?i)` scoping,
/// POSIX classes, `\h`, Apache's default `.`-matches-newline and `$`-only-at-the-end,
/// backreferences, `$0`, and a byte that is not UTF-8 in a percent-decoded path (matched,
/// captured and escaped again as that byte, in sections, aliases and redirects).
/// Compared per request: the status, `Location`, and the body of a 200.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct RegexDifferentialTests {
    typealias F = EngineFixture

    static let config = #"""
        <LocationMatch "^/lm/[[:alpha:]]+$">
            Require all denied
        </LocationMatch>
        <LocationMatch "(?i)^/case/x(?-i)Y$">
            Require all denied
        </LocationMatch>
        <LocationMatch "^/poss/a++a">
            Require all denied
        </LocationMatch>
        <LocationMatch "^/zend/x\Z">
            Require all denied
        </LocationMatch>
        <LocationMatch "^/dollar/x$">
            Require all denied
        </LocationMatch>
        <LocationMatch "^/dot/a.b$">
            Require all denied
        </LocationMatch>
        <LocationMatch "^/h/a\h+b$">
            Require all denied
        </LocationMatch>
        <LocationMatch "^/latin/caf.$">
            Require all denied
        </LocationMatch>
        <FilesMatch "\.(?:secret|key)$">
            Require all denied
        </FilesMatch>
        <FilesMatch "^(?!file)\w+\.txt$">
            Require all denied
        </FilesMatch>
        <DirectoryMatch "/priv\d+">
            Require all denied
        </DirectoryMatch>
        AliasMatch "^/am/(\w+)\.htm$" "@DOCROOT@/sub/$1.txt"
        AliasMatch "^/am2/(?i:FILE)(\.txt)$" "@DOCROOT@/file$1"
        RedirectMatch "^/rm/(\d+)/([a-z]+)$" "http://example.com/n/$2/$1"
        RedirectMatch 301 "(?i)\.PHP\Z" "http://example.com/php$0"
        RedirectMatch "^/br/(\w+)/\1$" "http://example.com/same/$1"
        RedirectMatch "^/ps/\d++x" "http://example.com/ps"
        RedirectMatch "^/rb/(.)(.*)$" "http://example.com/rb/$1/$2"
        RedirectMatch "^/rp(/.*)$" "/rp-target$1?q=1"
        AliasMatch "^/ab/caf.\.txt$" "@DOCROOT@/file.txt"
        Redirect "/rpre" "http://example.com/pre"
        # A status that is not a redirect takes no URL (DokuWiki's .htaccess says this).
        RedirectMatch 404 /\.git
        Redirect 410 /old-gone
        Redirect permanent /perm http://example.com/perm
        <Location /moved>
            Redirect 301 /new-home
        </Location>
        <Location /byebye>
            Redirect gone
        </Location>
        <Location /moved-expr>
            Redirect "http://example.com%{REQUEST_URI}"
        </Location>
        """#

    static let paths = [
        "/lm/abc", "/lm/ab1", "/lm/ABC",
        "/case/xY", "/CASE/XY", "/case/xy",
        "/poss/aaa", "/poss/aab",
        "/zend/x", "/zend/x%0a", "/dollar/x%0a", "/dollar/x",
        "/dot/a%0ab", "/dot/axb", "/dot/ab",
        "/h/a%20b", "/h/a%09%20b", "/h/ab",
        "/latin/caf%e9", "/latin/cafe", "/latin/caf%c3%a9", "/latin/caf%c3", "/latin/caf%ff%fe",
        "/a.secret", "/file.txt", "/alpha.txt", "/sub/file.txt",
        "/priv1/file.txt", "/priv/file.txt", "/pub/file.txt",
        "/am/file.htm", "/am/nope.htm", "/am2/FiLe.txt", "/am2/file.TXT",
        "/rm/12/abc", "/rm/12/ABC", "/x/index.PhP", "/x/index.php5",
        "/br/ab/ab", "/br/ab/cd", "/ps/123x", "/ps/12",
        // Bytes that are not UTF-8 are matched, captured and escaped as themselves.
        "/rb/%e9x", "/rb/%c3%a9x", "/rb/%ffabc", "/rp/caf%e9%20x", "/ab/caf%e9.txt", "/ab/caf%c3%a9.txt",
        "/rpre/caf%e9", "/rpre/%fe%ff/x",
        "/a/.git/config", "/.gitignore", "/old-gone/x", "/perm/x?a=1", "/moved/x?q=2", "/byebye/x", "/moved-expr/y",
    ]

    @Test func regexDirectivesAnswerAsApache() throws {
        try DifferentialTests.pair(extra: Self.config, setUp: { config in
            config.modules = F.commonModules + ["alias"]
            config.skepModules = F.commonModules + ["alias"]
            try config.root.writeDocument("a.secret", "secret\n")
            try config.root.writeDocument("priv1/file.txt", "priv1\n")
            try config.root.writeDocument("priv/file.txt", "priv\n")
            try config.root.writeDocument("pub/file.txt", "pub\n")
        }) { skep, apache in
            try Self.expectSameAnswers(skep, apache, paths: Self.paths)
            F.expectStillServing(skep, after: "the regex cases")
        }
    }

    /// Each of `paths` gets the same status, `Location` (up to each server's own port, which
    /// a path target's URL carries) and, for a 200, body from both servers.
    static func expectSameAnswers(_ skep: ServerProcess, _ apache: ServerProcess, paths: [String], label: String = "",
                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        for path in paths {
            let s = try F.get(skep, path), a = try F.get(apache, path)
            let detail = "\(label)\(path): skep \(s.status) \(s.header("Location") ?? "") / apache \(a.status) \(a.header("Location") ?? "")"
            #expect(s.status == a.status, "\(detail)", sourceLocation: sourceLocation)
            #expect(s.header("Location")?.replacingOccurrences(of: ":\(skep.port)/", with: ":PORT/")
                    == a.header("Location")?.replacingOccurrences(of: ":\(apache.port)/", with: ":PORT/"), "\(detail)", sourceLocation: sourceLocation)
            if a.status == 200 { #expect(s.body == a.body, "\(detail)", sourceLocation: sourceLocation) }
        }
    }
}
