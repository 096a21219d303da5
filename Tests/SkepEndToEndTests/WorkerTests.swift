import Foundation
import Glibc
import Testing

extension MPMEndToEnd {
    /// The worker MPM: threads per child, the idle-thread band, the MaxRequestWorkers
    /// ceiling, and the scoreboard as `server-status?auto` shows it.
    @Suite struct WorkerTests {
        typealias S = MPMTestSupport

        static let directives = """
            StartServers 2
            ServerLimit 3
            ThreadsPerChild 4
            MaxRequestWorkers 12
            MinSpareThreads 2
            MaxSpareThreads 8
            """

        /// Waits until every worker of every child has started (the scoreboard shows no
        /// `S`) and BusyWorkers + IdleWorkers covers the children's threads.
        func settled(_ server: ServerProcess, children: Int) throws -> [String: String] {
            try Deadline.waitForValue("\(children) children with all their workers ready", timeout: .seconds(10),
                                      interval: .milliseconds(100)) {
                guard server.children().count == children else { return nil }
                let status = try S.statusAuto(port: server.port)
                let busy = Int(status["BusyWorkers"] ?? "") ?? -1
                let idle = Int(status["IdleWorkers"] ?? "") ?? -1
                return busy + idle == children * 4 && server.children().count == children ? status : nil
            }
        }

