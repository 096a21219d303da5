import Foundation
import Glibc
import Testing

extension MPMEndToEnd {
    /// No stop loses a request (issue 15): when a child stops (a graceful restart, a
    /// graceful stop, MaxConnectionsPerChild reached) or the event listener sheds idle
    /// keep-alive connections, a request in flight finishes, and an idle keep-alive
    /// connection whose next request comes within `KeepAliveGrace` (default 2 s) gets it
    /// answered with `Connection: close` instead of a connection closed under it.
    /// `KeepAliveGrace 0` is Apache's behaviour: such a connection is closed at once.
    @Suite struct GracefulStopTests {
        typealias S = MPMTestSupport
        typealias E = EmbeddingTestSupport
        typealias G = GracefulTestSupport

        /// What makes the child stop while a slow request runs.
        enum Trigger: String, Sendable, CustomStringConvertible {
            /// A second client's connection: the child reaches `MaxConnectionsPerChild 3`
            /// (the harness's readiness probe was its first connection, the slow client's
            /// its second).
            case maxConnectionsPerChild
            /// `kill -USR1` to the master.
            case gracefulRestart
            /// `kill -WINCH` to the master.
            case gracefulStop
            /// Extra idle keep-alive connections past `IdleConnectionsPerChild 2` (event).
            case shedding
            var description: String { rawValue }
        }

        /// One child: 4 threads (worker, event), or one process with room for more (prefork).
        static func oneChild(_ mpm: MPM) -> String {
            let common = "KeepAliveTimeout 30\nMaxKeepAliveRequests 0\n"
            switch mpm {
            case .prefork:
                return common + "StartServers 1\nMinSpareServers 1\nMaxSpareServers 3\nServerLimit 4\nMaxRequestWorkers 4"
            case .worker, .event:
                return common + "StartServers 1\nServerLimit 2\nThreadsPerChild 4\nMaxRequestWorkers 8\n"
                    + "MinSpareThreads 1\nMaxSpareThreads 8"
            }
        }

        static let slowCases: [(MPM, Trigger)] = [MPM.event, .worker, .prefork].flatMap { mpm in
            [Trigger.maxConnectionsPerChild, .gracefulRestart, .gracefulStop].map { (mpm, $0) }
        } + [(.event, .shedding)]

