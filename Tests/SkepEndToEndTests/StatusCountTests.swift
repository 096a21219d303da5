import Foundation
import Glibc
import Testing

extension MPMEndToEnd {
    /// `Total Accesses` in `?auto` counts every request exactly once, as Apache's does: the
    /// same traffic moves Skep's and Apache's counters by the same amount, under each MPM.
    @Suite(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    struct StatusCountTests {
        typealias S = MPMTestSupport

        static let sizing: [MPM: String] = [
            .prefork: "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\nMaxRequestWorkers 4\nServerLimit 4",
            .worker: "StartServers 1\nServerLimit 2\nThreadsPerChild 4\nMaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 8",
            .event: "StartServers 1\nServerLimit 2\nThreadsPerChild 4\nMaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 8",
        ]

        /// Requests on fresh connections, on one keep-alive connection, and answered with
        /// errors; then `?auto` until the counter has taken them all in (the count moves
        /// at the log phase, after the response is on the wire).
        func accessesCounted(_ kind: ServerKind, _ mpm: MPM) throws -> (counted: Int, made: Int, polls: Int) {
            let config = try S.config(mpm, Self.sizing[mpm]!)
            return try withServer(kind, config: config) { server in
                // A request the server took before (a readiness probe that timed out on the
                // client's side under load and was answered later) may be counted a moment
                // after: start from a count that moved by exactly the one poll between two
                // reads 200 ms apart.
                func total() throws -> Int { Int(try S.statusAuto(port: server.port)["Total Accesses"] ?? "") ?? -1 }
                var previous: Int?
                var before = -1
                try Deadline.wait(for: "Total Accesses to settle (\(previous ?? -1), \(before))", timeout: .seconds(10), interval: .milliseconds(200)) {
                    before = try total()
                    defer { previous = before }
                    return previous.map { before - $0 == 1 } ?? false
                }
                var made = 0
                for _ in 0..<10 {
                    #expect(try S.get(port: server.port) == 200)
                    made += 1
                }
                for _ in 0..<5 {
                    #expect(try S.get(port: server.port, "/missing.html") == 404)
                    made += 1
                }
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                defer { client.close() }
                for _ in 0..<10 {
                    let response = try client.exchange("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    #expect(response.status == 200)
                    made += 1
                }
                // The status requests answered before the current one are counted too.
                var polls = 1
                var counted = 0
                try Deadline.wait(for: "Total Accesses to reach \(before) + \(made) + polls", timeout: .seconds(10)) {
                    let now = Int((try? S.statusAuto(port: server.port))?["Total Accesses"] ?? "") ?? -1
                    counted = now - before
                    if counted >= made + polls { return true }
                    polls += 1
                    return false
                }
                return (counted, made, polls)
            }
        }

        @Test(arguments: [MPM.prefork, .worker, .event])
        func totalAccessesGrowsByExactlyTheRequestsMade(_ mpm: MPM) throws {
            let skep = try accessesCounted(.skep, mpm)
            #expect(skep.counted == skep.made + skep.polls, "skep counted \(skep.counted) for \(skep.made) requests and \(skep.polls) status polls")
            let apache = try accessesCounted(.apache, mpm)
            #expect(apache.counted == apache.made + apache.polls, "Apache counted \(apache.counted) for \(apache.made) requests and \(apache.polls) status polls")
        }
    }
}
