import Foundation
import Testing

/// Core's `RegexDefaultOptions` against Debian's Apache: each setting changes the regexes
/// compiled after it (`<LocationMatch>`, `<FilesMatch>`, `AliasMatch`, `RedirectMatch`,
/// `<If>`'s `=~`), not those before it; `ICASE`, `DOTALL` and `DOLLAR_ENDONLY` added,
/// removed, replaced and cleared. Compared per request: status, `Location`, body of a 200.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct RegexDefaultOptionsDifferentialTests {
    typealias F = EngineFixture

    /// Regexes written before the setting (compiled with Apache's default) and after it.
    static func config(_ setting: String) -> String {
        #"""
        RedirectMatch "^/before/x$" "http://example.com/before"
        \#(setting)
        RedirectMatch "^/after/x$" "http://example.com/after"
        RedirectMatch "^/dot/a.b$" "http://example.com/dot"
        RedirectMatch "^/case/ABC" "http://example.com/case"
        AliasMatch "^/alias/(FILE)\.txt$" "@DOCROOT@/file.txt"
        <LocationMatch "^/deny/Secret$">
            Require all denied
        </LocationMatch>
        <FilesMatch "^DENIED\.txt$">
            Require all denied
        </FilesMatch>
        <If "%{REQUEST_URI} =~ m#^/if/Hidden$#">
            Require all denied
        </If>
        """#
    }

    static let paths = [
        "/before/x", "/before/x%0a", "/after/x", "/after/x%0a", "/dot/a%0ab", "/dot/axb",
        "/case/ABC", "/case/abc", "/alias/FILE.txt", "/alias/file.txt",
        "/deny/Secret", "/deny/secret", "/denied.txt", "/DENIED.txt", "/if/Hidden", "/if/hidden",
    ]

    @Test(arguments: [
        "RegexDefaultOptions +ICASE",
        "RegexDefaultOptions -DOLLAR_ENDONLY",
        "RegexDefaultOptions -DOTALL +ICASE",
        "RegexDefaultOptions DOTALL",
        "RegexDefaultOptions none",
        "RegexDefaultOptions None +icase",
        "RegexDefaultOptions",
    ])
    func settingsAnswerAsApache(_ setting: String) throws {
        try DifferentialTests.pair(extra: Self.config(setting), setUp: { config in
            config.modules = F.commonModules + ["alias"]
            config.skepModules = F.commonModules + ["alias"]
            try config.root.writeDocument("denied.txt", "denied\n")
            try config.root.writeDocument("DENIED.txt", "upper\n")
        }) { skep, apache in
            try RegexDifferentialTests.expectSameAnswers(skep, apache, paths: Self.paths, label: "\(setting): ")
        }
    }

    @Test(arguments: [
        "RegexDefaultOptions EXTENDED",
        "RegexDefaultOptions +NOSUCH",
        "<VirtualHost *:80>\nRegexDefaultOptions +ICASE\n</VirtualHost>",
    ])
    func refusedAsApache(_ line: String) throws {
        try ConfigErrorOracle.expectSameRefusal(line, modules: F.commonModules)
    }
}
