import Foundation
import Glibc
import Testing

/// Helpers for the end-to-end tests of the `Skep` library through `SkepTestApp`
/// (`ServerKind.testApp`): configs that map its handlers, the child a keep-alive
/// connection is on, and clients on threads of their own that count what failed and on
/// which child.
enum EmbeddingTestSupport {
    /// SkepTestApp's handlers that `config` maps, each at `/<name>` with `SetHandler`.
    /// `nts-counter` (not thread-safe) is left out: worker and event refuse it.
    static let handlers = ["test-echo", "test-stream", "test-file", "child-info", "slow", "hang",
                           "crash-fatal", "crash-unwrap", "crash-index", "crash-segv", "throws"]

    /// The handlers that end their child: a failed `fatalError`, force-unwrap and index
    /// (Swift traps), and a store through a bad pointer.
    static let crashHandlers = ["crash-fatal", "crash-unwrap", "crash-index", "crash-segv"]

    /// Small sizes for each MPM: `children` prefork children (and room for 6 more), or
    /// two children of 6 threads (worker and event) that the spare-thread rules leave
    /// alone. Keep-alive connections stay open for the length of a test.
    static func sizing(_ mpm: MPM, children: Int = 3) -> String {
        let common = "KeepAliveTimeout 30\nMaxKeepAliveRequests 0\n"
        switch mpm {
        case .prefork:
            return common + "StartServers \(children)\nMinSpareServers 2\nMaxSpareServers \(children + 6)\n"
                + "MaxRequestWorkers \(children + 6)\nServerLimit \(children + 6)"
        case .worker, .event:
            return common + "StartServers 2\nServerLimit 4\nThreadsPerChild 6\nMaxRequestWorkers 24\n"
                + "MinSpareThreads 1\nMaxSpareThreads 24"
        }
    }

    /// A config for `mpm` (mod_status at `/server-status`, an `index.html`) mapping
    /// `handlers`, with `sizing(mpm)` unless `directives` replaces it.
    static func config(_ mpm: MPM, _ directives: String? = nil, handlers: [String] = handlers) throws -> TestConfig {
        let locations = handlers.map { "<Location /\($0)>\n    SetHandler \($0)\n</Location>" }.joined(separator: "\n")
        return try MPMTestSupport.config(mpm, locations + "\n" + (directives ?? sizing(mpm)))
    }

    /// The environment a server built on the library runs with by default: no
    /// `SWIFT_BACKTRACE`, so its children die of a trap at once (ChildSetup).
    static let asShipped: [String: String?] = ["SWIFT_BACKTRACE": nil]

    /// The value of `name=` in a body of `name=value` words (`child-info`, `slow`).
    static func field(_ name: String, in text: String) -> String? {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.hasPrefix(name + "=") }
            .map { String($0.dropFirst(name.count + 1)) }
    }

    /// Expects `client`'s connection to end (closed or reset) with no response to `what`.
    static func expectEndsUnanswered(_ client: RawHTTPClient, _ what: String, timeout: Duration = .seconds(10)) {
        var answer: HTTPResponse?
        do {
            answer = try client.readResponseOrClose(timeout: timeout)
        } catch {
            // A reset, or a timeout: the second expectation tells them apart.
        }
        #expect(answer == nil, "\(what) was answered: \(answer.map(String.init(describing:)) ?? "")")
        #expect(client.serverHasClosed, "\(what): the connection did not end within \(timeout)")
    }

    /// A keep-alive connection and the pid of the child serving it.
    struct Pinned {
        var client: RawHTTPClient
        var pid: pid_t
    }

    /// Opens `count` keep-alive connections one after another, each with a `GET /slow?ms`
    /// that keeps a worker (or a prefork child) busy, waiting for that worker before the
    /// next: a child whose workers are all busy stops accepting, so the connections fill
    /// one child's workers, then the next's. Returns them once answered, each with the
    /// pid of its child, which serves its next requests (keep-alive).
    static func pin(port: UInt16, mpm: MPM, count: Int, ms: Int = 1500) throws -> [Pinned] {
        var opened: [RawHTTPClient] = []
        // BusyWorkers counts the status request's own worker too, except under event,
        // whose listener answers it without one.
        let statusWorker = mpm == .event ? 0 : 1
        for i in 0..<count {
            let client = try RawHTTPClient(port: port, timeout: .seconds(10))
            opened.append(client)
            try client.send("GET /slow?\(ms) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            // A status request that a full child took waits for a worker there: give up on
            // it and ask again (the child has stopped accepting by then).
            try Deadline.wait(for: "\(i + 1) /slow requests in workers", timeout: .seconds(5)) {
                guard let status = try? MPMTestSupport.statusAuto(port: port, timeout: .milliseconds(300)) else { return false }
                return EventTestSupport.int(status, "BusyWorkers") >= i + 1 + statusWorker
            }
        }
        return try opened.map { client in
            let response = try client.readResponse()
            guard response.status == 200, let pid = field("pid", in: response.bodyText).flatMap({ pid_t($0) }) else {
                throw HarnessError("/slow answered \(response.status): \(response.bodyText)")
            }
            return Pinned(client: client, pid: pid)
        }
    }
}

