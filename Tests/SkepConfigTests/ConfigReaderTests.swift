import Foundation
import Testing
import SkepConfig
import SkepTestSupport

@Suite struct ConfigReaderTests {
    // MARK: - Names and sections

    @Test func directiveNamesAreCaseInsensitive() throws {
        let tree = try readText("servername a.example\nTIMEOUT 5\nkeepALIVE on\n<virtualhost *:80>\nSERVERNAME b\n</VIRTUALHOST>")
        #expect(tree.directives.map(\.name) == ["servername", "TIMEOUT", "keepALIVE", "virtualhost"])
        #expect(tree.directives.map(\.key) == ["servername", "timeout", "keepalive", "virtualhost"])
        let config = try ConfigProcessor.process(tree, modules: TestModules.all, configFile: "test.conf")
        let core = config.main.server[CoreServerConfig.self]
        #expect(core.serverName == "a.example")
        #expect(core.timeout == 5000)
        #expect(core.keepAliveEnabled == true)
        #expect(config.virtualHosts.count == 1)
        #expect(config.virtualHosts[0].server[CoreServerConfig.self].serverName == "b")
    }

    @Test func nestedSectionsKeepTheirStructureAndLines() throws {
        let tree = try readText("""
            ServerName a
            <VirtualHost *:80>
              <Directory "/srv/www">
                <Files x.txt>
                  SetHandler none
                </Files>
              </Directory>
              ServerName b
            </VirtualHost>
            """)
        #expect(tree.directives.count == 2)
        let vhost = tree.directives[1]
        #expect(vhost.name == "VirtualHost")
        #expect(vhost.isSection)
        #expect(vhost.arguments == ["*:80"])
        #expect(vhost.location == SkepConfig.SourceLocation(file: "test.conf", line: 2))
        let children = try #require(vhost.children)
        #expect(children.map(\.name) == ["Directory", "ServerName"])
        #expect(children[0].arguments == ["/srv/www"])
        #expect(children[0].location.line == 3)
        let files = try #require(children[0].children?.first)
        #expect(files.name == "Files")
        #expect(files.arguments == ["x.txt"])
        #expect(files.location.line == 4)
        #expect(files.children?.map(\.name) == ["SetHandler"])
        #expect(files.children?.first?.location.line == 5)
        #expect(tree.directives[0].isSection == false)
        #expect(tree.directives[0].children == nil)
    }

    // MARK: - IfModule

    @Test(arguments: [
        (true, "mod_status.c", true), (true, "status_module", true),
        (true, "!mod_status.c", false), (true, "!status_module", false),
        (false, "mod_status.c", false), (false, "status_module", false),
        (false, "!mod_status.c", true), (false, "!status_module", true),
        (false, "core.c", true), (false, "core_module", true), (false, "!core_module", false),
        (false, "http_core.c", true), (false, "unixd_module", true),
        (false, "mod_nothing.c", false), (false, "!nothing_module", true),
    ])
    func ifModule(loaded: Bool, argument: String, included: Bool) throws {
        let text = (loaded ? "LoadModule status_module /usr/lib/apache2/modules/mod_status.so\n" : "")
            + "<IfModule \(argument)>\nServerName inside\n</IfModule>\nServerAdmin after"
        let tree = try readText(text)
        let names = tree.directives.map(\.name).filter { $0 != "LoadModule" }
        #expect(names == (included ? ["ServerName", "ServerAdmin"] : ["ServerAdmin"]))
    }

    @Test func ifModuleIsEvaluatedAgainstTheModulesLoadedSoFar() throws {
        let tree = try readText("""
            <IfModule status_module>
            ServerName before
            </IfModule>
            LoadModule status_module mod_status.so
            <IfModule status_module>
            ExtendedStatus On
            </IfModule>
            """)
        #expect(tree.directives.map(\.name) == ["LoadModule", "ExtendedStatus"])
        #expect(tree.loadedModules.map(\.name) == ["status_module"])
        #expect(tree.loadedModules[0].path == "mod_status.so")
        #expect(tree.loadedModules[0].location.line == 4)
        #expect(tree.activeModules.contains("status_module"))
        #expect(!tree.activeModules.contains("fake_module"))
    }

