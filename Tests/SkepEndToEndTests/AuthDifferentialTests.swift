import Foundation
import Glibc
import SkepTestSupport
import Testing

/// mod_auth_basic, mod_authn_file, mod_authz_user, mod_authz_groupfile, mod_authz_core's
/// containers and `AuthMerging`, and mod_access_compat, against Debian's Apache on the
/// same configuration and the same htpasswd files (written by the real `htpasswd`, one
/// user per hash format). Compared per request: the whole response (status, headers
/// with `WWW-Authenticate`, body); then the error logs' auth messages (AH codes, in
/// order) and the access logs with `%u`.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable && AuthFiles.isAvailable, "needs /usr/sbin/apache2 and htpasswd"),
       .timeLimit(.minutes(10)))
struct AuthDifferentialTests {
    typealias F = EngineFixture

    static let modules = ["access_compat", "authn_core", "authn_file", "auth_basic", "authz_user", "authz_groupfile"]

    static let authConfig = #"""
        <Location /basic>
            AuthType Basic
            AuthName "Private \"area\""
            AuthUserFile conf/users
            Require valid-user
        </Location>
        <Location /user>
            AuthType Basic
            AuthName user
            AuthUserFile conf/users
            Require user mary sam
        </Location>
        <Location /group>
            AuthType basic
            AuthName group
            AuthUserFile conf/users
            AuthGroupFile conf/groups
            Require group admins
        </Location>
        <Location /all>
            AuthType Basic
            AuthName all
            AuthUserFile conf/users
            <RequireAll>
                Require valid-user
                Require ip 127.0.0.1
            </RequireAll>
        </Location>
        <Location /allnot>
            AuthType Basic
            AuthName allnot
            AuthUserFile conf/users
            <RequireAll>
                Require valid-user
                Require not ip 127.0.0.1
            </RequireAll>
        </Location>
        <Location /any>
            AuthType Basic
            AuthName any
            AuthUserFile conf/users
            <RequireAny>
                Require ip 10.9.9.9
                Require user bob
            </RequireAny>
        </Location>
        <Location /none>
            AuthType Basic
            AuthName none
            AuthUserFile conf/users
            <RequireAll>
                Require valid-user
                <RequireNone>
                    Require user bob mary
                </RequireNone>
            </RequireAll>
        </Location>
        <Location /merge>
            AuthType Basic
            AuthName merge
            AuthUserFile conf/users
            AuthGroupFile conf/groups
            Require user bob alice
        </Location>
        <Location /merge/and>
            AuthMerging And
            Require group admins
        </Location>
        <Location /merge/or>
            AuthMerging Or
            Require user sam
        </Location>
        <Location /merge/off>
            Require user carl
        </Location>
        <Location /noname>
            AuthType Basic
            AuthUserFile conf/users
            Require valid-user
        </Location>
        <Location /soft>
            AuthType Basic
            AuthName soft
            AuthUserFile conf/users
            AuthBasicAuthoritative Off
            Require valid-user
        </Location>
        <Location /nofile>
            AuthType Basic
            AuthName nofile
            AuthUserFile conf/missing
            Require valid-user
        </Location>
        <Location /forbid>
            AuthType Basic
            AuthName forbid
            AuthUserFile conf/users
            AuthzSendForbiddenOnFailure On
            Require user sam
        </Location>
        <Location /typeonly>
            AuthType Basic
            AuthName typeonly
        </Location>
        <Location /custom>
            AuthType Basic
            AuthName custom
            AuthUserFile conf/users
            Require valid-user
            ErrorDocument 401 /denied.html
        </Location>
        """#

    static let paths = ["/basic", "/user", "/group", "/all", "/allnot", "/any", "/none", "/merge", "/merge/and", "/merge/or",
                        "/merge/off", "/noname", "/soft", "/nofile", "/forbid", "/typeonly", "/custom"]

    /// `Authorization` values: none, each user right and wrong, an unknown user, and
    /// fields Apache reads in its own way.
    static let credentials: [String?] = [
        nil,
        AuthFiles.basic("bob", "bcrypt-pw"), AuthFiles.basic("bob", "wrong"),
        AuthFiles.basic("mary", "md5-pw"), AuthFiles.basic("mary", "md5-pw "),
        AuthFiles.basic("sam", "sha-pw"), AuthFiles.basic("sam", "SHA-pw"),
        AuthFiles.basic("carl", "crypt-pw"), AuthFiles.basic("carl", "crypt-px"),
        AuthFiles.basic("alice", "alice-pw"),
        AuthFiles.basic("eve", "x"),
    ]

    static let oddFields: [String] = [
        "Bearer abc", "Basic", "Basic !!!!", "basic " + AuthFiles.base64("bob:bcrypt-pw"),
        "Basic    " + AuthFiles.base64("bob:bcrypt-pw"), "Basic " + AuthFiles.base64("bob"),
        "Basic " + AuthFiles.base64("bob:bcrypt-pw") + "!garbage", "Basic " + AuthFiles.base64(":"),
        "Basic " + AuthFiles.base64("bob:bcrypt-pw:extra"), "Digest username=\"bob\"",
    ]

    @Test func basicAuthenticationAnswersAsApache() throws {
        try Self.pair(Self.authConfig, paths: Self.paths) { skep, apache in
            var sent = 0
            func compare(_ path: String, _ field: String?) throws {
                try AuthFiles.expectSameAnswer(skep, apache, path, field)
                sent += 1
            }
            for path in Self.paths {
                for field in Self.credentials { try compare(path + "/f.txt", field) }
            }
            for field in Self.oddFields { try compare("/basic/f.txt", field) }

            // The auth modules' error-log messages, in order.
            AuthFiles.expectSameAuthMessages(skep, apache)
            // `%u`: the user sent, even when refused, as Apache logs it.
            try AuthFiles.expectSameAccessLog(skep, apache, count: sent)
            F.expectStillServing(skep, after: "the auth cases")
        }
    }

    /// A password changed with `htpasswd` takes effect without a restart: the file is
    /// read on every check, as Apache reads it.
    @Test func anEditedPasswordFileTakesEffectAtOnce() throws {
        try Self.pair(Self.authConfig, paths: ["/basic"]) { skep, apache in
            for server in [skep, apache] {
                #expect(try F.get(server, "/basic/f.txt", headers: ["Authorization: " + AuthFiles.basic("bob", "bcrypt-pw")]).status == 200)
                try AuthFiles.htpasswd(["-b", "-B", "-C", "4", server.config.root.conf + "/users", "bob", "changed"])
                #expect(try F.get(server, "/basic/f.txt", headers: ["Authorization: " + AuthFiles.basic("bob", "bcrypt-pw")]).status == 401)
                #expect(try F.get(server, "/basic/f.txt", headers: ["Authorization: " + AuthFiles.basic("bob", "changed")]).status == 200)
            }
        }
    }

    static let compatConfig = #"""
        <Location /ad-allowed>
            Order allow,deny
            Allow from 127.0.0.1
        </Location>
        <Location /ad-denied>
            Order allow,deny
            Allow from all
            Deny from 127.0.0.0/8
        </Location>
        <Location /ad-nothing>
            Order allow,deny
        </Location>
        <Location /da-allowed>
            Order deny,allow
            Deny from all
            Allow from 127.0
        </Location>
        <Location /da-denied>
            Order Deny,Allow
            Deny from all
        </Location>
        <Location /da-other>
            Order deny,allow
            Deny from 10.0.0.0/255.0.0.0 192.168.
        </Location>
        <Location /mutual>
            Order mutual-failure
            Allow from 127.0.0.1
            Deny from 127.0.0.2
        </Location>
        <Location /env>
            Order allow,deny
            Allow from env=!NOT_SET
        </Location>
        <Location /envset>
            Order allow,deny
            Allow from env=NOT_SET
        </Location>
        <Location /any-allowed>
            Order allow,deny
            Allow from 127.0.0.1
            AuthType Basic
            AuthName any-allowed
            AuthUserFile conf/users
            Require valid-user
            Satisfy Any
        </Location>
        <Location /any-denied>
            Order deny,allow
            Deny from all
            AuthType Basic
            AuthName any-denied
            AuthUserFile conf/users
            Require valid-user
            Satisfy any
        </Location>
        <Location /all-allowed>
            Order allow,deny
            Allow from 127.0.0.1
            AuthType Basic
            AuthName all-allowed
            AuthUserFile conf/users
            Require valid-user
            Satisfy All
        </Location>
        <Location /all-denied>
            Order deny,allow
            Deny from all
            AuthType Basic
            AuthName all-denied
            AuthUserFile conf/users
            Require valid-user
            Satisfy All
        </Location>
        <Location /any-norules>
            AuthType Basic
            AuthName any-norules
            AuthUserFile conf/users
            Require valid-user
            Satisfy Any
        </Location>
        <Location /nested>
            Order deny,allow
            Deny from all
        </Location>
        <Location /nested/inner>
            Satisfy All
        </Location>
        <Location /with-require>
            Order allow,deny
            Allow from all
            Require all denied
        </Location>
        <Location /host-allowed>
            Order allow,deny
            Allow from localhost
        </Location>
        <Location /host-listed>
            # Debian's dokuwiki/apache.conf: a name first, the addresses after it.
            Order allow,deny
            Allow from localhost 127.0.0.1 ::1
        </Location>
        <Location /host-label>
            # Only whole labels: "calhost" is not a domain of "localhost".
            Order allow,deny
            Allow from calhost
        </Location>
        <Location /host-denied>
            Order deny,allow
            Deny from LOCALHOST
        </Location>
        <Location /host-require>
            Require host localhost
        </Location>
        <Location /host-require-other>
            Require host example.invalid .invalid
        </Location>
        """#

    static let compatPaths = ["/ad-allowed", "/ad-denied", "/ad-nothing", "/da-allowed", "/da-denied", "/da-other", "/mutual",
                              "/env", "/envset", "/any-allowed", "/any-denied", "/all-allowed", "/all-denied", "/any-norules",
                              "/nested", "/nested/inner", "/with-require", "/host-allowed", "/host-listed", "/host-label",
                              "/host-denied", "/host-require", "/host-require-other"]

    @Test func orderAllowDenyAndSatisfyAnswerAsApache() throws {
        try Self.pair(Self.compatConfig, paths: Self.compatPaths) { skep, apache in
            var sent = 0
            for path in Self.compatPaths {
                for field in [nil, AuthFiles.basic("bob", "bcrypt-pw"), AuthFiles.basic("bob", "nope")] {
                    try AuthFiles.expectSameAnswer(skep, apache, path + "/f.txt", field)
                    sent += 1
                }
            }
            AuthFiles.expectSameAuthMessages(skep, apache)
            try AuthFiles.expectSameAccessLog(skep, apache, count: sent)
        }
    }

    /// Apache and skep on `config` with the auth modules, the htpasswd and group files,
    /// and `PATH/f.txt` for each of `paths`.
    static func pair(_ config: String, paths: [String], _ body: (ServerProcess, ServerProcess) throws -> Void) throws {
        try DifferentialTests.pair(extra: config, setUp: { config in
            config.modules = F.commonModules + Self.modules
            config.skepModules = F.commonModules + Self.modules
            try AuthFiles.write(in: config.root)
            for path in paths { try config.root.writeDocument(String(path.dropFirst()) + "/f.txt", "in \(path)\n") }
            try config.root.writeDocument("denied.html", "<p>Who are you?</p>\n")
        }, body)
    }

    /// Debian's own `.load` files for these modules pass `skep -t`.
    @Test func debiansLoadFilesPassTheConfigTest() throws {
        let config = try TestConfig()
        defer { config.root.remove() }
        let loads = Self.modules.map { "Include /etc/apache2/mods-available/\($0).load" }.joined(separator: "\n")
        let path = try config.root.writeFile("conf/load.conf", """
            ServerRoot "\(config.root.path)"
            LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
            LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
            \(loads)
            Listen 127.0.0.1:\(config.port)
            ErrorLog "\(config.errorLog)"
            <Directory />
                AuthType Basic
                AuthName "Restricted"
                AuthUserFile conf/users
                AuthGroupFile conf/groups
                Require group admins
                Order allow,deny
                Allow from 127.0.0.1
                Satisfy Any
            </Directory>
            """)
        let result = try Subprocess.run(try ServerBinary.skepPath(), ["-t", "-f", path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("Syntax OK") || result.stdout.contains("Syntax OK"), "\(result.stdout)\(result.stderr)")
    }
}

/// htpasswd and group files for the auth tests, written by Apache's own `htpasswd`
/// (apache2-utils): one user per hash format, and the comparisons of the two servers' logs.
enum AuthFiles {
    static let htpasswdPath = "/usr/bin/htpasswd"
    static var isAvailable: Bool { access(htpasswdPath, X_OK) == 0 }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
    static func basic(_ user: String, _ password: String) -> String { "Basic " + base64("\(user):\(password)") }

    static func htpasswd(_ arguments: [String]) throws {
        let result = try Subprocess.run(htpasswdPath, arguments)
        guard result.status == 0 else { throw HarnessError("htpasswd \(arguments): \(result.stderr)") }
    }

    /// `conf/users`: bob bcrypt (-B), mary APR1-MD5 (-m), sam SHA-1 (-s), carl crypt (-d),
    /// alice bcrypt; `conf/groups`: admins (alice, mary) and staff. Readable by Apache's
    /// www-data children.
    static func write(in root: TestServerRoot) throws {
        let users = root.conf + "/users"
        try htpasswd(["-c", "-b", "-B", "-C", "4", users, "bob", "bcrypt-pw"])
        try htpasswd(["-b", "-m", users, "mary", "md5-pw"])
        try htpasswd(["-b", "-s", users, "sam", "sha-pw"])
        try htpasswd(["-b", "-d", users, "carl", "crypt-pw"])
        try htpasswd(["-b", "-B", "-C", "4", users, "alice", "alice-pw"])
        chmod(users, 0o644)
        try root.writeFile("conf/groups", "# groups\nadmins: alice mary\nstaff : bob sam carl\n")
    }

    /// The error log's messages from the access and auth modules, from their AH code on,
    /// with the ServerRoot written `@ROOT@`.
    static func authMessages(_ server: ServerProcess) -> [String] {
        let codes = ["AH00025", "AH00027", "AH01614", "AH01615", "AH01616", "AH01617", "AH01618", "AH01619", "AH01620",
                     "AH01627", "AH01629", "AH01630", "AH01631", "AH01664", "AH01665", "AH01666", "AH01797"]
        return server.errorLog().split(separator: "\n").compactMap { line -> String? in
            guard let start = line.range(of: "AH0"), codes.contains(String(line[start.lowerBound...].prefix(7))) else { return nil }
            return String(line[start.lowerBound...]).replacingOccurrences(of: server.config.root.path, with: "@ROOT@")
        }
    }

    /// Both error logs have the same auth messages, in the same order.
    static func expectSameAuthMessages(_ skep: ServerProcess, _ apache: ServerProcess, sourceLocation: SourceLocation = #_sourceLocation) {
        let s = authMessages(skep), a = authMessages(apache)
        #expect(s == a, "skep:\n\(s.joined(separator: "\n"))\napache:\n\(a.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    /// `GET path` with `Authorization: field` (none when nil) answered alike by both.
    static func expectSameAnswer(_ skep: ServerProcess, _ apache: ServerProcess, _ path: String, _ field: String?,
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let headers = field.map { ["Authorization: \($0)"] } ?? []
        let s = try EngineFixture.get(skep, path, headers: headers), a = try EngineFixture.get(apache, path, headers: headers)
        let diffs = Differential.differences(s, a)
        #expect(diffs.isEmpty, "\(path) with \(field ?? "no Authorization"): \(diffs)", sourceLocation: sourceLocation)
    }

    /// Both access logs have `count` lines, equal once the `[time]` is taken out (as sets
    /// of lines: Apache's event MPM writes a line after the response, so two requests in
    /// quick succession may be logged in either order).
    static func expectSameAccessLog(_ skep: ServerProcess, _ apache: ServerProcess, count: Int,
                                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        try Deadline.wait(for: "\(count) access log lines from both servers", timeout: .seconds(10)) {
            skep.accessLogLines().count >= count && apache.accessLogLines().count >= count
        }
        func normalized(_ server: ServerProcess) -> [String] {
            server.accessLogLines().map { line in
                guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return line }
                return String(line[..<open]) + String(line[line.index(after: close)...])
            }
        }
        let s = normalized(skep).sorted(), a = normalized(apache).sorted()
        #expect(s == a, "access logs differ:\nskep:\n\(s.joined(separator: "\n"))\napache:\n\(a.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }
}

/// The authenticated user reaches a PHP script through mod_proxy_fcgi as Apache sends it:
/// `REMOTE_USER` and `AUTH_TYPE`, and no `Authorization` header (CGIPassAuth Off).
@Suite(.tags(.apache, .phpFPM, .skepBinary),
       .enabled(if: Oracle.isAvailable && PHPFPM.isAvailable && AuthFiles.isAvailable, "needs apache2, php-fpm and htpasswd"),
       .timeLimit(.minutes(10)))
struct AuthFastCGITests {
    typealias F = FastCGIFixture

    @Test func remoteUserReachesPHPAsApacheSendsIt() throws {
        try PHPFPM.with { fpm in
            let extra = """
                \(F.unixHandler(fpm))
                <Location /env.php>
                    AuthType Basic
                    AuthName php
                    AuthUserFile conf/users
                    Require valid-user
                    ErrorDocument 401 /refused/env.php
                </Location>
                """
            try withServerPair(setUp: { config in
                config.modules = F.modules + AuthDifferentialTests.modules
                config.extra = extra
                try F.populate(config.root)
                try AuthFiles.write(in: config.root)
                try config.root.writeDocument("refused/env.php", F.envScript)
            }) { skep, apache in
                let names = ["REMOTE_USER", "AUTH_TYPE", "HTTP_AUTHORIZATION", "PHP_AUTH_USER", "PHP_AUTH_PW"]
                for (user, password) in [("mary", "md5-pw"), ("bob", "bcrypt-pw")] {
                    let headers = ["Authorization: " + AuthFiles.basic(user, password)]
                    let a = try F.environment(apache, "/env.php", headers: headers).env
                    let s = try F.environment(skep, "/env.php", headers: headers).env
                    #expect(a["REMOTE_USER"] == user, "Apache: \(a)")
                    for name in names { #expect(s[name] == a[name], "\(user): \(name): skep \(s[name] ?? "-") / apache \(a[name] ?? "-")") }
                }
                // A refused user's 401 answered by a PHP error document: REDIRECT_REMOTE_USER.
                func refused(_ server: ServerProcess) throws -> (status: Int, env: [String: String]) {
                    let client = try RawHTTPClient(port: server.port, timeout: .seconds(15))
                    defer { client.close() }
                    let response = try client.exchange("GET /env.php HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \(AuthFiles.basic("mary", "wrong"))\r\nConnection: close\r\n\r\n")
                    var env: [String: String] = [:]
                    for (key, value) in try F.json(response.body) { env[key] = (value as? String) ?? "\(value)" }
                    return (response.status, env)
                }
                let a = try refused(apache), s = try refused(skep)
                #expect(a.status == 401 && a.env["REDIRECT_REMOTE_USER"] == "mary", "Apache: \(a)")
                #expect(s.status == a.status)
                for name in names + ["REDIRECT_REMOTE_USER"] {
                    #expect(s.env[name] == a.env[name], "refused: \(name): skep \(s.env[name] ?? "-") / apache \(a.env[name] ?? "-")")
                }
            }
        }
    }
}

/// A bcrypt check (slow by design) under event: the listener hands the request to a
/// worker and keeps answering. Proven by condition: `?auto`, which the listener answers
/// itself, shows a worker busy with the check (were the check on the listener, nothing
/// would answer and no worker would be busy), and a cached file is served meanwhile.
@Suite(.tags(.skepBinary), .enabled(if: AuthFiles.isAvailable, "needs htpasswd"), .timeLimit(.minutes(10)))
struct AuthListenerTests {
    typealias L = ListenerTestSupport

    @Test func aBcryptCheckRunsOnAWorkerWhileTheListenerServesCachedFiles() throws {
        var config = try MPMTestSupport.config(.event, L.twoWorkers + """