/// A client on a thread of its own: `count` GETs of `path` (or fewer, if stopped) on a
/// keep-alive connection (or, `keepAlive: false`, one connection per request), opening a new connection after a
/// failure or a `Connection: close`. It records each failure with the pid of the child its
/// connection was on, as the last answer told it (`slow` answers `pid=`), nil when
/// nothing had been answered on that connection yet.
final class LoadClient: @unchecked Sendable {
    struct Failure: CustomStringConvertible {
        var pid: pid_t?
        var error: String
        var description: String { "pid \(pid.map(String.init) ?? "unknown"): \(error)" }
    }

    let port: UInt16
    let path: String
    let count: Int
    let keepAlive: Bool
    /// The child the connection it started with was on.
    let firstPid: pid_t?
    // Touched by the client's thread only, once started.
    private var connection: RawHTTPClient?
    private var pid: pid_t?
    private let lock = NSLock()
    private var _completed = 0
    private var _failures: [Failure] = []
    private var _finished = false
    private var _stopping = false

    init(port: UInt16, path: String, count: Int, keepAlive: Bool = true, on pinned: EmbeddingTestSupport.Pinned? = nil) {
        self.port = port
        self.path = path
        self.count = count
        self.keepAlive = keepAlive
        connection = pinned?.client
        pid = pinned?.pid
        firstPid = pinned?.pid
    }

    /// Requests answered 200 so far.
    var completed: Int { lock.withLock { _completed } }
    var failures: [Failure] { lock.withLock { _failures } }
    var finished: Bool { lock.withLock { _finished } }

    /// Starts the client's thread.
    func start() {
        Thread { [self] in run() }.start()
    }

    /// Asks the client to stop after the request under way (see `waitForAll`).
    func stop() { lock.withLock { _stopping = true } }

    /// Starts a client on each of `connections`.
    static func start(port: UInt16, path: String, requests: Int, on connections: [EmbeddingTestSupport.Pinned]) -> [LoadClient] {
        let clients = connections.map { LoadClient(port: port, path: path, count: requests, on: $0) }
        clients.forEach { $0.start() }
        return clients
    }

    /// Waits for every client to finish its requests.
    static func waitForAll(_ clients: [LoadClient], timeout: Duration = .seconds(30)) throws {
        try Deadline.wait(for: "the clients to finish (done: \(clients.map(\.completed)))", timeout: timeout) {
            clients.allSatisfy(\.finished)
        }
    }

    private func run() {
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (keepAlive ? "" : "Connection: close\r\n") + "\r\n"
        var sent = 0
        while sent < count && !lock.withLock({ _stopping }) {
            sent += 1
            do {
                let client = try connection ?? RawHTTPClient(port: port, timeout: .seconds(10))
                connection = client
                let response = try client.exchange(request)
                guard response.status == 200 else { throw HarnessError("\(path) answered \(response.status)") }
                pid = EmbeddingTestSupport.field("pid", in: response.bodyText).flatMap { pid_t($0) } ?? pid
                if !keepAlive || response.header("Connection")?.lowercased() == "close" { reconnect() }
                lock.withLock { _completed += 1 }
            } catch {
                lock.withLock { _failures.append(Failure(pid: pid, error: "\(error)")) }
                reconnect()
            }
        }
        connection?.close()
        lock.withLock { _finished = true }
    }

    private func reconnect() {
        connection?.close()
        connection = nil
        pid = nil
    }
}
