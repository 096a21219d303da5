import SkepConfig
import SkepHTTP
@testable import SkepServer
import SkepSystem
import Testing

/// mod_setenvif's and mod_env's rules alone: parsing, matching and merging, no sockets.
@Suite struct SetEnvIfTests {
    static let modules = CoreModule.all + [SetEnvIfModule.descriptor, EnvModule.descriptor, AuthzCoreModule.descriptor]

    static func config(_ text: String) throws -> ServerConfig {
        var reader = ConfigReader(modules: modules, options: .init(serverRoot: "/tmp"))
        let loads = "LoadModule setenvif_module mod_setenvif.so\nLoadModule env_module mod_env.so\nLoadModule authz_core_module mod_authz_core.so\n"
        let tree = try reader.read(text: loads + text, name: "test.conf")
        return try ConfigProcessor.process(tree, modules: modules, configFile: "test.conf")
    }

    /// The variables the server-level rules set for `request`.
    static func environment(_ text: String, _ request: String) throws -> [String: String] {
        let config = try config(text)
        let context = try ServerContextStub.make(config)
        return try withRequest(request, server: config.main) { r in
            SetEnvIfMatcher.run(r.serverConfig(SetEnvIfConfig.self).rules, r, context, beforeTranslate: false)
            return r.environment
        }
    }

    static let request = "POST /app/index.php?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0)\r\n"
        + "Authorization: Basic dTpw\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n"

    @Test(arguments: [
        ("SetEnvIf Request_Method POST is_post", ["is_post": "1"]),
        ("SetEnvIf Request_Method ^GET$ is_get", [:]),
        ("SetEnvIf Request_URI \"^/(\\w+)/\" app=$1", ["app": "app"]),
        ("SetEnvIf Request_Protocol HTTP/1\\.1 v11=yes", ["v11": "yes"]),
        ("SetEnvIf Remote_Addr ^127\\. local", ["local": "1"]),
        ("SetEnvIf Server_Addr 127.0.0.1 here", ["here": "1"]),
        ("SetEnvIfNoCase ^Authorization$ \"(.+)\" HTTP_AUTHORIZATION=$1", ["HTTP_AUTHORIZATION": "Basic dTpw"]),
        ("SetEnvIf ^authorization$ \"(.+)\" A=$1", [:]),
        ("SetEnvIf ^X-Forw \"(.+)\" xff=$1", ["xff": "10.0.0.1"]),
        ("BrowserMatch \"MSIE [2-6]\" nokeepalive downgrade-1.0 force-response-1.0", ["nokeepalive": "1", "downgrade-1.0": "1", "force-response-1.0": "1"]),
        ("BrowserMatch msie old", [:]),
        ("BrowserMatchNoCase msie old", ["old": "1"]),
        ("BrowserMatch compatible literal=$1", ["literal": "$1"]),
        ("BrowserMatch Mozilla/4.0 group=$1", ["group": ""]),
        ("SetEnvIf User-Agent compatible a=1 b=2\nSetEnvIf User-Agent compatible !a", ["b": "2"]),
        ("SetEnvIf X-Missing ^$ missing", ["missing": "1"]),
        ("SetEnvIf Request_Method POST first=1\nSetEnvIf first 1 second=from-env", ["first": "1", "second": "from-env"]),
        ("SetEnvIf Request_Method POST empty=", ["empty": "1"]),
        ("SetEnvIfExpr \"%{REQUEST_METHOD} == 'POST'\" post", ["post": "1"]),
        ("SetEnvIfExpr \"%{HTTP_USER_AGENT} =~ /MSIE (\\d)/\" msie=$1", ["msie": "6"]),
        ("SetEnvIfExpr \"!(%{HTTP_USER_AGENT} =~ /Opera (\\d)/)\" notopera=$1", ["notopera": "$1"]),
        ("SetEnvIf Host ^example\\.com$ h", ["h": "1"]),
    ])
    func serverRules(_ text: String, _ expected: [String: String]) throws {
        #expect(try Self.environment(text, Self.request) == expected, "\(text)")
    }

