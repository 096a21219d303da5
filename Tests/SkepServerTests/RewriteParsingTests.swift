import SkepConfig
@testable import SkepServer
import Testing

/// mod_rewrite's directive parsing without sockets: the argument line, each flag, the
/// condition kinds, and the configuration errors in Apache's words.
@Suite struct RewriteParsingTests {
    func error(_ text: String) -> String? {
        configError(text, modules: [RewriteModule.descriptor])
    }

    func rule(_ text: String) throws -> RewriteRuleEntry { try RewriteParser.rule(Array(text.utf8)) }
    func condition(_ text: String) throws -> RewriteCondition { try RewriteParser.condition(Array(text.utf8)) }

    @Test func argumentsWithQuotesAndEscapedBlanks() throws {
        let (a, b, f) = try RewriteParser.arguments(Array(#"  "^/a b$" 'x\ y'  [L,R=301]"#.utf8))
        #expect(String(decoding: a, as: UTF8.self) == "^/a b$")
        #expect(String(decoding: b, as: UTF8.self) == #"x\ y"#)
        #expect(f.map { String(decoding: $0, as: UTF8.self) } == "[L,R=301]")
        let flags = RewriteParser.flags(Array("[ L , E=a:b=c ,NC]".utf8))
        #expect(flags.map(\.key) == ["L", "E", "NC"])
        #expect(flags[1].value == "a:b=c")
    }

    @Test func everyRuleFlag() throws {
        let r = try rule(#"^/(.*)$ /x/$1 [L,END,N=7,C,S=2,QSA,QSD,QSL,NC,NE,B=&?,BNP,BCTLS,BNE=/,NS,T=text/x,H=h,E=a:b,E=!c,CO=n:v:d,DPI,UnsafeAllow3F,UnsafePrefixStat,UNC,PT]"#)
        let expected: RewriteRuleFlags = [.lastRule, .end, .newRound, .chain, .qsAppend, .qsDiscard, .qsLast, .noCase, .noEscape,
                                          .escapeBackReference, .escapeNoPlus, .escapeControls, .ignoreOnSubrequest, .discardPathInfo,
                                          .unsafeAllow3F, .unsafePrefixStat, .unc, .passThrough]
        #expect(r.flags.isSuperset(of: expected))
        #expect(r.maxRounds == 7 && r.skip == 2)
        #expect(r.escapes == Array("&?".utf8) && r.noEscapes == Array("/".utf8))
        #expect(r.forcedType != nil && r.forcedHandler != nil)
        #expect(r.environment.count == 2 && r.cookies.count == 1)
        #expect(r.regex.isCaseless)
    }

    @Test(arguments: [("[R]", 302), ("[R=permanent]", 301), ("[R=temp]", 302), ("[R=seeother]", 303), ("[R=307]", 307), ("[F]", 403), ("[G]", 410), ("[R=404]", 404)])
    func statusFlags(flags: String, status: Int) throws {
        let r = try rule("^/a /b \(flags)")
        #expect(r.status == status)
        #expect(r.flags.contains(.status) == !(300...399).contains(status))
    }

    @Test func substitutionForms() throws {
        #expect(try rule("^/a -").flags.contains(.noSubstitution))
        let dropped = try rule("^/a /b?")
        #expect(dropped.flags.contains(.qsNone) && dropped.output == Array("/b".utf8))
        let kept = try rule("^/a /b? [QSA]")
        #expect(kept.flags.contains(.qsLast) && kept.output == Array("/b?".utf8))
        #expect(try rule("^/a /b [QSD]").flags.contains(.qsNone))
        #expect(!(try rule("^/a /b?x=1 [QSD]").flags.contains(.qsNone)))
        let negated = try rule("!^/a /b")
        #expect(negated.flags.contains(.notMatch) && negated.pattern == "^/a")
    }

    @Test func conditionKinds() throws {
        func kind(_ pattern: String) throws -> String { "\(try condition("%{X} \(pattern)").test)".components(separatedBy: "(").first ?? "" }
        #expect(try kind("-f") == "fileExists")
        #expect(try kind("-s") == "fileSize")
        #expect(try kind("-d") == "directory")
        #expect(try kind("-x") == "executable")
        #expect(try kind("-l") == "symbolicLink")
        #expect(try kind("-L") == "symbolicLink")
        #expect(try kind("-h") == "symbolicLink")
        #expect(try kind("-U") == "urlLookup")
        #expect(try kind("-F") == "fileLookup")
        #expect(try kind("-lt5") == "intLess")
        #expect(try kind("-ge5") == "intGreaterOrEqual")
        #expect(try kind("<b") == "lessThan")
        #expect(try kind("<=b") == "lessOrEqual")
        #expect(try kind(">=b") == "greaterOrEqual")
        #expect(try kind("=b") == "equal")
        #expect(try kind("^a.*") == "regex")
        let ne = try condition("%{X} -ne3")
        #expect(ne.negated && "\(ne.test)" == "intEqual" && ne.operand == Array("3".utf8))
        let empty = try condition(#"%{X} ="""#)
        #expect(empty.operand.isEmpty)
        let flagged = try condition("%{X} !^a [NC,OR,NV]")
        #expect(flagged.negated && flagged.noCase && flagged.orNext && flagged.noVary)
        // NC means nothing to a file test (Apache warns and drops it).
        #expect(try condition("%{X} -f [NC]").noCase == false)
        let expr = try condition(#"expr "%{QUERY_STRING} =~ /x/""#)
        if case .expr = expr.test {} else { Issue.record("expr is \(expr.test)") }
    }

    @Test(arguments: [
        ("RewriteRule ^/a /b [X]", "RewriteRule: unknown flag 'X'"),
        ("RewriteRule ^/a /b [L,Foo=1]", "RewriteRule: unknown flag 'Foo'"),
        ("RewriteRule ^/(a /b", "RewriteRule: cannot compile regular expression '^/(a'"),
        ("RewriteRule ^/a /b [R=999]", "RewriteRule: invalid HTTP response code '999' for flag 'R'"),
        ("RewriteRule ^/a", "RewriteRule: bad argument line: at least two arguments required"),
        ("RewriteRule ^/a /b L", "RewriteRule: bad flag delimiters"),
        ("RewriteRule ^/a /b [BNE]", "RewriteRule: flag 'BNE' wants a list of characters (i.e. [BNE=...])"),
        ("RewriteCond %{X} ^a [Y]", "RewriteCond: unknown flag 'Y'"),
        ("RewriteCond %{X} -gt 5", "RewriteCond: bad flag delimiters"),
        ("RewriteRule ^/a /b [R=418]", "RewriteRule: invalid HTTP response code '418' for flag 'R'"),
        ("RewriteCond %{X} (", "RewriteCond: cannot compile regular expression '('"),
        ("RewriteOptions Bogus", "RewriteOptions: unknown option 'Bogus'"),
        ("RewriteBase /x", "RewriteBase: only valid in per-directory config files"),
        ("<Directory /tmp>\nRewriteBase x\n</Directory>", "RewriteBase: argument is not a valid URL"),
        ("<Location /x>\nRewriteRule ^a b\n</Location>", "not supported by Skep"),
    ])
    func configErrors(text: String, message: String) {
        let e = error(text)
        #expect(e?.contains(message) == true, "\(e ?? "accepted")")
        #expect(e?.contains("test.conf:") == true)
    }

    @Test func acceptedConfiguration() {
        #expect(error("""
            RewriteEngine On
            RewriteOptions Inherit InheritBefore InheritDown InheritDownBefore IgnoreInherit AllowNoSlash AllowAnyURI MergeBase LongURLOptimization
            RewriteCond %{HTTP_HOST} ^www\\. [NC]
            RewriteRule ^/(.*)$ http://example.com/$1 [R=permanent,L]
            <Directory /tmp>
            RewriteEngine On
            RewriteBase /
            RewriteRule . /index.php [L]
            </Directory>
            """) == nil)
    }

    @Test func perDirectoryRecordsItsDirectoryAndTakesItsConditions() throws {
        var reader = ConfigReader(modules: CoreModule.all + [RewriteModule.descriptor], options: .init(serverRoot: "/tmp"))
        let tree = try reader.read(text: """
            LoadModule rewrite_module mod_rewrite.so
            RewriteEngine On
            RewriteCond %{HTTP_HOST} a
            RewriteRule ^/x /y
            <Directory /srv/www>
            RewriteCond %{REQUEST_FILENAME} !-f
            RewriteRule . index.php
            </Directory>
            """, name: "test.conf")
        let config = try ConfigProcessor.process(tree, modules: CoreModule.all + [RewriteModule.descriptor], configFile: "test.conf")
        let server = config.main.server[RewriteServerConfig.self]
        #expect(server.engineOn && server.rules.count == 1 && server.rules.first?.conditions.count == 1)
        let section = config.main.sections.first?.config[RewriteDirConfig.self]
        #expect(section?.directory == "/srv/www/")
        #expect(section?.rules.first?.conditions.count == 1)
        #expect(section?.engineOn == false && config.main.defaults[RewriteDirConfig.self].engineOn)
    }

    @Test func inheritanceMerges() {
        var parent = RewriteDirConfig()
        parent.rules = [try! rule("^a b")]  // trap-safe: test input
        var child = RewriteDirConfig()
        child.rules = [try! rule("^c d")]  // trap-safe: test input
        #expect(parent.merged(with: child).rules.map(\.pattern) == ["^c"])
        child.options = .inherit
        child.optionsSet = true
        #expect(parent.merged(with: child).rules.map(\.pattern) == ["^c", "^a"])
        child.options = .inheritBefore
        #expect(parent.merged(with: child).rules.map(\.pattern) == ["^a", "^c"])
    }

    @Test func backReferenceEscaping() throws {
        let b = try rule("^(.*) /$1 [B]")
        #expect(String(decoding: RewriteRun.escapeBackReference(Array("a b&c/é".utf8), b), as: UTF8.self) == "a+b%26c%2f%c3%a9")
        let bnp = try rule("^(.*) /$1 [B,BNP]")
        #expect(String(decoding: RewriteRun.escapeBackReference(Array("a b".utf8), bnp), as: UTF8.self) == "a%20b")
        let chars = try rule("^(.*) /$1 [B=&]")
        #expect(String(decoding: RewriteRun.escapeBackReference(Array("a b&c/".utf8), chars), as: UTF8.self) == "a b%26c/")
        let ctls = try rule("^(.*) /$1 [BCTLS]")
        #expect(String(decoding: RewriteRun.escapeBackReference(Array("a b\u{1}/".utf8), ctls), as: UTF8.self) == "a+b%01/")
    }

    @Test func absoluteURIs() {
        #expect(RewriteRun.absoluteURIScheme(Array("http://x/".utf8)) == (7, true))
        #expect(RewriteRun.absoluteURIScheme(Array("FCGI://x/".utf8)) == (7, true))
        #expect(RewriteRun.absoluteURIScheme(Array("ftp://x/".utf8)) == (6, false))
        #expect(RewriteRun.absoluteURIScheme(Array("unix:/s|fcgi://x".utf8)) == (5, true))
        #expect(RewriteRun.absoluteURIScheme(Array("/http://x".utf8)).length == 0)
        #expect(String(decoding: RewriteRun.escapeAbsoluteURI(Array("http://h/a b?c".utf8), schemeLength: 7), as: UTF8.self) == "http://h/a%20b%3fc")
    }
}