            <Location /slow>
                AuthType Basic
                AuthName slow
                AuthUserFile conf/slow-users
                Require valid-user
            </Location>
            """)
        config.modules += AuthDifferentialTests.modules
        config.skepModules = (config.skepModules ?? []) + AuthDifferentialTests.modules
        let page = "a cached page\n"
        try config.root.writeDocument("page.txt", page)
        try config.root.writeDocument("slow/f.txt", "behind bcrypt\n")
        // Cost 14: about a second of CPU per check, long enough to be seen running.
        try AuthFiles.htpasswd(["-c", "-b", "-B", "-C", "14", config.root.conf + "/slow-users", "slow", "pw"])
        try AuthFiles.htpasswd(["-b", "-B", "-C", "4", config.root.conf + "/slow-users", "quick", "pw"])
        try withServer(.skep, config: config) { server in
            let status = try RawHTTPClient(port: server.port, timeout: .seconds(20))
            let files = try RawHTTPClient(port: server.port, timeout: .seconds(20))
            let slow = try RawHTTPClient(port: server.port, timeout: .seconds(60))
            defer { [status, files, slow].forEach { $0.close() } }
            // The cache learns the paths and bytes from a worker's run; later runs are the
            // listener's. So the slow request below could be answered on the listener from
            // start to end, and is handed to a worker only at its password check. (A user
            // with a cheap hash fetches the protected file first.)
            let quick = "GET /slow/f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \(AuthFiles.basic("quick", "pw"))\r\n\r\n"
            for _ in 0..<2 {
                _ = try L.statusAuto(on: status)
                #expect(try files.exchange(L.get("/page.txt")).bodyText == page)
                #expect(try slow.exchange(quick).status == 200)
            }
            // Both workers idle first, so a busy one below can only be the slow request's.
            _ = try Deadline.waitForValue("?auto showing both workers idle", timeout: .seconds(10)) {
                let now = try L.statusAuto(on: status)
                return now.idle == 2 ? now : nil
            }
            try slow.send("GET /slow/f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \(AuthFiles.basic("slow", "pw"))\r\n\r\n")
            let busy = try Deadline.waitForValue("?auto showing a worker busy with the bcrypt check", timeout: .seconds(20), interval: .milliseconds(10)) {
                let now = try L.statusAuto(on: status)
                return now.busy >= 1 ? now : nil
            }
            #expect(busy.workers(2).contains("W"), "\(busy)")
            let cached = try files.exchange(L.get("/page.txt"), timeout: .seconds(10))
            #expect(cached.status == 200 && cached.bodyText == page, "\(cached)")
            let answer = try slow.readResponse(timeout: .seconds(60))
            #expect(answer.status == 200 && answer.bodyText == "behind bcrypt\n", "\(answer)")
        }
    }
}