    @Test func aFalseConditionalSkipsEverythingInsideItUnchecked() throws {
        // Unknown directives, directives of unloaded modules, unbalanced-looking nested
        // sections and undefined variables inside a false section are never looked at.
        let tree = try readText("""
            <IfModule !core_module>
              NoSuchDirective x
              ExtendedStatus On
              <Directory /x>
                <IfDefine Y>
                </IfDefine>
              </Directory>
              ServerName ${UNDEFINED}
            </IfModule>
            ServerName after
            """)
        #expect(tree.directives.map(\.name) == ["ServerName"])
        #expect(tree.directives[0].location.line == 10)
        #expect(tree.warnings.isEmpty)
    }

    @Test func ifModuleWithoutArgumentIsAnError() {
        let error = captureError { try readText("<IfModule>\nServerName a\n</IfModule>") }
        #expect(error?.description == "test.conf:1: <IfModule> takes one argument (<IfModule>)")
        let bang = captureError { try readText("<IfModule !>\n</IfModule>") }
        #expect(bang?.description == "test.conf:1: <IfModule> takes one argument (<IfModule !>)")
    }

    // MARK: - IfDefine, Define, UnDefine

    @Test(arguments: [
        ([String](), "SSL", false), (["SSL"], "SSL", true), (["SSL"], "!SSL", false), ([], "!SSL", true),
        (["SSL", "DEBUG"], "DEBUG", true), (["ssl"], "SSL", false),
    ])
    func ifDefineWithCommandLineDefines(defines: [String], argument: String, included: Bool) throws {
        let tree = try readText("<IfDefine \(argument)>\nServerName inside\n</IfDefine>\nServerAdmin after", defines: defines)
        #expect(tree.directives.map(\.name) == (included ? ["ServerName", "ServerAdmin"] : ["ServerAdmin"]))
    }

    @Test func defineAndUnDefineChangeIfDefineFromThatLineOn() throws {
        let tree = try readText("""
            <IfDefine FOO>
            ServerAlias one
            </IfDefine>
            Define FOO
            <IfDefine FOO>
            ServerAlias two
            </IfDefine>
            UnDefine FOO
            UnDefine SSL
            <IfDefine FOO>
            ServerAlias three
            </IfDefine>
            <IfDefine !SSL>
            ServerAlias four
            </IfDefine>
            """, defines: ["SSL"])
        #expect(firstArguments(tree) == ["two", "four"])
        #expect(tree.directives.map(\.name) == ["ServerAlias", "ServerAlias"])
        #expect(tree.defines.keys.sorted() == [])
    }

    @Test func definesAreReportedInTheTree() throws {
        let tree = try readText("Define ROOT /srv\nDefine FLAG", defines: ["CLI"])
        #expect(tree.defines.count == 3)
        #expect(tree.defines["ROOT"] == .some("/srv"))
        #expect(tree.defines["FLAG"] == .some(nil))
        #expect(tree.defines["CLI"] == .some(nil))
    }

    @Test func nestedConditionals() throws {
        let tree = try readText("""
            <IfDefine A>
              <IfModule core_module>
                ServerAlias a-and-core
              </IfModule>
              <IfDefine !B>
                ServerAlias a-not-b
              </IfDefine>
            </IfDefine>
            """, defines: ["A", "B"])
        #expect(firstArguments(tree) == ["a-and-core"])
    }

