import SkepConfig
@testable import SkepServer
import Testing

/// mod_alias's regex forms on PCRE2: the configuration error for a bad pattern, and
/// `ap_pregsub`'s substitution through `AliasPattern` (also ProxyPassMatch's).
@Suite struct AliasPatternTests {
    func error(_ text: String) -> String? {
        configError(text, modules: [AliasModule.descriptor, ProxyModule.descriptor])
    }

    @Test(arguments: [
        (#"AliasMatch "^/x[" /tmp"#,
         #"test.conf:3: Regular expression could not be compiled: ^/x[: missing terminating ] for character class at offset 4 (AliasMatch "^/x[" /tmp)"#),
        (#"RedirectMatch "a{2,1}" http://e/"#,
         #"test.conf:3: Regular expression could not be compiled: a{2,1}: numbers out of order in {} quantifier at offset 5 (RedirectMatch "a{2,1}" http://e/)"#),
        (#"ProxyPassMatch "^/(a" "fcgi://127.0.0.1:9000/$1""#,
         #"test.conf:3: Regular expression could not be compiled: ^/(a: missing closing parenthesis at offset 4 (ProxyPassMatch "^/(a" "fcgi://127.0.0.1:9000/$1")"#),
    ])
    func badPatternIsAConfigError(line: String, message: String) {
        #expect(error(line) == message)
    }

    @Test(arguments: [
        (#"^/(.*)\.html$"#, "/a/b.html", "/srv/$1.txt", "/srv/a/b.txt"),
        (#"\.PHP\Z"#, "/x.PHP", "http://e/php$0", "http://e/php.PHP"),
        (#"^/(\w+)/\1$"#, "/ab/ab", "/same/$1", "/same/ab"),
        (#"^/(.*)$"#, "/x", #"/lit/\$1/$1"#, "/lit/$1/x"),
    ])
    func regexSubstitution(pattern: String, uri: String, target: String, expected: String) throws {
        let alias = AliasPattern.regex(try PCRERegex(pattern))
        let match = try #require(alias.match(uri))
        #expect(alias.substitute(target, match) == expected)
    }

    @Test func prefixAppendsTheRest() throws {
        let alias = AliasPattern.prefix("/icons")
        #expect(alias.match("/iconsx") == nil)
        let match = try #require(alias.match("/icons/a.png"))
        #expect(alias.substitute("/usr/share/icons", match) == "/usr/share/icons/a.png")
    }
}
