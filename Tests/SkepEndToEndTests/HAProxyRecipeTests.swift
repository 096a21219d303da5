import Foundation
import Glibc
import SkepTestSupport
import Testing

/// The scale-out recipe (docs/modules/proxy.md, "Several Skep behind HAProxy"): Debian's
/// HAProxy in front of three Skep instances on loopback ports, with health checks,
/// `option forwardfor` read by mod_remoteip, and retries of idempotent requests. Under a
/// steady load, each instance in turn is restarted gracefully, then one is stopped
/// gracefully: no request fails. A killed instance costs at most the requests it held.
@Suite(.tags(.skepBinary), .serialized, .timeLimit(.minutes(10)))
struct HAProxyRecipeTests {
    typealias G = GracefulTestSupport

    static let haproxy = "/usr/sbin/haproxy"

    /// HAProxy's part of the recipe, for the instances on `ports`.
    static func haproxyConfig(front: UInt16, ports: [UInt16], log: String) -> String {
        """
        global
            maxconn 2000
        defaults
            mode http
            timeout connect 2s
            timeout client 30s
            timeout server 30s
            retries 3
            option redispatch
            option forwardfor
        frontend web
            bind 127.0.0.1:\(front)
            default_backend skep
        backend skep
            balance roundrobin
            option httpchk GET /index.html
            retry-on all-retryable-errors
        \(ports.enumerated().map { "    server skep\($0.offset) 127.0.0.1:\($0.element) check inter 500 fall 2 rise 2" }.joined(separator: "\n"))

        """
    }

    static func instanceConfig() throws -> TestConfig {
        var config = try TestConfig(mpm: .event)
        config.modules += ["remoteip"]
        config.extra += """
            RemoteIPHeader X-Forwarded-For
            RemoteIPInternalProxy 127.0.0.1
            LogFormat "%a %{c}a \\"%r\\" %>s" recipe
            CustomLog "@LOGS@/recipe.log" recipe
            StartServers 2
            ServerLimit 4
            ThreadsPerChild 8
            MaxRequestWorkers 32
            """
        try config.root.writeDocument("index.html", "<p>instance</p>\n")
        return config
    }

    @Test func restartsAndStopsBehindHAProxyLoseNoRequest() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.haproxy) else {
            Issue.record("haproxy is not installed (apt-get install haproxy)")
            return
        }
        try withServer(.skep, config: try Self.instanceConfig()) { one in
            try withServer(.skep, config: try Self.instanceConfig()) { two in
                try withServer(.skep, config: try Self.instanceConfig()) { three in
                    let instances = [one, two, three]
                    let front = try FreePort.next()
                    let directory = try TemporaryDirectory(prefix: "skep-haproxy")
                    defer { directory.remove() }
                    let configPath = directory.path + "/haproxy.cfg"
                    try Self.haproxyConfig(front: front, ports: instances.map(\.port), log: directory.path + "/log")
                        .write(toFile: configPath, atomically: true, encoding: .utf8)
                    let balancer = try MPMTestSupport.Background(Self.haproxy, ["-db", "-f", configPath])
                    // Every instance answers through HAProxy before the load starts.
                    try Deadline.wait(for: "HAProxy to answer from all three instances", timeout: .seconds(20), interval: .milliseconds(200)) {
                        for _ in 0..<6 { _ = try? Curl.get("http://127.0.0.1:\(front)/index.html") }
                        return instances.allSatisfy { $0.config.root.read($0.config.root.logs + "/recipe.log").contains("GET /index.html") }
                    }
                    // mod_remoteip sees the client behind HAProxy's X-Forwarded-For.
                    _ = try Curl.get("http://127.0.0.1:\(front)/index.html", ["-H", "X-Forwarded-For: 203.0.113.5"])
                    try Deadline.wait(for: "the forwarded client in an instance's log") {
                        instances.contains { $0.config.root.read($0.config.root.logs + "/recipe.log").contains("203.0.113.5 127.0.0.1 \"GET /index.html") }
                    }

                    // A rolling graceful restart: each instance in turn, under load.
                    var next = 0
                    let restarts = try G.wrk(["-t2", "-c16", "-d7s"], port: front, every: .seconds(2)) {
                        guard next < instances.count else { return }
                        instances[next].signal(SIGUSR1)
                        next += 1
                    }
                    #expect(next == 3, "three restarts during the load")
                    #expect(restarts.requests > 0 && restarts.socketErrors == 0 && restarts.non2xx == 0, "rolling restart:\n\(restarts)")

                    // A graceful stop of one instance under load: HAProxy moves on.
                    var stopped = false
                    let stop = try G.wrk(["-t2", "-c16", "-d5s"], port: front, every: .seconds(2)) {
                        guard !stopped else { return }
                        three.signal(SIGWINCH)
                        stopped = true
                    }
                    #expect(stopped && stop.requests > 0 && stop.socketErrors == 0 && stop.non2xx == 0, "graceful stop:\n\(stop)")
                    _ = try? three.waitForExit(timeout: .seconds(15))

                    // A killed instance: at most the requests it held at that moment fail.
                    var killed = false
                    let kill = try G.wrk(["-t2", "-c16", "-d5s"], port: front, every: .seconds(2)) {
                        guard !killed else { return }
                        for pid in two.descendants() + [two.pid] { Glibc.kill(pid, SIGKILL) }
                        killed = true
                    }
                    #expect(killed && kill.requests > 0 && kill.socketErrors + kill.non2xx <= 16, "kill:\n\(kill)")
                    _ = balancer
                }
            }
        }
    }
}
