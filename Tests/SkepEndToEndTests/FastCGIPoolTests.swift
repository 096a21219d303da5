import Foundation
import Glibc
import Testing

extension FastCGI {
    /// `max=` and `acquire=`: a child opens at most `max` connections to a back end, and
    /// a request that finds them all busy waits for one to be freed, at most `acquire`
    /// milliseconds, then gets 503 (Apache's connection pool). One child, so that both
    /// requests meet in the same pool; the two routes go to php-fpm's two pools (a Unix
    /// socket and TCP), as Skep keys a worker's parameters by its back end.
    @Suite struct FastCGIPoolTests {
        typealias F = FastCGIFixture

        static func extra(_ fpm: PHPFPM, _ mpm: MPM) -> String {
            """
            StartServers 1
            ServerLimit 1
            MinSpareThreads 1
            MaxSpareThreads 4
            ThreadsPerChild 4
            MaxRequestWorkers 4
            ProxyPass "/patient/" "unix:\(fpm.socketPath)|fcgi://localhost@DOCROOT@/patient/" max=1 acquire=10000 timeout=10
            ProxyPass "/hasty/" "fcgi://\(fpm.tcpAddress)@DOCROOT@/hasty/" max=1 acquire=300 timeout=10
            """
        }

        /// Both requests at once, each on its own connection: (status, seconds from the
        /// start of both to its answer), the sooner first.
        static func both(_ server: ServerProcess, _ path: String) throws -> [(status: Int, seconds: Double)] {
            let results = LockedResults()
            let group = DispatchGroup()
            let port = server.port
            let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n"
            let start = ContinuousClock.now
            for _ in 0..<2 {
                DispatchQueue.global().async(group: group) {
                    let client = try? RawHTTPClient(port: port, timeout: .seconds(15))
                    let status = (try? client?.exchange(request))??.status ?? -1
                    client?.close()
                    let elapsed = ContinuousClock.now - start
                    results.append((status, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
                }
            }
            group.wait()
            return results.all.sorted { $0.seconds < $1.seconds }
        }

        @Test(arguments: [MPM.worker, .event])
        func maxHoldsASecondRequestUntilTheConnectionIsFreeAndAcquireBoundsTheWait(mpm: MPM) throws {
            try F.withServer(.skep, mpm: mpm, extra: { Self.extra($0, mpm) }, setUp: { config in
                try config.root.writeDocument("patient/sleep.php", F.sleepScript)
                try config.root.writeDocument("hasty/sleep.php", F.sleepScript)
            }) { server, _ in
                // max=1: the second request waits for the first's connection, then runs, so
                // it ends no sooner than both scripts one after the other.
                let patient = try Self.both(server, "/patient/sleep.php?s=1")
                #expect(patient.map(\.status) == [200, 200], "\(mpm): \(patient)")
                #expect((patient.last?.seconds ?? 0) >= 1.9, "\(mpm): the second request did not wait: \(patient)")

                // acquire=300: the second gives up long before the first's 1.5 s script ends.
                let hasty = try Self.both(server, "/hasty/sleep.php?s=1.5")
                #expect(hasty.map(\.status) == [503, 200], "\(mpm): \(hasty)")
                #expect((hasty.first?.seconds ?? 99) < 1.4, "\(mpm): the 503 waited for the script: \(hasty)")
                F.expectStillServing(server, after: "a request refused at acquire=", path: "/hasty/sleep.php?s=0", body: "slept 0\n")
            }
        }
    }
}

/// Results appended by concurrent requests.
private final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [(status: Int, seconds: Double)] = []
    func append(_ result: (status: Int, seconds: Double)) { lock.withLock { results.append(result) } }
    var all: [(status: Int, seconds: Double)] { lock.withLock { results } }
}
