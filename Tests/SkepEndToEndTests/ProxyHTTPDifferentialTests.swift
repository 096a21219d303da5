import Foundation
import Testing

/// mod_proxy_http against Apache with the same config and the same back end (a Python
/// echo server): what the back end receives (method, path and query, `Host`, the
/// `X-Forwarded-*` fields, the body), what the client gets back (status, the back end's
/// fields and body through each framing, `Location` mapped by `ProxyPassReverse`), and
/// the faults (back end down 503; a malformed head, or no answer within `ProxyTimeout`,
/// 502: Apache answers a timeout on the status line with 502, not 504).
@Suite(.tags(.skepBinary), .timeLimit(.minutes(10)))
struct ProxyHTTPDifferentialTests {
    static func setUp(_ config: inout TestConfig, backend: UInt16, down: UInt16) {
        config.modules += ["proxy", "proxy_http"]
        config.extra += """
            ProxyPass /app/ http://127.0.0.1:\(backend)/
            ProxyPassReverse /app/ http://127.0.0.1:\(backend)/
            ProxyPass /down/ http://127.0.0.1:\(down)/
            ProxyTimeout 2
            <Location /preserve/>
                ProxyPreserveHost On
            </Location>
            ProxyPass /preserve/ http://127.0.0.1:\(backend)/
            <Location /located/>
                ProxyPass http://127.0.0.1:\(backend)/
                ProxyPassReverse http://127.0.0.1:\(backend)/
            </Location>
            """
    }

    /// What the echo back end saw, with each server's own port written as PORT.
    static func seen(_ body: String, port: UInt16) -> [String: String] {
        guard let data = body.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let headers = object["headers"] as? [String: String] else { return ["unparsed": body] }
        var out: [String: String] = ["method": object["method"] as? String ?? "", "path": object["path"] as? String ?? "",
                                     "body": object["body"] as? String ?? ""]
        for name in ["host", "x-forwarded-for", "x-forwarded-host", "x-forwarded-server", "content-length", "content-type", "user-agent", "x-custom"] {
            out[name] = headers[name]?.replacingOccurrences(of: String(port), with: "PORT")
        }
        return out
    }