    @Test(arguments: [
        ("SetEnvIf User-Agent", "test.conf:4: Missing regular expression for SetEnvIf (SetEnvIf User-Agent)"),
        ("SetEnvIf User-Agent x", "test.conf:4: Missing envariable expression for SetEnvIf (SetEnvIf User-Agent x)"),
        ("SetEnvIf", "test.conf:4: Missing header-field name for SetEnvIf (SetEnvIf)"),
        ("BrowserMatch \"(\" x", "test.conf:4: BrowserMatch regex could not be compiled. (BrowserMatch \"(\" x)"),
        // `<If>` conditions are parsed at config time; `<Else>` needs an `<If>` before it.
        ("<If \"%{NOPE} == 1\">\n</If>", "Cannot parse condition clause: Variable 'NOPE' does not exist"),
        ("<Else>\n</Else>", "<Else> or <ElseIf> section without previous <If> or <ElseIf> section in same scope"),
        ("<If true>\n</If>\n<Else>\n</Else>\n<ElseIf true>\n</ElseIf>", "<Else> or <ElseIf> section without previous <If> or <ElseIf> section in same scope"),
        ("<If true>\n</If>\n<Else x>\n</Else>", "<Else> does not take an argument"),
        ("<If>\n</If>", "<If> directive requires additional arguments"),
        ("<If true>\n<Location /x>\n</Location>\n</If>", "<Location not allowed in <If> context"),
        ("<Location />\nRequire expr \"%{NOPE} == 1\"\n</Location>", "Cannot parse expression in require line: Variable 'NOPE' does not exist"),
        ("SetEnvIfExpr \"%{NOPE} == 1\" x", "test.conf:4: Could not parse expression \"%{NOPE} == 1\": Variable 'NOPE' does not exist (SetEnvIfExpr \"%{NOPE} == 1\" x)"),
    ])
    func configErrors(_ text: String, _ message: String) {
        do {
            _ = try Self.config(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    /// Apache's `non_regex_pattern`: which patterns are plain substrings.
    @Test func literalPatterns() {
        #expect(SetEnvIfRule.literalPattern("Mozilla/4") == Array("Mozilla/4".utf8))
        #expect(SetEnvIfRule.literalPattern("a\\.b") == Array("a.b".utf8))
        #expect(SetEnvIfRule.literalPattern("a\\\\b") == Array("a\\b".utf8))
        #expect(SetEnvIfRule.literalPattern("^a") == nil)
        #expect(SetEnvIfRule.literalPattern("a\\d") == nil)
    }

    /// Server-level rules go to the server record, section rules to the section's, and a
    /// virtual host's follow the main server's.
    @Test func rulesLandWhereApachePutsThem() throws {
        let config = try Self.config("""
            SetEnvIf Request_Method GET main
            <Location /x>
            SetEnvIf Request_Method GET location
            </Location>
            <VirtualHost *:80>
            SetEnvIf Request_Method GET vhost
            </VirtualHost>
            """)
        #expect(config.main.server[SetEnvIfConfig.self].rules.count == 1)
        #expect(config.main.defaults[SetEnvIfConfig.self].rules.isEmpty)
        #expect(config.main.sections.first?.config[SetEnvIfConfig.self].rules.count == 1)
        #expect(config.virtualHosts.first?.server[SetEnvIfConfig.self].rules.count == 2)
    }

    /// mod_env's merge: the nested scope's UnsetEnv removes the enclosing variables, its
    /// SetEnv adds; an UnsetEnv before a SetEnv of the same scope does not undo it.
    @Test func envMerge() throws {
        let config = try Self.config("""
            SetEnv A 1
            SetEnv B 2
            SetEnv C
            <Location /x>
            UnsetEnv A
            SetEnv B 3
            UnsetEnv D
            SetEnv D 4
            </Location>
            """)
        let base = config.main.defaults[EnvConfig.self]
        #expect(base.variables.map { "\($0.name)=\($0.value)" } == ["A=1", "B=2", "C="])
        let merged = base.merged(with: config.main.sections[0].config[EnvConfig.self])
        #expect(merged.variables.map { "\($0.name)=\($0.value)" } == ["B=3", "C=", "D=4"])
    }

    @Test func passEnvWarnsForMissingVariable() throws {
        let config = try Self.config("PassEnv PATH SKEP_NO_SUCH_VARIABLE\n")
        #expect(config.main.defaults[EnvConfig.self].variables.map(\.name) == ["PATH"])
        #expect(config.warnings.contains { $0.message.contains("AH01506: PassEnv variable SKEP_NO_SUCH_VARIABLE was undefined") })
    }

    @Test func ifSectionsCollectInOrder() throws {
        let config = try Self.config("""
            <If "%{REQUEST_METHOD} == 'GET'">
              SetEnv K if
              <If "true">
                SetEnv N nested
              </If>
            </If>
            <ElseIf "true">
              SetEnv K elseif
            </ElseIf>
            <Else>
              SetEnv K else
            </Else>
            <Location />
            Require expr %{REQUEST_URI} == '/a b'
            </Location>
            """)
        let sections = config.main.defaults[IfSections.self].sections
        #expect(sections.map(\.kind) == [.if, .elseIf, .else])
        #expect(sections[0].config[IfSections.self].sections.count == 1)
        #expect(config.main.sections[0].config[AuthzConfig.self].section?.children.count == 1)
    }

    /// The if-walk: `<ElseIf>`/`<Else>` chains, nested `<If>`s, and scopes' sections in
    /// walk order (server, then `<Location>`), each level merged before the `<If>`s nested
    /// in it (Apache's `ap_if_walk`); checked through mod_env's merged variables.
    @Test(arguments: [
        ("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", ["K=if", "L=loc", "N=nested"]),
        ("GET /a HTTP/1.1\r\nHost: x\r\nX-Mode: two\r\n\r\n", ["K=if", "L=loc", "N=nested"]),
        ("POST /a HTTP/1.1\r\nHost: x\r\nX-Mode: two\r\n\r\n", ["K=elseif", "L=loc"]),
        ("POST /b HTTP/1.1\r\nHost: x\r\n\r\n", ["K=else"]),
        ("PUT /a HTTP/1.1\r\nHost: x\r\n\r\n", ["K=else", "L=loc"]),
    ])
    func ifWalk(_ request: String, _ expected: [String]) throws {
        let config = try Self.config("""
            <If "%{REQUEST_METHOD} == 'GET'">
              SetEnv K if
              <If "%{REQUEST_URI} == '/a'">
                SetEnv N nested
              </If>
            </If>
            <ElseIf "%{HTTP:X-Mode} == 'two'">
              SetEnv K elseif
            </ElseIf>
            <Else>
              SetEnv K else
            </Else>
            <Location /a>
              <If "true">
                SetEnv L loc
              </If>
            </Location>
            """)
        let context = try ServerContextStub.make(config)
        let variables = try withRequest(request, server: config.main) { r in
            r.directory = try SectionWalk(server: config.main).merge(filename: nil, isDirectory: false, uri: r.uri, uriBytes: Array(r.uri.utf8))
            IfWalk.apply(r, context)
            return r.config(EnvConfig.self).variables.map { "\($0.name)=\($0.value)" }
        }
        #expect(variables == expected, "\(request)")
    }
}
