import Foundation
import Glibc
import Testing

extension MPMEndToEnd {
    /// Children share the load (issue 15): a burst of keep-alive connections opened at once
    /// is spread over the children, rather than taken by the first child woken.
    @Suite struct AcceptBalanceTests {
        typealias S = MPMTestSupport
        typealias E = EmbeddingTestSupport

        /// Two children of 16 threads: either one alone could take a whole burst, so any
        /// spread comes from how they accept, not from a child being full.
        static let twoChildren = """
            StartServers 2
            ServerLimit 2
            ThreadsPerChild 16
            MaxRequestWorkers 32
            MinSpareThreads 1
            MaxSpareThreads 32
            KeepAliveTimeout 30
            MaxKeepAliveRequests 0
            """

        static let bursts = 5
        static let burstSize = 16

        /// Five bursts of 16 connections opened at once, each sending one request and
        /// staying open until the burst is counted: on average over the bursts, the child
        /// that got fewer of a burst still got 30% of it (an even split is 50%; one child
        /// taking whole bursts, however they alternate, is 0%).
        @Test(arguments: [MPM.event, .worker])
        func burstsOfKeepAliveConnectionsAreSpreadOverBothChildren(_ mpm: MPM) throws {
            let config = try E.config(mpm, Self.twoChildren, handlers: ["slow"])
            try withServer(.testApp, config: config) { server in
                try Deadline.wait(for: "both children's 32 workers started", timeout: .seconds(10), interval: .milliseconds(50)) {
                    let status = try S.statusAuto(port: server.port)
                    return EventTestSupport.int(status, "BusyWorkers") + EventTestSupport.int(status, "IdleWorkers") == 32
                }
                let children = server.children()
                #expect(children.count == 2, "expected 2 children before the bursts, saw \(children)")
                var perChild: [pid_t: Int] = [:]
                var perBurst: [[Int]] = []
                var fewer = 0
                for _ in 0..<Self.bursts {
                    var clients: [RawHTTPClient] = []
                    defer { clients.forEach { $0.close() } }
                    for _ in 0..<Self.burstSize {
                        clients.append(try RawHTTPClient(port: server.port, timeout: .seconds(10)))
                    }
                    for client in clients {
                        try client.send("GET /slow?1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    }
                    var burst: [pid_t: Int] = [:]
                    for client in clients {
                        let response = try client.readResponse()
                        guard response.status == 200, let pid = E.field("pid", in: response.bodyText).flatMap({ pid_t($0) }) else {
                            throw HarnessError("/slow answered \(response.status): \(response.bodyText)")
                        }
                        burst[pid, default: 0] += 1
                    }
                    perBurst.append(burst.values.sorted())
                    fewer += children.count == 2 ? children.map { burst[$0] ?? 0 }.min() ?? 0 : 0
                    perChild.merge(burst, uniquingKeysWith: +)
                }
                let total = Self.bursts * Self.burstSize
                #expect(Set(perChild.keys).isSubset(of: children),
                        "\(mpm): connections served by children other than the two started: \(perChild) vs \(children)")
                #expect(fewer * 10 >= total * 3,
                        "\(mpm): expected the child that got fewer of each burst of \(Self.burstSize) to get at least 30% of it on average; it got \(fewer) of \(total). Per burst \(perBurst), per child \(perChild)")
            }
        }
    }
}