    @Test func forwardsAndRelaysAsApache() throws {
        let backend = try EchoHTTPBackend()
        defer { backend.stop() }
        let down = try FreePort.next()
        try withServerPair(mpm: .event, setUp: { Self.setUp(&$0, backend: backend.port, down: down) }) { skep, apache in
            let requests: [(String, [String])] = [
                ("/app/a/b?q=1&r=%20", ["-H", "X-Custom: one", "-H", "X-Forwarded-For: 10.0.0.1"]),
                ("/app/post", ["--data-binary", "hello=1&x=2"]),
                ("/app/chunked", []),
                ("/app/close", []),
                ("/preserve/p", ["-H", "Host: example.test"]),
                ("/app/put", ["-X", "PUT", "--data-binary", "body"]),
                ("/located/x?y=2", []),
            ]
            for (path, extra) in requests {
                let s = try Curl.get("http://127.0.0.1:\(skep.port)\(path)", extra)
                let a = try Curl.get("http://127.0.0.1:\(apache.port)\(path)", extra)
                #expect(s.status == a.status && s.status == 200, "\(path): skep \(s.status ?? 0), apache \(a.status ?? 0)")
                #expect(Self.seen(s.bodyText, port: skep.port) == Self.seen(a.bodyText, port: apache.port),
                        "\(path):\nskep   \(Self.seen(s.bodyText, port: skep.port))\napache \(Self.seen(a.bodyText, port: apache.port))")
                #expect(s.header("Content-Type") == a.header("Content-Type") && s.header("Server") == a.header("Server"),
                        "\(path): skep \(s.headers) apache \(a.headers)")
            }
            // The back end's redirect, mapped back under /app/ on each server.
            let sr = try Curl.get("http://127.0.0.1:\(skep.port)/app/redirect"), ar = try Curl.get("http://127.0.0.1:\(apache.port)/app/redirect")
            #expect(sr.status == 302 && ar.status == 302)
            #expect(sr.header("Location")?.replacingOccurrences(of: String(skep.port), with: "PORT")
                    == ar.header("Location")?.replacingOccurrences(of: String(apache.port), with: "PORT"),
                    "skep \(sr.header("Location") ?? "-") apache \(ar.header("Location") ?? "-")")
            // The same through <Location>'s one-argument forms.
            let sl = try Curl.get("http://127.0.0.1:\(skep.port)/located/redirect"), al = try Curl.get("http://127.0.0.1:\(apache.port)/located/redirect")
            // (The server's `ProxyPassReverse /app/` comes first in both: Apache merges the
            // server's mappings before the section's.)
            #expect(sl.status == 302)
            #expect(sl.status == al.status && sl.header("Location")?.replacingOccurrences(of: String(skep.port), with: "PORT")
                    == al.header("Location")?.replacingOccurrences(of: String(apache.port), with: "PORT"),
                    "skep \(sl.status ?? 0) \(sl.header("Location") ?? "-") apache \(al.status ?? 0) \(al.header("Location") ?? "-")")
            // HEAD: the back end's length, no body.
            let sh = try Curl.get("http://127.0.0.1:\(skep.port)/app/head", ["-I"]), ah = try Curl.get("http://127.0.0.1:\(apache.port)/app/head", ["-I"])
            #expect(sh.status == 200 && ah.status == 200 && sh.header("Content-Length") == ah.header("Content-Length"), "skep \(sh.headers) apache \(ah.headers)")
            // Faults.
            for (path, status) in [("/down/x", 503), ("/app/malformed", 502), ("/app/slow", 502)] {
                let s = try Curl.get("http://127.0.0.1:\(skep.port)\(path)"), a = try Curl.get("http://127.0.0.1:\(apache.port)\(path)")
                #expect(s.status == a.status && s.status == status, "\(path): skep \(s.status ?? 0), apache \(a.status ?? 0)")
            }
            // A back end that closes in the middle of its body: the client's connection ends
            // without the announced bytes, so curl reports a cut-short transfer (18) from both.
            let st = try Curl.get("http://127.0.0.1:\(skep.port)/app/truncated"), at = try Curl.get("http://127.0.0.1:\(apache.port)/app/truncated")
            #expect(st.exitCode == at.exitCode && st.exitCode == 18, "skep curl \(st.exitCode) \(st.stderr), apache curl \(at.exitCode) \(at.stderr)")
            #expect(!skep.errorLog().contains("AH00052"), "a child died")
        }
    }

    /// Keep-alive to the back end: many requests from one client reuse few back-end
    /// connections (the pool), and every answer is whole.
    @Test func reusesBackEndConnections() throws {
        let backend = try EchoHTTPBackend()
        defer { backend.stop() }
        var config = try TestConfig(mpm: .event)
        Self.setUp(&config, backend: backend.port, down: try FreePort.next())
        try withServer(.skep, config: config) { skep in
            let url = "http://127.0.0.1:\(skep.port)/app/k"
            let result = try Subprocess.run(Curl.path, ["-sS", "-w", "%{http_code}\n"] + Array(repeating: ["-o", "/dev/null", url], count: 20).flatMap { $0 }, timeout: .seconds(60))
            #expect(result.stdout.split(separator: "\n").allSatisfy { $0 == "200" } && result.stdout.split(separator: "\n").count == 20, "\(result.stdout)")
            let established = try Subprocess.run("/usr/bin/ss", ["-Htn", "state", "established", "dst", "127.0.0.1:\(backend.port)"]).stdout
            let count = established.split(separator: "\n").count
            #expect(count >= 1 && count <= 4, "back-end connections kept after 20 requests: \(count)\n\(established)")
        }
    }
}
