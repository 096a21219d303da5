import Foundation
import Testing

/// mod_userdir against Debian's Apache, one virtual host per form of `UserDir` so that
/// one Apache answers them all: several directories tried in order (the last used
/// without a check), `disabled` users, `disabled` with `enabled` users, a redirect, and
/// home directories from the passwd database. Users' directories live under the test's
/// ServerRoot (no system user is touched); `nobody`, `daemon` and an unknown user exercise the
/// passwd lookup.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct UserDirDifferentialTests {
    typealias F = EngineFixture

    static let config = """
        <Directory "@ROOT@/users">
            Require all granted
        </Directory>
        <Directory "@ROOT@/others">
            Require all granted
        </Directory>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName list.test
            UserDir "@ROOT@/users/*/public_html" "@ROOT@/others"
            UserDir disabled bob
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName only.test
            UserDir disabled
            UserDir enabled alice
            UserDir "@ROOT@/users/*/public_html"
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName redirect.test
            UserDir http://users.example.com/~*/
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName home.test
            UserDir public_html
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName none.test
        </VirtualHost>
        """

    static let requests: [(host: String, path: String)] = [
        ("list.test", "/~alice/page.txt"), ("list.test", "/~alice/"), ("list.test", "/~alice"),
        ("list.test", "/~bob/page.txt"), ("list.test", "/~carol/page.txt"), ("list.test", "/~dave/page.txt"),
        ("list.test", "/~/page.txt"), ("list.test", "/~a./page.txt"), ("list.test", "/~alice/../file.txt"),
        ("only.test", "/~alice/page.txt"), ("only.test", "/~bob/page.txt"),
        ("redirect.test", "/~alice/page.txt?q=1"), ("redirect.test", "/~bob"),
        ("home.test", "/~nobody/page.txt"), ("home.test", "/~daemon/"), ("home.test", "/~no-such-user-skep/page.txt"),
        ("none.test", "/~alice/page.txt"),
    ]

    @Test func userDirectoriesAnswerAsApache() throws {
        try withServerPair(mpm: .event, mode: .foreground, skepMode: .singleProcess, setUp: { config in
            let modules = F.commonModules + ["userdir"]
            config.modules = modules
            config.skepModules = modules
            config.extra = Self.config
            try F.populate(config.root)
            try config.root.writeFile("users/alice/public_html/page.txt", "alice's page\n")
            try config.root.writeFile("users/alice/public_html/index.html", "<p>alice</p>\n")
            try config.root.writeFile("users/bob/public_html/page.txt", "bob's page\n")
            try config.root.writeFile("others/carol/page.txt", "carol's page elsewhere\n")
        }) { skep, apache in
            for (host, path) in Self.requests {
                let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\r\n"
                let s = try F.exchange(skep, request), a = try F.exchange(apache, request)
                let detail = "\(host)\(path): skep \(s.status) \(s.header("Location") ?? "") / apache \(a.status) \(a.header("Location") ?? "")"
                #expect(s.status == a.status, "\(detail)")
                let sl = s.header("Location")?.replacingOccurrences(of: ":\(skep.port)", with: ":PORT")
                let al = a.header("Location")?.replacingOccurrences(of: ":\(apache.port)", with: ":PORT")
                #expect(sl == al, "\(detail)")
                if a.status == 200 { #expect(s.body == a.body, "\(detail)") }
            }
            F.expectStillServing(skep, after: "the userdir cases")
        }
    }
}