    @Test(arguments: [
        ("Define", "test.conf:1: Define takes one or two arguments, a name and an optional value (Define)"),
        ("Define a b c", "test.conf:1: Define takes one or two arguments, a name and an optional value (Define a b c)"),
        ("Define a:b x", "test.conf:1: Define: a variable name must not contain ':' (Define a:b x)"),
        ("UnDefine", "test.conf:1: UnDefine takes one argument, the name to undefine (UnDefine)"),
    ])
    func defineErrors(_ text: String, _ message: String) {
        #expect(captureError { try readText(text) }?.description == message)
    }

    // MARK: - Variables

    @Test func variablesFromDefines() throws {
        let tree = try readText("Define ROOT /srv/www\nDefine NAME example.org\nDocumentRoot ${ROOT}/html\nServerName ${NAME}:${NAME}")
        #expect(tree.directives.map(\.arguments) == [["/srv/www/html"], ["example.org:example.org"]])
        #expect(tree.directives[1].text == "ServerName example.org:example.org")
        #expect(tree.warnings.isEmpty)
    }

    @Test func variablesFromTheEnvironmentAfterDefines() throws {
        let env: @Sendable (String) -> String? = { ["APACHE_LOG_DIR": "/var/log/apache2", "BOTH": "from-env"][$0] }
        let tree = try readText("Define BOTH from-define\nErrorLog ${APACHE_LOG_DIR}/error.log\nServerName ${BOTH}",
                                environment: env)
        #expect(tree.directives.map(\.arguments) == [["/var/log/apache2/error.log"], ["from-define"]])
        #expect(tree.warnings.isEmpty)
    }

    @Test func aDefineWithoutValueFallsBackToTheEnvironment() throws {
        let tree = try readText("Define HOST\nServerName ${HOST}", environment: { $0 == "HOST" ? "env.example" : nil })
        #expect(tree.directives[0].arguments == ["env.example"])
    }

    @Test func anUndefinedVariableIsKeptWithWarningAH00111() throws {
        let tree = try readText("ServerName a\nDocumentRoot ${NOPE}/html")
        #expect(tree.directives[1].arguments == ["${NOPE}/html"])
        #expect(tree.warnings.count == 1)
        let warning = try #require(tree.warnings.first)
        #expect(warning.severity == .warning)
        #expect(warning.message.contains("AH00111"))
        #expect(warning.message.contains("${NOPE}"))
        #expect(warning.location == SkepConfig.SourceLocation(file: "test.conf", line: 2))
        #expect(warning.description == "test.conf:2: warning: AH00111: Config variable ${NOPE} is not defined")
    }

    @Test func unDefineRemovesAVariable() throws {
        let tree = try readText("Define X one\nServerAlias ${X}\nUnDefine X\nServerAlias ${X}")
        #expect(firstArguments(tree) == ["one", "${X}"])
        #expect(tree.warnings.count == 1)
    }

    @Test func anUnterminatedReferenceIsLeftAlone() throws {
        let tree = try readText("Define X one\nServerAlias ${X}-${X")
        #expect(firstArguments(tree) == ["one-${X"])
        #expect(tree.warnings.isEmpty)
    }

    @Test func variablesWorkInSectionArgumentsAndConditionals() throws {
        let tree = try readText("Define MOD status_module\nDefine DIR /srv\n<Directory ${DIR}/www>\n</Directory>\n<IfModule !${MOD}>\nServerName x\n</IfModule>")
        #expect(tree.directives.map(\.name) == ["Directory", "ServerName"])
        #expect(tree.directives[0].arguments == ["/srv/www"])
    }

    // MARK: - Include

    @Test func includeOfAFile() throws {
        let dir = try TempDir()
        let main = try dir.write("main.conf", "ServerAlias first\nInclude extra.conf\nServerAlias last\n")
        let extra = try dir.write("extra.conf", "\nServerAlias middle\n")
        let tree = try readFile(main, serverRoot: dir.path)
        #expect(firstArguments(tree) == ["first", "middle", "last"])
        #expect(tree.directives[1].location == SkepConfig.SourceLocation(file: extra, line: 2))
        #expect(tree.directives[2].location == SkepConfig.SourceLocation(file: main, line: 3))
    }

