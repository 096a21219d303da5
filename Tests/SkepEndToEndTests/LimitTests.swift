import Foundation
import Testing

/// `<Limit>` and `<LimitExcept>` against Debian's Apache: the access control inside them
/// (`Require`, `Allow`, `Deny`, containers) applies to the methods they name only (HEAD as
/// GET), the other directives inside apply to every method, and the config errors are
/// Apache's.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct LimitTests {
    typealias F = EngineFixture

    static let modules = F.commonModules + ["access_compat", "authn_core", "auth_basic", "authn_file", "authz_user"]

    static let config = #"""
        <Directory "@DOCROOT@/lim">
            <Limit POST PUT>
                Require all denied
            </Limit>
        </Directory>
        <Directory "@DOCROOT@/exc">
            <LimitExcept GET>
                Require all denied
            </LimitExcept>
        </Directory>
        <Directory "@DOCROOT@/compat">
            Order allow,deny
            Allow from all
            <Limit POST>
                Deny from all
            </Limit>
        </Directory>
        <Directory "@DOCROOT@/userdir">
            <Limit GET POST OPTIONS>
                Require all granted
            </Limit>
            <LimitExcept GET POST OPTIONS>
                Require all denied
            </LimitExcept>
        </Directory>
        <Directory "@DOCROOT@/nested">
            <LimitExcept GET>
                <Limit POST DELETE>
                    <RequireAll>
                        Require all denied
                    </RequireAll>
                </Limit>
            </LimitExcept>
        </Directory>
        <Directory "@DOCROOT@/auth">
            AuthType Basic
            AuthName "limited"
            AuthUserFile "@ROOT@/htpasswd"
            <Limit POST>
                Require valid-user
            </Limit>
            DirectoryIndex file.txt
        </Directory>
        """#

    static let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PROPFIND"]

    @Test func accessControlInsideLimitAppliesToItsMethodsAsApache() throws {
        try DifferentialTests.pair(extra: Self.config, setUp: { config in
            config.modules = Self.modules
            config.skepModules = Self.modules
            for dir in ["lim", "exc", "compat", "userdir", "nested", "auth"] {
                try config.root.writeDocument("\(dir)/file.txt", "\(dir)\n")
            }
            _ = try config.root.writeFile("htpasswd", "")
        }) { skep, apache in
            var statuses: [String: Int] = [:]
            for dir in ["lim", "exc", "compat", "userdir", "nested", "auth"] {
                for method in Self.methods {
                    let path = dir == "auth" ? "/auth/" : "/\(dir)/file.txt"
                    let request = "\(method) \(path) HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    let s = try F.exchange(skep, request), a = try F.exchange(apache, request)
                    #expect(s.status == a.status, "\(method) \(path): skep \(s.status), Apache \(a.status)")
                    statuses["\(method) \(dir)"] = s.status
                }
            }
            // The cases reach what they name: denied where limited, served elsewhere.
            #expect(statuses["POST lim"] == 403 && statuses["GET lim"] == 200)
            #expect(statuses["HEAD exc"] == 200 && statuses["POST exc"] == 403)
            #expect(statuses["POST auth"] == 401 && statuses["GET auth"] == 200)
            F.expectStillServing(skep, after: "the <Limit> cases")
        }
    }

    /// Both servers refuse these, skep with Apache's message at the section's line.
    @Test func refusedLimitSectionsSayWhyAsApache() throws {
        let cases: [(text: String, message: String)] = [
            ("<Directory /x>\n<Limit>\nRequire all denied\n</Limit>\n</Directory>", "<Limit> directive requires additional arguments"),
            ("<Directory /x>\n<Limit GET TRACE>\nRequire all denied\n</Limit>\n</Directory>", "TRACE cannot be controlled by <Limit>, see TraceEnable"),
            ("<Directory /x>\n<Limit GET>\n<LimitExcept GET>\nRequire all denied\n</LimitExcept>\n</Limit>\n</Directory>", "<LimitExcept> directive excludes all methods"),
            ("<Directory /x>\n<Limit GET>\n<Limit GET>\nRequire all denied\n</Limit>\n</Limit>\n</Directory>", "<Limit> directive specifies methods already excluded"),
        ]
        for item in cases {
            var config = try TestConfig(extra: item.text)
            defer { config.root.remove() }
            config.modules = Self.modules
            config.skepModules = Self.modules
            let ours = try ServerBinary.configtest(.skep, configPath: config.write(for: .skep))
            let theirs = try Oracle.configtest(config)
            #expect(theirs.status != 0 && theirs.stderr.contains(item.message), "Apache: \(theirs.stderr)")
            #expect(ours.status == 1 && ours.stderr.contains(item.message), "skep: \(ours.stderr)")
        }
        // Outside a directory context, as Apache: not allowed here.
        var config = try TestConfig(extra: "<Limit GET>\nRequire all granted\n</Limit>")
        defer { config.root.remove() }
        config.modules = Self.modules
        config.skepModules = Self.modules
        let ours = try ServerBinary.configtest(.skep, configPath: config.write(for: .skep))
        #expect(ours.status == 1 && ours.stderr.contains("<Limit> not allowed here"), "\(ours.stderr)")
        #expect(try Oracle.configtest(config).status != 0)
    }
}
