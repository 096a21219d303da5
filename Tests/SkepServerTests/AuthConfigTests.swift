import SkepConfig
@testable import SkepServer
import SkepTestSupport
import Testing

/// The auth modules' directives, containers and merging, without sockets.
@Suite struct AuthConfigTests {
    static let loads = """
        LoadModule authz_core_module mod_authz_core.so
        LoadModule authz_host_module mod_authz_host.so
        LoadModule authn_core_module mod_authn_core.so
        LoadModule authn_file_module mod_authn_file.so
        LoadModule auth_basic_module mod_auth_basic.so
        LoadModule authz_user_module mod_authz_user.so
        LoadModule authz_groupfile_module mod_authz_groupfile.so
        LoadModule access_compat_module mod_access_compat.so

        """

    static func config(_ text: String) throws -> ServerConfig {
        let modules = CoreModule.all + ServerModules.all
        var reader = ConfigReader(modules: modules, options: .init(serverRoot: "/srv"))
        let tree = try reader.read(text: loads + text, name: "test.conf")
        return try ConfigProcessor.process(tree, modules: modules, configFile: "test.conf")
    }

    static func directory(_ config: ServerConfig, _ uri: String) throws -> ConfigVector {
        try SectionWalk(server: config.main).merge(filename: "/srv/htdocs" + uri, isDirectory: false, uri: uri, uriBytes: Array(uri.utf8))
    }

    static func refusal(_ text: String) -> String {
        captureError { try config(text) }?.diagnostics.map(\.message).joined(separator: "\n") ?? ""
    }

    /// The tree's shape, for comparisons: `Any(user, All(ip, not env))`.
    static func shape(_ section: AuthzSection?) -> String {
        guard let section else { return "nil" }
        let name = section.logic == .and ? (section.negated ? "NotAll" : "All") : (section.negated ? "None" : "Any")
        let inner = section.children.map { child -> String in
            switch child {
            case .section(let s): return shape(s)
            case .requirement(let r):
                let word: String
                switch r.provider {
                case .all(let granted): word = granted ? "granted" : "denied"
                case .ip: word = "ip"
                case .host(let names): word = "host " + names.joined(separator: " ")
                case .local: word = "local"
                case .env: word = "env"
                case .method: word = "method"
                case .user(let names): word = "user " + names.joined(separator: " ")
                case .validUser: word = "valid-user"
                case .group(let names): word = "group " + names.joined(separator: " ")
                case .expr(let e): word = "expr " + e.source
                }
                return (r.negated ? "not " : "") + word
            }
        }
        return "\(section.isMerged ? "Merged" : "")\(name)(\(inner.joined(separator: ", ")))"
    }