    @Test func includeOfAnAbsolutePathAndInsideASection() throws {
        let dir = try TempDir()
        let extra = try dir.write("other/extra.conf", "SetHandler none\n")
        let main = try dir.write("main.conf", "<Directory /srv>\nInclude \"\(extra)\"\n</Directory>\n")
        let tree = try readFile(main, serverRoot: "/nonexistent")
        #expect(tree.directives.count == 1)
        #expect(tree.directives[0].children?.map(\.name) == ["SetHandler"])
    }

    @Test func includeOfADirectoryReadsItsFilesInSortedOrder() throws {
        let dir = try TempDir()
        for name in ["c.conf", "a.conf", "B.conf", "b.conf", "10.conf", "9.conf"] {
            try dir.write("conf.d/\(name)", "ServerAlias \(name)\n")
        }
        let main = try dir.write("main.conf", "Include conf.d\nInclude conf.d/\n")
        let tree = try readFile(main, serverRoot: dir.path)
        let sorted = ["10.conf", "9.conf", "B.conf", "a.conf", "b.conf", "c.conf"]
        #expect(firstArguments(tree) == sorted + sorted)
    }

    @Test func includeWildcardInTheFileComponent() throws {
        let dir = try TempDir()
        for name in ["zeta.conf", "alpha.conf", "mid.conf", "notes.txt", ".hidden.conf"] {
            try dir.write("conf.d/\(name)", "ServerAlias \(name)\n")
        }
        let main = try dir.write("main.conf", "Include conf.d/*.conf\n")
        let tree = try readFile(main, serverRoot: dir.path)
        #expect(firstArguments(tree) == ["alpha.conf", "mid.conf", "zeta.conf"])
    }