        @Test func eachChildHasThreadsPerChildWorkersAListenerAndItsMainThread() throws {
            let config = try S.config(.worker, Self.directives)
            try withServer(.skep, config: config) { server in
                try Deadline.wait(for: "2 children with 6 threads each", timeout: .seconds(10)) {
                    let children = server.children()
                    return children.count == 2 && children.allSatisfy { server.threads(of: $0) == 6 }
                }
                // The master is single-threaded (DESIGN.md section 6).
                #expect(server.threads(of: server.pid) == 1)
                // Still so after serving a few requests.
                for _ in 0..<5 { #expect(try S.get(port: server.port) == 200) }
                for child in server.children() { #expect(server.threads(of: child) == 6, "child \(child)") }
            }
        }

        @Test func statusCountsMatchTheChildrenAndThreadsPerChild() throws {
            let config = try S.config(.worker, Self.directives)
            try withServer(.skep, config: config) { server in
                let status = try settled(server, children: 2)
                #expect(status["ServerMPM"] == "worker")
                // The status request itself is one busy worker.
                #expect(status["BusyWorkers"] == "1", "\(status)")
                #expect(status["IdleWorkers"] == "7", "\(status)")
                #expect(status["GracefulWorkers"] == "0", "\(status)")
                // As Apache's worker MPM, no per-process lines (those are the event MPM's).
                #expect(status["Processes"] == nil)
                let board = status["Scoreboard"] ?? ""
                // The rule of ScoreboardSnapshot.statusLine: MaxRequestWorkers/ThreadsPerChild
                // children x ThreadsPerChild characters, plus live workers beyond them.
                #expect(board.count == 12, "Scoreboard: \(board)")
                #expect(board.filter { $0 == "_" }.count == 7, "Scoreboard: \(board)")
                #expect(board.filter { $0 == "W" }.count == 1, "Scoreboard: \(board)")
                #expect(board.filter { $0 == "." }.count == 4, "Scoreboard: \(board)")

                // After a graceful restart: a new generation of 2 children, all counted.
                #expect(try server.control("graceful").succeeded)
                try Deadline.wait(for: "the old generation to leave", timeout: .seconds(10)) {
                    let s = try S.statusAuto(port: server.port)
                    return s["ParentServerMPMGeneration"] == "1" && server.children().count == 2
                }
                let after = try settled(server, children: 2)
                let line = after["Scoreboard"] ?? ""
                #expect(line.count % 4 == 0 && line.count >= 12, "Scoreboard: \(line)")
                // Slots past MaxRequestWorkers/ThreadsPerChild appear only while they hold a live child.
                let beyond = Array(line.dropFirst(12))
                for block in stride(from: 0, to: beyond.count, by: 4) {
                    #expect(beyond[block..<block + 4].contains { $0 != "." }, "a dead slot beyond the limit is shown: \(line)")
                }
                #expect(line.filter { $0 == "_" || $0 == "W" }.count == 8, "Scoreboard: \(line)")
            }
        }

        @Test func idleThreadsReturnToTheSpareBandAfterABurst() throws {
            let config = try S.config(.worker, """
                StartServers 1
                ServerLimit 4
                ThreadsPerChild 4
                MaxRequestWorkers 16
                MinSpareThreads 2
                MaxSpareThreads 8
                """)
            try withServer(.skep, config: config) { server in
                var held: [RawHTTPClient] = []
                defer { held.forEach { $0.close() } }
                for _ in 0..<10 { held.append(try S.holdWorker(port: server.port)) }
                // A generous deadline: the ThreadSanitizer step runs this against a build
                // whose children take seconds to start on a loaded machine.
                try Deadline.wait(for: "the children to grow to 3 or more (have \(server.children().count))", timeout: .seconds(30)) {
                    server.children().count >= 3
                }
                for client in held { #expect(try S.finish(client).status == 200) }
                held.forEach { $0.close() }
                // Idle threads above MaxSpareThreads: children are retired until the band holds.
                var last: [String: String] = [:]
                try Deadline.wait(for: "IdleWorkers between 2 and 8 (last: \(last["IdleWorkers"] ?? "?"), \(last["Scoreboard"] ?? ""))",
                                  timeout: .seconds(30), interval: .milliseconds(200)) {
                    last = try S.statusAuto(port: server.port)
                    let idle = Int(last["IdleWorkers"] ?? "") ?? -1
                    return (2...8).contains(idle)
                }
                #expect(server.children().count <= 3)
                #expect(server.children().count >= 1)
            }
        }

        @Test func moreConnectionsThanMaxRequestWorkersWaitAndAreAllServed() throws {
            let config = try S.config(.worker, """
                StartServers 2
                ServerLimit 2
                ThreadsPerChild 4
                MaxRequestWorkers 8
                MinSpareThreads 2
                MaxSpareThreads 7
                """)
            try withServer(.skep, config: config) { server in
                try Deadline.wait(for: "2 children", timeout: .seconds(10)) { server.children().count == 2 }
                var held: [RawHTTPClient] = []
                defer { held.forEach { $0.close() } }
                // 12 connections for 8 workers: all connect (the backlog takes the rest).
                for _ in 0..<12 { held.append(try S.holdWorker(port: server.port)) }
                // A measured observation window, not a wait for an event: for 3 s, sampled
                // every 50 ms, the children and their threads never pass the limits.
                let watch = Deadline(after: .seconds(3))
                var most = 0
                var mostThreads = 0
                while !watch.hasPassed {
                    let children = server.children()
                    most = max(most, children.count)
                    mostThreads = max(mostThreads, children.compactMap { server.threads(of: $0) }.max() ?? 0)
                    Deadline.sleep(for: .milliseconds(50))
                }
                #expect(most <= 2, "\(most) children for MaxRequestWorkers 8 / ThreadsPerChild 4")
                #expect(mostThreads <= 6)
                // Finish them in order: the first 8 are served now, the last 4 after them.
                var statuses: [Int] = []
                for client in held {
                    do { statuses.append(try S.finish(client, timeout: .seconds(20)).status) }
                    catch { statuses.append(-1); Issue.record("a waiting connection failed: \(error)") }
                }
                #expect(statuses == Array(repeating: 200, count: 12), "\(statuses)")
            }
        }

        @Test(.enabled(if: MPMTestSupport.wrk != nil, "needs wrk"), arguments: [MPM.worker, .prefork])
        func gracefulRestartsUnderLoadLoseNoRequest(mpm: MPM) throws {
            let config = try S.config(mpm, mpm == .worker ? """
                StartServers 2
                ServerLimit 4
                ThreadsPerChild 4
                MaxRequestWorkers 16
                MinSpareThreads 2
                MaxSpareThreads 12
                """ : """
                StartServers 4
                MinSpareServers 2
                MaxSpareServers 6
                MaxRequestWorkers 10
                ServerLimit 10
                """)
            try withServer(.skep, config: config) { server in
                let summary = try S.twoGracefulRestartsUnderLoad(server)
                #expect(summary.requests > 0, "\(summary)")
                // Apache (worker, same load, two USR1): no socket error. Skep's old children
                // close connections they accepted before the first request was read.
                #expect(summary.socketErrors == 0, "\(summary)")
                #expect(summary.connectErrors == 0, "\(summary)")
                #expect(summary.non2xx == 0, "\(summary)")
                #expect(try S.statusAuto(port: server.port)["ParentServerMPMGeneration"] == "2")
            }
        }
    }
}