    @Test func containersNestAsApacheBuildsThem() throws {
        let config = try Self.config("""
            <Location /a>
                Require user bob
                <RequireAll>
                    Require valid-user
                    <RequireAll>
                        Require ip 127.0.0.1
                    </RequireAll>
                    <RequireNone>
                        Require group bad
                    </RequireNone>
                    Require not env X
                </RequireAll>
                <RequireAny>
                    Require local
                </RequireAny>
            </Location>
            """)
        // A container of the enclosing logic is spliced in (`<RequireAll>` in
        // `<RequireAll>`, `<RequireAny>` in the implicit `<RequireAny>`).
        #expect(Self.shape(try Self.directory(config, "/a/x")[AuthzConfig.self].section)
                == "Any(user bob, All(valid-user, ip, None(group bad), not env), local)")
    }

    @Test func authMergingJoinsOrReplacesTheEnclosingSection() throws {
        let config = try Self.config("""
            <Location /m>
                Require user bob
            </Location>
            <Location /m/and>
                AuthMerging And
                Require group admins
            </Location>
            <Location /m/or>
                AuthMerging or
                Require user sam
            </Location>
            <Location /m/off>
                Require user carl
            </Location>
            <Location /m/none>
                AuthType Basic
            </Location>
            <Location /m/flag>
                AuthzSendForbiddenOnFailure On
            </Location>
            """)
        func shape(_ uri: String) throws -> String { Self.shape(try Self.directory(config, uri)[AuthzConfig.self].section) }
        #expect(try shape("/m/x") == "Any(user bob)")
        #expect(try shape("/m/and/x") == "MergedAll(Any(user bob), Any(group admins))")
        #expect(try shape("/m/or/x") == "MergedAny(Any(user bob), Any(user sam))")
        #expect(try shape("/m/off/x") == "Any(user carl)")
        #expect(try shape("/m/none/x") == "Any(user bob)")
        #expect(try shape("/m/flag/x") == "Any(user bob)")
        #expect(try Self.directory(config, "/m/flag/x")[AuthzConfig.self].forbiddenOnFailure == true)
        #expect(try Self.directory(config, "/m/none/x")[AuthnCoreConfig.self].authType == "Basic")
    }

    @Test func authzMistakesAreRefusedWithApachesWords() {
        #expect(Self.refusal("<Location /a>\nRequire not user bob\n</Location>").contains("negative Require directive has no effect in <RequireAny> directive"))
        #expect(Self.refusal("<Location /a>\n<RequireAll>\n</RequireAll>\n</Location>").contains("<RequireAll> directive contains no authorization directives"))
        #expect(Self.refusal("<Location /a>\n<RequireNone>\nRequire user x\n</RequireNone>\n</Location>").contains("<RequireNone> directive has no effect in <RequireAny> directive"))
        #expect(Self.refusal("<Location /a>\nAuthMerging Sometimes\n</Location>").contains("AuthMerging must be one of: Off | And | Or"))
        #expect(Self.refusal("<Location /a>\nRequire user\n</Location>").contains("Require user needs at least one name"))
        #expect(Self.refusal("<Location /a>\nAuthBasicProvider ldap\n</Location>").contains("Unknown Authn provider: ldap"))
        #expect(Self.refusal("<Location /a>\n<RequireAll>\nAuthType Basic\n</RequireAll>\n</Location>").contains("AuthType is not allowed in <RequireAll>"))
    }

    /// A provider whose module is not loaded is unknown, as Apache's provider lookup says.
    @Test func providersNeedTheirModules() throws {
        func refusal(_ text: String) -> String {
            let modules = CoreModule.all + ServerModules.all
            var reader = ConfigReader(modules: modules, options: .init(serverRoot: "/srv"))
            return captureError {
                let tree = try reader.read(text: "LoadModule authz_core_module m.so\nLoadModule auth_basic_module m.so\n" + text, name: "t.conf")
                return try ConfigProcessor.process(tree, modules: modules, configFile: "t.conf")
            }?.diagnostics.map(\.message).joined(separator: "\n") ?? ""
        }
        #expect(refusal("<Location /a>\nRequire valid-user\n</Location>").contains("Unknown Authz provider: valid-user"))
        #expect(refusal("<Location /a>\n<RequireAll>\nRequire not group x\nRequire all granted\n</RequireAll>\n</Location>").contains("Unknown Authz provider: group"))
        #expect(refusal("<Location /a>\nAuthBasicProvider file\n</Location>").contains("Unknown Authn provider: file"))
        #expect(refusal("<Location /a>\nRequire all granted\n</Location>").isEmpty)
    }

    @Test func accessCompatDirectivesParseAsApache() throws {
        let config = try Self.config("""
            <Location /c>
                Order Allow,Deny
                Allow from 10.1 192.168.0.0/16 env=OK env=!BAD all
                Deny from 2001:db8::/32
                Satisfy any
            </Location>
            <Location /c/inner>
                Order deny,allow
            </Location>
            <Location /c/kept>
                AuthType Basic
            </Location>
            """)
        let c = try Self.directory(config, "/c/x")[AccessCompatConfig.self]
        #expect(c.order == .allowDeny && c.satisfy == .any && c.allows.count == 5 && c.denies.count == 1)
        // A section with its own rules replaces the enclosing ones entirely.
        let inner = try Self.directory(config, "/c/inner/x")[AccessCompatConfig.self]
        #expect(inner.order == .denyAllow && inner.allows.isEmpty && inner.satisfy == .unspecified)
        #expect(try Self.directory(config, "/c/kept/x")[AccessCompatConfig.self].allows.count == 5)

        #expect(Self.refusal("<Location /a>\nOrder allow, deny\n</Location>").contains("Order takes one argument"))
        #expect(Self.refusal("<Location /a>\nOrder deny\n</Location>").contains("unknown order"))
        #expect(Self.refusal("<Location /a>\nAllow 127.0.0.1\n</Location>").contains("Allow requires at least two arguments")
                || Self.refusal("<Location /a>\nAllow 127.0.0.1\n</Location>").contains("allow and deny must be followed by 'from'"))
        #expect(Self.refusal("<Location /a>\nAllow to 127.0.0.1\n</Location>").contains("allow and deny must be followed by 'from'"))
        #expect(Self.refusal("<Location /a>\nDeny from 10.0.0.0/33\n</Location>").contains("The specified network mask is invalid."))
        #expect(Self.refusal("<Location /a>\nDeny from 300.1.1.1\n</Location>").contains("The specified IP address is invalid."))
        #expect(Self.refusal("<Location /a>\nDeny from x/8\n</Location>").contains("An IP address was expected"))
        #expect(Self.refusal("<Location /a>\nSatisfy some\n</Location>").contains("Satisfy either 'any' or 'all'."))
    }

    /// Host names in `Allow from`, `Deny from` and `Require host` are kept and matched as
    /// Apache's `in_domain` matches them: whole labels, without case.
    @Test func hostNamesMatchWholeLabels() throws {
        let config = try Self.config("""
            <Location /h>
                Allow from localhost .example.com
            </Location>
            """)
        let rules = try Self.directory(config, "/h/x")[AccessCompatConfig.self].allows.map(\.rule)
        #expect(rules.count == 2)
        if case .host(let name) = rules.first { #expect(name == "localhost") } else { Issue.record("\(rules)") }
        #expect(Request.host("localhost", isIn: "localhost"))
        #expect(Request.host("www.example.com", isIn: "example.com"))
        #expect(Request.host("WWW.Example.COM", isIn: ".example.com"))
        #expect(!Request.host("badexample.com", isIn: "example.com"))
        #expect(!Request.host("example.com", isIn: ".example.com"))
        #expect(!Request.host("localhost", isIn: "calhost"))
        #expect(!Request.host("a.b", isIn: ""))
        #expect(Self.refusal("<Location /a>\nRequire host\n</Location>").contains("'require host' requires an argument"))
    }

    @Test func basicCredentialsAreReadAsModAuthBasicReadsThem() {
        func read(_ field: String?) -> BasicCredentials.Field { BasicCredentials.read(field) }
        func creds(_ user: String, _ password: String) -> BasicCredentials.Field { .basic(BasicCredentials(user: user, password: password)) }
        #expect(read(nil) == .missing)
        #expect(read("Bearer x") == .otherScheme)
        #expect(read("Basicx Ym9iOnB3") == .otherScheme)
        #expect(read("Basic Ym9iOnB3") == creds("bob", "pw"))
        #expect(read("bAsIc \t Ym9iOnB3") == creds("bob", "pw"))
        #expect(read("Basic") == creds("", ""))
        #expect(read("Basic Ym9i") == creds("bob", ""))
        #expect(read("Basic Ym9iOnB3OmV4dHJh") == creds("bob", "pw:extra"))
        // APR stops at the first byte that is not base64.
        #expect(read("Basic Ym9iOnB3!!!!") == creds("bob", "pw"))
        // A NUL ends the text, as in Apache's C strings.
        #expect(read("Basic Ym9iAHg6eQ==") == creds("bob", ""))
    }

    @Test func realmQuotesAreEscapedAsApEscapeQuotes() {
        var c = AuthnCoreConfig()
        c.authName = #"a "b" \"c\" d\"#
        #expect(c.quotedRealm == #"a \"b\" \"c\" d\"#)
        c.authTypeSetting = .some("None")
        #expect(c.authType == nil)
        c.authTypeSetting = .some("basic")
        #expect(c.authType == "basic")
    }

    @Test func passwordAndGroupFilesAreReadAsApacheReadsThem() throws {
        let dir = try makeTemporaryDirectory()
        try writeFile(dir + "/groups", "# comment\n\n  admins : alice  mary\nstaff:bob\nempty:\nadmins2:alicex\n")
        guard case .success(let lines) = AuthTextFile.lines(dir + "/groups") else {
            Issue.record("groups not read")
            return
        }
        #expect(lines.count == 4)
        #expect(AuthzGroupfileModule.groupsOf("alice", lines) == ["admins"])
        #expect(AuthzGroupfileModule.groupsOf("bob", lines) == ["staff"])
        #expect(AuthzGroupfileModule.groupsOf("nobody", lines).isEmpty)
        let (user, rest) = AuthTextFile.field(ArraySlice(Array("bob::$apr1$x:extra".utf8)))
        #expect(String(decoding: user, as: UTF8.self) == "bob")
        #expect(String(decoding: AuthTextFile.field(rest).word, as: UTF8.self) == "$apr1$x")
        if case .failure(let error) = AuthTextFile.lines(dir + "/missing") {
            #expect(error.errno == .noSuchFileOrDirectory)
        } else {
            Issue.record("a missing file was read")
        }
    }
}
