import Testing
import SkepConfig
import SkepTestSupport

/// The PCRE2 wrapper on the syntax Apache users write, where the standard library's
/// `Regex` would differ or refuse.
@Suite struct PCRERegexTests {
    func matches(_ pattern: String, _ text: String, caseless: Bool = false) throws -> Bool {
        try PCRERegex(pattern, caseless: caseless).matches(text)
    }

    @Test(arguments: [
        (#"\.php$"#, "/index.php", true),
        (#"\.php$"#, "/index.php/x", false),
        (#"^/(.*)\.html$"#, "/a/b.html", true),
        (#"(?i)\.JPE?G$"#, "/photo.jpg", true),
        (#"(?i:a)b"#, "Ab", true),
        (#"(?i:a)b"#, "AB", false),
        (#"^/user/\d+$"#, "/user/42", true),
        (#"^/user/\d+$"#, "/user/4a", false),
        (#"^/[[:alpha:]]+$"#, "/abc", true),
        (#"^/[[:alpha:]]+$"#, "/ab1", false),
        (#"^/[^/]+/$"#, "/dir/", true),
        (#"^/(?!private)"#, "/public", true),
        (#"^/(?!private)"#, "/private", false),
        (#"(?<=/)admin"#, "/admin", true),
        (#"^/(\w+)/\1$"#, "/ab/ab", true),
        (#"^/(\w+)/\1$"#, "/ab/cd", false),
        (#"^/a\h*b$"#, "/a \tb", true),
        (#"^/a++b"#, "/aaab", true),
        (#"^/a++a"#, "/aaaa", false),      // possessive: gives nothing back
        (#"x\Z"#, "/x", true),
        // Apache's defaults: `$` only at the very end, `.` matches a newline.
        (#"x$"#, "/x\n", false),
        (#"^/a.b$"#, "/a\nb", true),
    ])
    func apacheSyntax(pattern: String, text: String, expected: Bool) throws {
        #expect(try matches(pattern, text) == expected)
    }

    @Test func jitWhereAvailable() throws {
        #expect(PCRERegex.libraryVersion.hasPrefix("10."))
        #expect(try PCRERegex(#"\.php$"#).isJIT == PCRERegex.isJITAvailable)
    }

    @Test func caselessIsApachesNoCase() throws {
        #expect(try matches("^authorization$", "Authorization", caseless: true))
        #expect(try !matches("^authorization$", "Authorization"))
        #expect(try PCRERegex("a", caseless: true).isCaseless)
    }

    @Test(arguments: [
        ("^/(a", "missing closing parenthesis", 4),
        ("a{2,1}", "numbers out of order in {} quantifier", 5),
        ("[z-a]", "range out of order in character class", 3),
        (#"a\"#, #"\ at end of pattern"#, 2),
    ])
    func invalidPatternsSayWhyAndWhere(pattern: String, message: String, offset: Int) {
        #expect(throws: PCRERegex.CompileError.self) { try PCRERegex(pattern) }
        do {
            _ = try PCRERegex(pattern)
        } catch {
            #expect(error.message == message)
            #expect(error.offset == offset)
            #expect(error.description == "\(message) at offset \(offset)")
        }
    }

    @Test func matchesBytesThatAreNotUTF8() throws {
        let latin1: [UInt8] = Array("/caf".utf8) + [0xE9]
        let regex = try PCRERegex(#"^/caf\xe9$"#)
        #expect(latin1.withUnsafeBytes { regex.matches(utf8: $0) })
        let dot = try PCRERegex("^/caf.$")
        #expect(latin1.withUnsafeBytes { dot.matches(utf8: $0) })
        // One byte per `.`: the UTF-8 `é` is two.
        #expect(!dot.matches("/café"))
        #expect(try PCRERegex("^/caf..$").matches("/café"))
    }

    /// A match deeper than the JIT's default 32 KiB stack still answers as Apache's
    /// interpreter would.
    @Test func deepMatchBeyondTheJITStack() throws {
        let regex = try PCRERegex("^(?:(a)|b)*$")
        let subject = String(repeating: "ab", count: 50_000)
        // Results in locals: a failure then prints a Bool, not 100,000 bytes.
        let matches = regex.matches(subject), matchesWithC = regex.matches(subject + "c")
        #expect(matches)
        #expect(!matchesWithC)
    }

    @Test func emptySubjectAndPattern() throws {
        #expect(try matches("", ""))
        #expect(try matches("^$", ""))
        #expect(try !matches("a", ""))
    }

    @Test func capturesAreByteRanges() throws {
        let regex = try PCRERegex(#"^/(\w+)/(x)?(.*)$"#)
        #expect(regex.captureCount == 3)
        let match = try #require(regex.firstMatch(in: "/abc/rest"))
        #expect(match.range(0) == 0..<9)
        #expect(match.range(1) == 1..<4)
        #expect(match.range(2) == nil)
        #expect(match.range(3) == 5..<9)
        // Offsets count bytes: `é` is two.
        let bytes = try #require(try PCRERegex("^/é(b)").firstMatch(in: "/éb"))
        #expect(bytes.range(1) == 3..<4)
        let optional = try #require(try PCRERegex("^/(a)(x)?(b)").firstMatch(in: "/ab"))
        #expect(optional.range(2) == nil)
        #expect(optional.range(3) == 2..<3)
        #expect(optional.range(10) == nil)
        #expect(try PCRERegex("^/b").firstMatch(in: "/a") == nil)
    }

    @Test(arguments: [
        (#"^/(.*)\.html$"#, "/docs/a.html", "/var/www/$1.txt", "/var/www/docs/a.txt"),
        (#"^/old/(.*)$"#, "/old/x", "https://example.com/new/$1", "https://example.com/new/x"),
        (#"^/(a)(b)?"#, "/a", "[$1][$2][$9]", "[a][][]"),
        (#"b+"#, "/abbbc", "<$0>", "<bbb>"),
        (#"^/(.*)$"#, "/x", #"\$1 is \\$1, $ alone, \q"#, #"$1 is \x, $ alone, q"#),
        (#"^/(.*)$"#, "/x", "$", "$"),
        (#"^/(.*)$"#, "/x", #"end\"#, #"end\"#),
        // No UTF mode, as Apache: `+` repeats the last byte of `é`, not the character.
        (#"^/(é+)"#, "/éé", "$1", "é"),
        (#"^/((?:é)+)"#, "/éé", "$1", "éé"),
        ("^/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)", "/abcdefghijk", "$9$10", "ia0"),
    ])
    func substitutionIsApachesPregsub(pattern: String, subject: String, template: String, expected: String) throws {
        let match = try #require(try PCRERegex(pattern).firstMatch(in: subject))
        #expect(match.substitute(template) == expected)
    }

    @Test func sharedAcrossThreads() async throws {
        let regex = try PCRERegex(#"^/(\d+)\.php$"#)
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                group.addTask {
                    (0..<500).allSatisfy { n in
                        regex.firstMatch(in: "/\(i * 1000 + n).php")?.substitute("$1") == "\(i * 1000 + n)"
                            && !regex.matches("/\(n).phpx")
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
    }

    @Test func badSectionRegexIsAConfigErrorWithFileAndLine() {
        let message = captureError { try processText("ServerRoot /\n<LocationMatch \"^/(a\">\n</LocationMatch>") }?.description
        #expect(message?.hasPrefix("test.conf:2: Regular expression could not be compiled: ^/(a: missing closing parenthesis at offset 4") == true)
    }

    @Test(arguments: [
        (#"\.php$"#, "/a.php", true), (#"\.php$"#, "/a.phpx", false),
        ("^/api", "/api/x", true), ("^/api", "/x/api", false),
        ("admin", "/x/admin/y", true), ("admin", "/adm", false),
        ("", "/anything", true),
        // Bytes, not Unicode characters: a decomposed é is not the precomposed one.
        ("é$", "/cafe\u{301}", false), ("é$", "/café", true),
    ])
    func sectionFastPathsAgreeWithPCRE(pattern: String, text: String, expected: Bool) throws {
        #expect(try SectionPattern(regex: pattern).matches(text) == expected)
        #expect(try PCRERegex(pattern).matches(text) == expected)
    }
}
