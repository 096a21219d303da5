import Foundation
import SkepTestSupport
import Testing

/// mod_remoteip against Apache: the address `%a` logs (and `%h`), the peer `%{c}a` keeps,
/// and what is left of the header, for a series of `X-Forwarded-For` values under an
/// intranet proxy list, a trusted proxy list and no list at all.
@Suite(.tags(.skepBinary), .timeLimit(.minutes(10)))
struct RemoteIPDifferentialTests {
    static let headers: [[String]] = [
        ["203.0.113.7"],
        ["10.1.2.3"],
        ["198.51.100.1, 203.0.113.7"],
        ["garbage"],
        ["203.0.113.7, "],
        ["2001:db8::1"],
        ["::ffff:203.0.113.9"],
        ["198.51.100.2", "203.0.113.8"],
        [],
    ]

    @Test(arguments: ["RemoteIPInternalProxy 127.0.0.1", "RemoteIPTrustedProxy 127.0.0.0/8", "", "RemoteIPInternalProxy 192.0.2.1"])
    func clientAddressAsApache(proxies: String) throws {
        try withServerPair(mpm: .event, setUp: { config in
            config.modules += ["remoteip"]
            config.extra += """
                RemoteIPHeader X-Forwarded-For
                RemoteIPProxiesHeader X-Forwarded-By
                \(proxies)
                LogFormat "%a %{c}a %h \\"%{X-Forwarded-For}i\\" \\"%{X-Forwarded-By}i\\"" remoteip
                CustomLog "@LOGS@/remoteip.log" remoteip
                """
            try config.root.writeDocument("index.html", "ok\n")
        }) { skep, apache in
            for server in [skep, apache] {
                for values in Self.headers {
                    let page = try Curl.get("http://127.0.0.1:\(server.port)/index.html", values.flatMap { ["-H", "X-Forwarded-For: \($0)"] })
                    #expect(page.status == 200)
                }
            }
            func lines(_ server: ServerProcess) throws -> [String] {
                try Deadline.waitForValue("\(Self.headers.count) log lines from \(server.kind)") {
                    let all = server.config.root.read(server.config.root.logs + "/remoteip.log").split(separator: "\n").map(String.init)
                        .filter { !$0.contains("HEAD /") }
                    return all.count >= Self.headers.count ? all : nil
                }
            }
            let s = try lines(skep), a = try lines(apache)
            #expect(s == a, "\(proxies)\nskep:\n\(s.joined(separator: "\n"))\napache:\n\(a.joined(separator: "\n"))")
        }
    }
}
