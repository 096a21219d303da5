import Foundation
import Glibc
import Testing

extension MPMEndToEnd {
    /// Prefork's spare-server maintenance (Apache's `perform_idle_server_maintenance`):
    /// grow under load up to MaxRequestWorkers, retire one idle child a second, replace a
    /// child that reached MaxConnectionsPerChild.
    @Suite struct PreforkTests {
        typealias S = MPMTestSupport

        @Test func aBurstGrowsTheChildrenAndIdleOnesAreRetiredOneASecond() throws {
            let config = try S.config(.prefork, """
                StartServers 2
                MinSpareServers 2
                MaxSpareServers 4
                MaxRequestWorkers 8
                ServerLimit 8
                """)
            try withServer(.skep, config: config) { server in
                try Deadline.wait(for: "2 children", timeout: .seconds(10)) { server.children().count == 2 }
                // Six connections that each hold a child; the master forks more.
                var held: [RawHTTPClient] = []
                defer { held.forEach { $0.close() } }
                for _ in 0..<6 { held.append(try S.holdWorker(port: server.port)) }
                var most = 0
                try Deadline.wait(for: "the children to grow to 8 (have \(server.children().count))", timeout: .seconds(10),
                                  interval: .milliseconds(50)) {
                    let count = server.children().count
                    most = max(most, count)
                    return count >= 8
                }
                // Watch a little longer: never above MaxRequestWorkers (a measured
                // observation window, sampled every 50 ms, not a wait for an event).
                let watch = Deadline(after: .milliseconds(1500))
                while !watch.hasPassed {
                    most = max(most, server.children().count)
                    Deadline.sleep(for: .milliseconds(50))
                }
                #expect(most <= 8, "\(most) children for MaxRequestWorkers 8")
                // Every held connection is served once completed.
                for client in held {
                    let response = try S.finish(client)
                    #expect(response.status == 200)
                }
                held.forEach { $0.close() }
                // Now 8 idle children, MaxSpareServers 4: one retired a second.
                var counts: [(ContinuousClock.Instant, Int)] = [(.now, server.children().count)]
                try Deadline.wait(for: "idle children retired down to 4 (have \(server.children().count))",
                                  timeout: .seconds(12), interval: .milliseconds(50)) {
                    let count = server.children().count
                    if count != counts.last!.1 { counts.append((.now, count)) }
                    return count <= 4
                }
                let drops = counts.dropFirst()
                #expect(drops.allSatisfy { $0.1 >= 4 }, "retired below MaxSpareServers: \(counts.map(\.1))")
                // Four retirements at one a second take three seconds at least (noisy machine: 2.5).
                if let first = drops.first, let last = drops.last {
                    #expect(last.0 - first.0 >= .milliseconds(2500),
                            "4 retirements within \(last.0 - first.0): \(counts.map(\.1))")
                }
                #expect(drops.count >= 3, "children went \(counts.map(\.1)) instead of one at a time")
                // And it stays there: a fixed observation window is the point (at one
                // retirement a second, 2.5 s would show another).
                Deadline.sleep(for: .milliseconds(2500))
                #expect(server.children().count == 4)
                #expect(try S.get(port: server.port) == 200)
            }
        }

        @Test func reachingMaxRequestWorkersIsLoggedOnceAndTheExtraConnectionWaits() throws {
            let config = try S.config(.prefork, """
                StartServers 2
                MinSpareServers 2
                MaxSpareServers 4
                MaxRequestWorkers 4
                ServerLimit 4
                """)
            try withServer(.skep, config: config) { server in
                var held: [RawHTTPClient] = []
                defer { held.forEach { $0.close() } }
                for _ in 0..<5 { held.append(try S.holdWorker(port: server.port)) }
                try Deadline.wait(for: "AH00161 in the error log", timeout: .seconds(10)) {
                    server.errorLog().contains("AH00161: server reached MaxRequestWorkers setting")
                }
                // A measured observation window: for 3 s, sampled every 50 ms, the master
                // forks no child above MaxRequestWorkers while a connection waits.
                let watch = Deadline(after: .seconds(3))
                var most = 0
                while !watch.hasPassed {
                    most = max(most, server.children().count)
                    Deadline.sleep(for: .milliseconds(50))
                }
                #expect(most <= 4, "\(most) children for MaxRequestWorkers 4")
                let log = server.errorLog()
                #expect(log.components(separatedBy: "AH00161").count - 1 == 1, "AH00161 logged more than once:\n\(log)")
                // All five are served: the fifth waited in the backlog.
                for client in held {
                    let response = try S.finish(client)
                    #expect(response.status == 200)
                }
            }
        }

        @Test func aChildExitsAfterMaxConnectionsPerChildAndIsReplaced() throws {
            let config = try S.config(.prefork, """
                StartServers 1
                MinSpareServers 1
                MaxSpareServers 2
                MaxRequestWorkers 1
                ServerLimit 1
                MaxConnectionsPerChild 3
                """)
            try withServer(.skep, config: config) { server in
                // The readiness probe was this child's first connection.
                var seen: [pid_t] = []
                for request in 1...7 {
                    #expect(try S.get(port: server.port) == 200, "request \(request)")
                    let pid = try Deadline.waitForValue("one child after request \(request)", timeout: .seconds(5)) {
                        () -> pid_t? in
                        let children = server.children()
                        return children.count == 1 ? children[0] : nil
                    }
                    if seen.last != pid { seen.append(pid) }
                }
                // 8 connections, 3 per child: three children, one after another.
                #expect(seen.count == 3, "children seen in turn: \(seen)")
                #expect(!server.errorLog().contains("AH00052"), "\(server.errorLog())")
            }
        }
    }
}