    @Test func includeWildcardInADirectoryComponent() throws {
        let dir = try TempDir()
        try dir.write("sites/gamma/site.conf", "ServerAlias gamma\n")
        try dir.write("sites/alpha/site.conf", "ServerAlias alpha\n")
        try dir.write("sites/beta/site.conf", "ServerAlias beta\n")
        try dir.write("sites/beta/other.conf", "ServerAlias beta-other\n")
        try dir.write("sites/delta/other.conf", "ServerAlias delta-other\n")
        let main = try dir.write("main.conf", "Include sites/*/site.conf\nServerAlias --\nInclude sites/*/*.conf\nServerAlias --\nInclude sites/?e*/other.conf\n")
        let tree = try readFile(main, serverRoot: dir.path)
        #expect(firstArguments(tree) == [
            "alpha", "beta", "gamma", "--",
            "alpha", "beta-other", "beta", "delta-other", "gamma", "--",
            "beta-other", "delta-other",
        ])
    }

    @Test func wildcardDirectoryOrderFollowsApachePerLevelSort() throws {
        // Apache sorts the candidates of each wildcard level separately
        // (process_resource_config_fnmatch), so directory "a" comes before "a-b";
        // sorting whole paths puts "a-b/x.conf" first since '-' sorts before '/'.
        let dir = try TempDir()
        try dir.write("sites/a/x.conf", "ServerAlias a\n")
        try dir.write("sites/a-b/x.conf", "ServerAlias a-b\n")
        let main = try dir.write("main.conf", "Include sites/*/x.conf\n")
        let tree = try readFile(main, serverRoot: dir.path)
        #expect(firstArguments(tree) == ["a", "a-b"])
    }

    @Test func relativeIncludePathsAreTakenAgainstServerRoot() throws {
        let dir = try TempDir()
        try dir.write("root1/inc.conf", "ServerAlias root1\n")
        try dir.write("root2/inc.conf", "ServerAlias root2\n")
        // The main file lives elsewhere: the include is relative to ServerRoot, not to the file.
        let main = try dir.write("etc/main.conf", "Include inc.conf\nServerRoot \(dir.path)/root2\nInclude inc.conf\n")
        try dir.write("etc/inc.conf", "ServerAlias etc\n")
        let tree = try readFile(main, serverRoot: dir.path + "/root1")
        #expect(tree.directives.map(\.name) == ["ServerAlias", "ServerRoot", "ServerAlias"])
        #expect(tree.directives.map { $0.arguments[0] }.first == "root1")
        #expect(tree.directives.last?.arguments == ["root2"])
        #expect(tree.serverRoot == dir.path + "/root2")
    }

    @Test func relativeMainFileIsTakenAgainstServerRoot() throws {
        let dir = try TempDir()
        try dir.write("conf/httpd.conf", "ServerName rel\n")
        let tree = try readFile("conf/httpd.conf", serverRoot: dir.path)
        #expect(firstArguments(tree) == ["rel"])
        #expect(tree.directives[0].location.file == dir.path + "/conf/httpd.conf")
    }

    @Test func aMissingMainFileIsAnError() throws {
        let dir = try TempDir()
        let error = captureError { try readFile(dir.path + "/nope.conf", serverRoot: dir.path) }
        #expect(error?.description == "\(dir.path)/nope.conf: could not open configuration file: No such file or directory")
    }

    @Test func includeOptionalOfMissingThingsIsSilent() throws {
        let dir = try TempDir()
        try dir.mkdir("empty")
        let main = try dir.write("main.conf", """
            IncludeOptional missing.conf
            IncludeOptional conf.d/*.conf
            IncludeOptional nowhere/*/x.conf
            IncludeOptional empty/*.conf
            IncludeOptional empty
            ServerName ok
            """)
        let tree = try readFile(main, serverRoot: dir.path)
        #expect(tree.directives.map(\.name) == ["ServerName"])
        #expect(tree.warnings.isEmpty)
    }

    @Test func includeOptionalStillReadsWhatExists() throws {
        let dir = try TempDir()
        try dir.write("mods/b.load", "ServerAlias b\n")
        try dir.write("mods/a.load", "ServerAlias a\n")
        let main = try dir.write("main.conf", "IncludeOptional mods/*.load\nIncludeOptional mods/a.load\n")
        #expect(firstArguments(try readFile(main, serverRoot: dir.path)) == ["a", "b", "a"])
    }

    @Test func includeOfAMissingFileIsAnError() throws {
        let dir = try TempDir()
        let main = try dir.write("main.conf", "ServerName a\nInclude missing.conf\n")
        let error = try #require(captureError { try readFile(main, serverRoot: dir.path) })
        #expect(error.description == "\(main):2: Include: could not open configuration file \(dir.path)/missing.conf: No such file or directory")
    }

    @Test func includeOfANonMatchingWildcardIsAnError() throws {
        let dir = try TempDir()
        try dir.mkdir("conf.d")
        let main = try dir.write("main.conf", "Include conf.d/*.conf\n")
        let error = try #require(captureError { try readFile(main, serverRoot: dir.path) })
        #expect(error.description == "\(main):1: Include: no matches for the wildcard pattern '\(dir.path)/conf.d/*.conf' (use IncludeOptional to allow none)")
    }

    @Test func includeTakesOneArgument() throws {
        let error = captureError { try readText("Include a b") }
        #expect(error?.description == "test.conf:1: Include takes one argument, the file, directory or wildcard to include (Include a b)")
    }

    @Test func includeLoopIsAnErrorNotAHang() throws {
        let dir = try TempDir()
        let a = try dir.write("a.conf", "ServerAlias a\nInclude b.conf\n")
        let b = try dir.write("b.conf", "ServerAlias b\nInclude a.conf\n")
        let error = try #require(captureError { try readFile(a, serverRoot: dir.path) })
        #expect(error.diagnostics.count == 1)
        let diagnostic = try #require(error.diagnostics.first)
        #expect(diagnostic.location == SkepConfig.SourceLocation(file: b, line: 2))
        #expect(diagnostic.message.hasPrefix("Include loop: \(dir.path)/a.conf is already being read"))
        #expect(diagnostic.message.contains("\(a) -> \(b) -> \(a)"))
    }

    @Test func selfIncludeThroughADirectoryIsALoop() throws {
        let dir = try TempDir()
        let main = try dir.write("conf/main.conf", "Include conf\n")
        let error = try #require(captureError { try readFile(main, serverRoot: dir.path) })
        #expect(error.description.contains("Include loop"))
        #expect(error.description.hasPrefix("\(main):1: "))
    }

    @Test func includingTheSameFileTwiceIsNotALoop() throws {
        let dir = try TempDir()
        try dir.write("x.conf", "ServerAlias x\n")
        let main = try dir.write("main.conf", "Include x.conf\nInclude x.conf\n")
        #expect(firstArguments(try readFile(main, serverRoot: dir.path)) == ["x", "x"])
    }

    @Test func aCRLFFileIsReadLineByLine() throws {
        let dir = try TempDir()
        let main = try dir.write("main.conf", "ServerName a\r\nTimeout 5\r\n")
        let tree = try readFile(main, serverRoot: dir.path)
        #expect(tree.directives.map(\.name) == ["ServerName", "Timeout"])
    }

    // MARK: - ServerRoot

    @Test func serverRootMustBeADirectory() throws {
        let error = captureError { try readText("ServerRoot /nonexistent/skep") }
        #expect(error?.description == "test.conf:1: ServerRoot must be a valid directory (ServerRoot /nonexistent/skep)")
    }

    // MARK: - LoadModule and the gap report

    @Test func loadModuleOfAKnownModuleEnablesItsDirectives() throws {
        let tree = try readText("LoadModule status_module modules/mod_status.so\nExtendedStatus On")
        #expect(tree.directives.map(\.name) == ["LoadModule", "ExtendedStatus"])
        #expect(tree.activeModules.contains("status_module"))
        #expect(tree.warnings.isEmpty)
    }

    @Test func loadModuleTwiceWarns() throws {
        let tree = try readText("LoadModule status_module a.so\nLoadModule status_module b.so")
        #expect(tree.loadedModules.count == 1)
        #expect(tree.warnings.map(\.description) == ["test.conf:2: warning: module status_module is already loaded, skipping"])
    }

    @Test func loadModuleTakesTwoArguments() {
        let error = captureError { try readText("LoadModule status_module") }
        #expect(error?.description == "test.conf:1: LoadModule takes two arguments, a module name and the name of a shared object file to load it from (LoadModule status_module)")
    }

    @Test func unknownModulesAndDirectivesAreReportedInOneMessage() throws {
        let error = try #require(captureError { try readText("""
            LoadModule rewrite_module modules/mod_rewrite.so
            RewriteEngine On
            RewriteRule ^/a /b
            rewriterule ^/c /d
            RewriteRule ^/e /f
            ProxyPass / http://backend/
            <VirtualHost *:80>
              ProxyPass /x http://backend/
            </VirtualHost>
            LoadModule ssl_module modules/mod_ssl.so
            <IfModule rewrite_module>
              RewriteCond %{HTTPS} off
            </IfModule>
            <Proxy "balancer://cluster">
            </Proxy>
            """) })
        #expect(error.description == """
            Skep does not implement 2 modules and 5 directives this configuration uses:
            test.conf:1: module rewrite_module (modules/mod_rewrite.so)
            test.conf:10: module ssl_module (modules/mod_ssl.so)
            test.conf:2: directive RewriteEngine
            test.conf:3: directive RewriteRule (and 2 more uses)
            test.conf:6: directive ProxyPass (and 1 more use)
            test.conf:12: directive RewriteCond
            test.conf:14: directive <Proxy>
            """)
    }

    @Test func aSingleUnknownDirectiveUsesTheSingular() throws {
        let error = try #require(captureError { try readText("ServerName a\nFooBar 1") })
        #expect(error.description == "Skep does not implement 1 directive this configuration uses:\ntest.conf:2: directive FooBar")
        let module = try #require(captureError { try readText("LoadModule foo_module foo.so") })
        #expect(module.description == "Skep does not implement 1 module this configuration uses:\ntest.conf:1: module foo_module (foo.so)")
    }

    @Test func otherErrorsComeBeforeTheGapReport() throws {
        let error = try #require(captureError { try readText("Bogus 1\n</Directory>") })
        #expect(error.description == """
            test.conf:2: </Directory> without matching <Directory> section
            Skep does not implement 1 directive this configuration uses:
            test.conf:1: directive Bogus
            """)
    }

    @Test func aDirectiveOfAModuleNotLoadedIsAnInvalidCommand() throws {
        let error = try #require(captureError { try readText("ServerName a\nExtendedStatus On") })
        #expect(error.description == "test.conf:2: Invalid command 'ExtendedStatus', perhaps misspelled or defined by a module not included in the server configuration: it belongs to status_module, which no LoadModule enables (ExtendedStatus On)")
    }

    // MARK: - Section structure errors

    @Test func anUnclosedSectionNamesItsOpeningLine() {
        let error = captureError { try readText("ServerName a\n<Directory /srv>\nOptions None\n") }
        #expect(error?.description == "test.conf:2: <Directory> was not closed.")
    }

    @Test func anUnclosedConditionalIsAnError() {
        let error = captureError { try readText("<IfDefine !X>\nServerName a\n") }
        #expect(error?.description == "test.conf:1: <IfDefine> was not closed.")
    }

    @Test func aMismatchedCloseNamesBoth() {
        let error = captureError { try readText("<Directory /srv>\nOptions None\n</Location>\n") }
        #expect(error?.description == "test.conf:3: Expected </Directory> but saw </Location> (section opened at test.conf:1)")
    }

    @Test func closingNamesAreCaseInsensitive() throws {
        let tree = try readText("<Directory /srv>\n</directory>\n<IfModule core.c>\nServerName a\n</IFMODULE>")
        #expect(tree.directives.map(\.name) == ["Directory", "ServerName"])
    }

    @Test func aStrayCloseIsAnError() {
        let error = captureError { try readText("ServerName a\n</Directory>\n") }
        #expect(error?.description == "test.conf:2: </Directory> without matching <Directory> section")
    }

    @Test func aSectionMissingItsClosingBracket() {
        let error = captureError { try readText("<Directory /srv\nOptions None\n</Directory>\nServerName a") }
        #expect(error?.description == "test.conf:1: <Directory> directive missing closing '>' (<Directory /srv)")
    }

    @Test func aSectionCannotSpanIncludedFiles() throws {
        let dir = try TempDir()
        let part = try dir.write("part.conf", "<Directory /srv>\n")
        let main = try dir.write("main.conf", "Include part.conf\n</Directory>\n")
        let error = try #require(captureError { try readFile(main, serverRoot: dir.path) })
        #expect(error.diagnostics.map(\.description) == [
            "\(part):1: <Directory> was not closed.",
            "\(main):2: </Directory> without matching <Directory> section",
        ])
    }

    @Test func allErrorsAreCollected() {
        let error = captureError { try readText("ExtendedStatus On\n</Files>\nDefine a:b\n<Location /x>") }
        #expect(error?.diagnostics.count == 4)
        #expect(error?.diagnostics.map { $0.location?.line } == [1, 2, 3, 4])
    }

    @Test func warningsComeFirstInAnError() {
        let error = captureError { try readText("ServerName ${UNSET}\n</Files>") }
        #expect(error?.diagnostics.map(\.severity) == [.warning, .error])
    }
}
