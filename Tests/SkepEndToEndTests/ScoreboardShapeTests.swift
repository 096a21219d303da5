import Foundation
import Glibc
import Testing

extension MPMEndToEnd {
    /// `/server-status?auto` has Apache's shape for the same config (issue 15): the
    /// `Scoreboard:` line has ServerLimit x ThreadsPerChild characters (Apache 2.4's
    /// mod_status leaves the slots past ThreadsPerChild out, whatever ThreadLimit), and an idle server's
    /// open slots (not `.`) are its children x ThreadsPerChild, under every MPM (the event
    /// listener has no slot of its own). Requests the event listener answers itself still
    /// count in `Total Accesses`.
    @Suite(.tags(.apache), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"))
    struct ScoreboardShapeTests {
        typealias S = MPMTestSupport
        typealias G = GracefulTestSupport

        /// 2 children of 4 threads, ServerLimit 3: a line of 3 x 4 (ThreadLimit 8 apart from
        /// ThreadsPerChild, so a line of ServerLimit x ThreadLimit shows); prefork: 2
        /// children in 3 slots.
        static func sizing(_ mpm: MPM) -> (directives: String, length: Int, filled: Int) {
            switch mpm {
            case .prefork:
                return ("StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\nServerLimit 3\nMaxRequestWorkers 3", 3, 2)
            case .worker, .event:
                return ("StartServers 2\nServerLimit 3\nThreadLimit 8\nThreadsPerChild 4\nMaxRequestWorkers 12\n"
                        + "MinSpareThreads 1\nMaxSpareThreads 12", 12, 8)
            }
        }

        /// Scoreboard lines of an idle server: the first with `filled` open slots (or the
        /// last seen when none has within the deadline), then five more 0.1 s apart, as
        /// each status request (on a worker or on the event listener) finds it.
        func idleScoreboards(_ server: ServerProcess, filled: Int) throws -> [String] {
            var line = ""
            let deadline = Deadline(after: .seconds(10))
            while !deadline.hasPassed {
                line = try G.scoreboard(port: server.port)
                if G.filledSlots(line) == filled { break }
                Deadline.sleep(for: .milliseconds(100))
            }
            var lines = [line]
            // Samples over time are the point: the line stays the same request after request.
            for _ in 0..<5 {
                Deadline.sleep(for: .milliseconds(100))
                lines.append(try G.scoreboard(port: server.port))
            }
            return lines
        }

        @Test(arguments: [MPM.event, .worker, .prefork])
        func theScoreboardLineHasApachesLengthAndOpenSlots(_ mpm: MPM) throws {
            let (directives, length, filled) = Self.sizing(mpm)
            let apacheLines = try withServer(.apache, config: try S.config(mpm, directives)) { apache in
                try idleScoreboards(apache, filled: filled)
            }
            // The premise: Apache's line is ServerLimit x ThreadsPerChild, children x ThreadsPerChild open.
            #expect(apacheLines.allSatisfy { $0.count == length && G.filledSlots($0) == filled },
                    "Apache \(mpm): expected \(length) slots, \(filled) open; got \(apacheLines)")
            let skepLines = try withServer(.skep, config: try S.config(mpm, directives)) { skep in
                try idleScoreboards(skep, filled: filled)
            }
            #expect(skepLines.allSatisfy { $0.count == length },
                    "\(mpm): expected Apache's Scoreboard length \(length) (ServerLimit x ThreadsPerChild) in every sample, Skep's: \(skepLines.map(\.count)) \(skepLines)")
            #expect(skepLines.allSatisfy { G.filledSlots($0) == filled },
                    "\(mpm): expected \(filled) open slots (children x ThreadsPerChild) in every sample of the idle server, as Apache's; Skep has \(skepLines.map(G.filledSlots)): \(skepLines)")
        }

        /// A small file fetched twice on one connection: the first request goes to a
        /// worker (which caches the file), the second the event listener answers itself.
        /// Both count, as would the status requests made between.
        @Test func aRequestTheEventListenerAnswersCountsInTotalAccesses() throws {
            let config = try S.config(.event, Self.sizing(.event).directives)
            try withServer(.skep, config: config) { server in
                let before = EventTestSupport.int(try S.statusAuto(port: server.port), "Total Accesses")
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                defer { client.close() }
                for _ in 0..<2 {
                    #expect(try client.exchange("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").status == 200)
                }
                // The count moves once the response is written; the first status request
                // (answered before `before` was read) is counted, and each poll after it.
                var polls = 1
                var counted = 0
                do {
                    try Deadline.wait(for: "Total Accesses to take in the 2 requests", timeout: .seconds(5)) {
                        counted = EventTestSupport.int(try S.statusAuto(port: server.port), "Total Accesses") - before
                        if counted >= 2 + polls { return true }
                        polls += 1
                        return false
                    }
                } catch {}
                #expect(counted == 2 + polls,
                        "Total Accesses grew by \(counted); expected \(2 + polls): the 2 requests for /index.html (the second answered by the listener) and \(polls) status request(s)")
            }
        }
    }
}
