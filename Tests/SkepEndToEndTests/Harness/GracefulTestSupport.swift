import Foundation
import Glibc
import Testing

/// Helpers for the tests of how a child stops (graceful restart and stop,
/// MaxConnectionsPerChild, the event listener's shedding) without losing a request: the
/// keep-alive grace seen from a client, wrk runs with something done to the server while
/// they run, and the scoreboard line of `?auto`.
enum GracefulTestSupport {
    /// How an idle keep-alive connection ended once its child was told to stop.
    enum GraceOutcome: CustomStringConvertible {
        /// A request was answered with `Connection: close` after `keptAlive` answers
        /// that kept the connection open (sent before the child noticed).
        case answeredWithClose(HTTPResponse, keptAlive: Int)
        /// The connection ended with a request unanswered (Apache's behaviour, and
        /// `KeepAliveGrace 0`'s), after `keptAlive` answers that kept it open.
        case closedUnanswered(keptAlive: Int, error: String)
        /// Every request kept being answered with the connection kept open.
        case stillKeptAlive(keptAlive: Int)

        var description: String {
            switch self {
            case .answeredWithClose(let response, let n):
                "answered \(response.status) with Connection: close after \(n) keep-alive answer(s)"
            case .closedUnanswered(let n, let error):
                "closed with a request unanswered (\(error)) after \(n) keep-alive answer(s)"
            case .stillKeptAlive(let n):
                "still kept alive after \(n) answers"
            }
        }
    }

    /// Sends `GET path` on `client` every `pause` (so the connection is an idle keep-alive
    /// connection between requests, and each request comes promptly), until an answer
    /// carries `Connection: close`, the connection ends, or `within` passes. Call it
    /// right after telling the server's children to stop: the answers that keep the
    /// connection open are the ones its child served before it noticed.
    static func requestUntilClose(
        _ client: RawHTTPClient, path: String = "/index.html",
        pause: Duration = .milliseconds(50), within: Duration = .seconds(5)
    ) -> GraceOutcome {
        let deadline = Deadline(after: within)
        var keptAlive = 0
        while !deadline.hasPassed {
            let response: HTTPResponse?
            do {
                try client.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                response = try client.readResponseOrClose(timeout: .seconds(5))
            } catch {
                return .closedUnanswered(keptAlive: keptAlive, error: String(describing: error))
            }
            guard let response else { return .closedUnanswered(keptAlive: keptAlive, error: "closed before any byte") }
            if response.header("Connection")?.lowercased() == "close" {
                return .answeredWithClose(response, keptAlive: keptAlive)
            }
            keptAlive += 1
            // Pacing: the connection sits idle in keep-alive between requests.
            Deadline.sleep(for: pause)
        }
        return .stillKeptAlive(keptAlive: keptAlive)
    }

    /// Runs `wrk ARGUMENTS URL` to its end, calling `during` every `every` while it runs
    /// (a graceful restart, ...); what wrk reported.
    static func wrk(
        _ arguments: [String], port: UInt16, path: String = "/index.html",
        every: Duration = .milliseconds(500), during: () throws -> Void = {}
    ) throws -> MPMTestSupport.WrkSummary {
        guard let wrk = MPMTestSupport.wrk else { throw HarnessError("wrk is not installed") }
        let load = try MPMTestSupport.Background(wrk, arguments + ["http://127.0.0.1:\(port)\(path)"],
                                                 environment: ["LANG": "C"])
        var next = Deadline(after: every)
        var failure: Error?
        try load.wait(timeout: .seconds(60)) {
            guard failure == nil, next.hasPassed else { return }
            do { try during() } catch { failure = error }
            next = Deadline(after: every)
        }
        if let failure { throw failure }
        let summary = MPMTestSupport.WrkSummary(load.stdout)
        guard summary.requests > 0 else {
            throw HarnessError("wrk made no request: \(load.stdout) \(load.stderr)")
        }
        return summary
    }

    /// The `Scoreboard:` line of `?auto`: one character per worker slot.
    static func scoreboard(port: UInt16) throws -> String {
        guard let line = try MPMTestSupport.statusAuto(port: port)["Scoreboard"] else {
            throw HarnessError("server-status?auto has no Scoreboard line")
        }
        return line
    }

    /// Slots of a scoreboard line that are not `.` (open slots: a worker of a running child).
    static func filledSlots(_ scoreboard: String) -> Int {
        scoreboard.filter { $0 != "." }.count
    }

    /// Waits until `path` exists (a marker a handler leaves).
    static func waitForFile(_ path: String, what: String, timeout: Duration = .seconds(10)) throws {
        try Deadline.wait(for: what, timeout: timeout, interval: .milliseconds(10)) {
            access(path, F_OK) == 0
        }
    }
}