        /// A client sends a quick request, then a 1.5 s one on the same keep-alive
        /// connection; while the slow one runs, its child is made to stop. The slow
        /// response arrives whole, and the server keeps serving.
        @Test(arguments: slowCases)
        func aSlowRequestOnAKeepAliveConnectionFinishesWhenItsChildStops(_ mpm: MPM, _ trigger: Trigger) throws {
            let limits = switch trigger {
            case .maxConnectionsPerChild: "MaxConnectionsPerChild 3"
            case .shedding: "IdleConnectionsPerChild 2"
            case .gracefulRestart, .gracefulStop: "MaxConnectionsPerChild 0"
            }
            let config = try E.config(mpm, Self.oneChild(mpm) + "\n" + limits, handlers: ["slow"])
            let markers = try config.root.makeDirectory("markers")
            chmod(markers, 0o777)
            let marker = markers + "/slow-started"
            try withServer(.testApp, config: config) { server in
                let first = try RawHTTPClient(port: server.port, timeout: .seconds(15))
                defer { first.close() }
                let quick = try first.exchange("GET /slow?1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(quick.status == 200 && quick.header("Connection")?.lowercased() != "close",
                        "\(mpm), \(trigger): the quick request (before any stop): expected 200 on a kept connection, got \(quick)")
                guard quick.header("Connection")?.lowercased() != "close" else { return }
                try first.send("GET /slow?1500 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Marker: \(marker)\r\n\r\n")
                try G.waitForFile(marker, what: "the slow request to reach its handler")

                var others: [RawHTTPClient] = []
                defer { others.forEach { $0.close() } }
                var otherStatuses: [Int] = []
                switch trigger {
                case .maxConnectionsPerChild:
                    let second = try RawHTTPClient(port: server.port, timeout: .seconds(15))
                    others.append(second)
                    otherStatuses.append(try second.exchange("GET /slow?1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").status)
                case .gracefulRestart:
                    server.signal(SIGUSR1)
                case .gracefulStop:
                    server.signal(SIGWINCH)
                case .shedding:
                    // Four idle keep-alive connections against a cap of two: the oldest are
                    // shed while the slow request runs. Each one's next request, sent at
                    // once, is answered (with `Connection: close` if it was shed).
                    for _ in 0..<4 {
                        let idle = try RawHTTPClient(port: server.port, timeout: .seconds(15))
                        others.append(idle)
                        otherStatuses.append(try idle.exchange("GET /slow?1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").status)
                    }
                    for (index, idle) in others.enumerated() {
                        do {
                            try idle.send("GET /slow?1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                            let response = try idle.readResponseOrClose(timeout: .seconds(10))
                            otherStatuses.append(response?.status ?? -1)
                        } catch {
                            Issue.record("idle connection \(index + 1)'s second request was lost: \(error)")
                            otherStatuses.append(-1)
                        }
                    }
                }

                let slow: HTTPResponse
                do {
                    slow = try first.readResponse(timeout: .seconds(10))
                } catch {
                    Issue.record("\(mpm), \(trigger): the slow request in flight was lost (expected a complete 200): \(error)\n\(server.diagnostics())")
                    return
                }
                #expect(slow.status == 200 && slow.bodyText.hasPrefix("slept pid="),
                        "\(mpm), \(trigger): the slow request: expected a complete 200 'slept pid=...', got \(slow)")
                #expect(otherStatuses.allSatisfy { $0 == 200 },
                        "\(mpm), \(trigger): the other clients' requests: expected all 200, got \(otherStatuses) (-1: no answer)")
                if trigger == .shedding {
                    let rows = try EventTestSupport.childTable(port: server.port)
                    #expect(rows.map(\.shed).reduce(0, +) >= 1,
                            "event, shedding: expected the listener to have shed keep-alive connections (IdleConnectionsPerChild 2, 4 idle); none counted: \(rows)")
                }
                if trigger != .gracefulStop {
                    #expect(try S.get(port: server.port, "/slow?1") == 200, "\(mpm), \(trigger): a fresh request after the stop")
                }
            }
        }

        /// Right after a graceful restart, an idle keep-alive connection's next request
        /// (sent promptly, well within the 2 s default grace) is answered 200 with
        /// `Connection: close`, not met with a closed connection.
        @Test(arguments: [MPM.event, .worker, .prefork])
        func afterAGracefulRestartAnIdleKeepAliveConnectionsNextRequestGetsConnectionClose(_ mpm: MPM) throws {
            let config = try S.config(mpm, Self.oneChild(mpm))
            try withServer(.skep, config: config) { server in
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                defer { client.close() }
                let first = try client.exchange("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(first.status == 200 && first.header("Connection")?.lowercased() != "close", "\(first)")
                server.signal(SIGUSR1)
                let outcome = G.requestUntilClose(client)
                guard case .answeredWithClose(let response, _) = outcome else {
                    Issue.record("\(mpm): after a graceful restart, expected the idle keep-alive connection's next request answered 200 with Connection: close (KeepAliveGrace 2 s); it was \(outcome)\n\(server.diagnostics())")
                    return
                }
                #expect(response.status == 200, "\(mpm): \(response)")
                #expect(client.serverClosed(within: .seconds(5)), "\(mpm): the connection stayed open after Connection: close")
            }
        }

        /// `KeepAliveGrace 0` keeps Apache's behaviour: at a graceful restart an idle
        /// keep-alive connection is closed at once (long before KeepAliveTimeout 30).
        @Test(arguments: [MPM.event, .worker, .prefork])
        func withKeepAliveGraceZeroAGracefulRestartClosesAnIdleKeepAliveConnection(_ mpm: MPM) throws {
            let config = try S.config(mpm, Self.oneChild(mpm) + "\nKeepAliveGrace 0")
            try withServer(.skep, config: config) { server in
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                defer { client.close() }
                let first = try client.exchange("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(first.status == 200 && first.header("Connection")?.lowercased() != "close", "\(first)")
                server.signal(SIGUSR1)
                #expect(client.serverClosed(within: .seconds(5)),
                        "\(mpm): with KeepAliveGrace 0, expected the idle keep-alive connection closed at the graceful restart; still open 5 s after it")
            }
        }

        /// An idle keep-alive connection that sends nothing is closed once the grace
        /// (`KeepAliveGrace 1500ms`) has run out: not at the restart, and not only at
        /// KeepAliveTimeout 30.
        @Test(arguments: [MPM.event, .worker, .prefork])
        func anIdleKeepAliveConnectionIsClosedWhenTheGraceRunsOut(_ mpm: MPM) throws {
            let config = try S.config(mpm, Self.oneChild(mpm) + "\nKeepAliveGrace 1500ms")
            try withServer(.skep, config: config) { server in
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                defer { client.close() }
                let first = try client.exchange("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(first.status == 200 && first.header("Connection")?.lowercased() != "close", "\(first)")
                server.signal(SIGUSR1)
                // Closing sooner than the grace is wrong however busy the machine is.
                #expect(!client.serverClosed(within: .milliseconds(500)),
                        "\(mpm): the idle keep-alive connection was closed within 0.5 s of the graceful restart; expected it kept for KeepAliveGrace 1500ms")
                #expect(client.serverClosed(within: .seconds(10)),
                        "\(mpm): the idle keep-alive connection was still open 10.5 s after the graceful restart; expected it closed once KeepAliveGrace 1500ms ran out (KeepAliveTimeout is 30)")
            }
        }

        /// What the zero-loss load runs under.
        enum Churn: String, Sendable, CustomStringConvertible {
            /// A graceful restart (USR1) every 0.5 s.
            case restartEveryHalfSecond
            /// `MaxConnectionsPerChild 20` (wrk reconnects every 100 requests,
            /// MaxKeepAliveRequests' default, so children keep reaching it).
            case maxConnectionsPerChild20
            var description: String { rawValue }
        }

        static let churnCases: [(MPM, Churn)] = [MPM.event, .worker, .prefork].flatMap { mpm in
            [Churn.restartEveryHalfSecond, .maxConnectionsPerChild20].map { (mpm, $0) }
        }

        /// `wrk -t2 -c8 -d3s` keep-alive on a small file while children keep stopping:
        /// no socket error (a connection closed under a request in flight is a read
        /// error), no timeout, no non-2xx.
        @Test(.enabled(if: MPMTestSupport.wrk != nil, "needs wrk"), arguments: churnCases)
        func aKeepAliveLoadLosesNoRequestWhileChildrenStop(_ mpm: MPM, _ churn: Churn) throws {
            let sizing = mpm == .prefork
                ? "StartServers 4\nMinSpareServers 2\nMaxSpareServers 8\nServerLimit 16\nMaxRequestWorkers 16"
                : "StartServers 2\nServerLimit 8\nThreadsPerChild 4\nMaxRequestWorkers 16\nMinSpareThreads 2\nMaxSpareThreads 12"
            let config = try S.config(mpm, sizing + (churn == .maxConnectionsPerChild20 ? "\nMaxConnectionsPerChild 20" : ""))
            try withServer(.skep, config: config) { server in
                var restarts = 0
                let summary = try G.wrk(["-t2", "-c8", "-d3s", "--timeout", "2s"], port: server.port) {
                    guard churn == .restartEveryHalfSecond else { return }
                    server.signal(SIGUSR1)
                    restarts += 1
                }
                #expect(summary.socketErrors == 0 && summary.non2xx == 0,
                        "\(mpm), \(churn) (\(restarts) restarts): expected 0 socket errors and 0 non-2xx, wrk saw connect \(summary.connectErrors), read \(summary.readErrors), write \(summary.writeErrors), timeout \(summary.timeouts), non-2xx \(summary.non2xx) in \(summary.requests) requests\n\(summary)")
                #expect(server.isRunning, "\(mpm), \(churn): the master exited\n\(server.diagnostics())")
            }
        }
    }
}
