import Foundation
import Glibc
import Testing

/// Helpers for the tests of the event listener's own requests and the per-child file
/// cache: a one-child server of two workers, `?auto` read over a keep-alive connection
/// (a child whose workers are all busy stops accepting, so a fresh connection would wait
/// in the kernel's queue), requests that hold a worker until the test releases them, and
/// file changes made the ways editors and deploy scripts make them.
enum ListenerTestSupport {
    /// One event (or worker) child of two workers; ThreadLimit 2 makes the scoreboard row
    /// three slots wide, the listener's last. Keep-alive connections and request bodies
    /// outlast any test.
    static let twoWorkers = """
        StartServers 1
        ServerLimit 1
        ThreadLimit 2
        ThreadsPerChild 2
        MaxRequestWorkers 2
        MinSpareThreads 1
        MaxSpareThreads 2
        KeepAliveTimeout 60
        MaxKeepAliveRequests 0
        Timeout 120
        """

    /// One prefork child.
    static let onePreforkChild = """
        StartServers 1
        MinSpareServers 1
        MaxSpareServers 2
        ServerLimit 1
        MaxRequestWorkers 1
        KeepAliveTimeout 60
        MaxKeepAliveRequests 0
        """

    static func sizing(_ mpm: MPM) -> String {
        mpm == .prefork ? onePreforkChild : twoWorkers
    }

    static func get(_ path: String, close: Bool = false) -> String {
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(close ? "Connection: close\r\n" : "")\r\n"
    }

    /// `server-status?auto` as one more request on `client`'s keep-alive connection.
    static func statusAuto(on client: RawHTTPClient, timeout: Duration = .seconds(10)) throws -> AutoStatus {
        let response = try client.exchange(get("/server-status?auto"), timeout: timeout)
        guard response.status == 200 else {
            throw HarnessError("server-status?auto answered \(response.status): \(response.bodyText)")
        }
        return AutoStatus(response.bodyText)
    }

    /// The fields of `?auto` that these tests read.
    struct AutoStatus: CustomStringConvertible {
        var fields: [String: String] = [:]

        init(_ text: String) {
            for line in text.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingWhitespace()
            }
        }

        func int(_ name: String) -> Int { Int(fields[name] ?? "") ?? -1 }
        var busy: Int { int("BusyWorkers") }
        var idle: Int { int("IdleWorkers") }
        var totalAccesses: Int { int("Total Accesses") }
        /// The `Scoreboard` line: one character per worker slot, as Apache's (the
        /// listener has no slot; a dead slot beyond ThreadsPerChild is left out).
        var scoreboard: String { fields["Scoreboard"] ?? "" }
        /// The characters of the first `count` slots (the workers of a one-child server).
        func workers(_ count: Int) -> String { String(scoreboard.prefix(count)) }
        /// Whether the first `count` slots are all busy (not `_` waiting, `.` open, `S`
        /// starting, `I` or `G`).
        func allBusy(_ count: Int) -> Bool {
            let line = workers(count)
            return line.count == count && line.allSatisfy { !"_.SIG".contains($0) }
        }
        var description: String {
            "BusyWorkers \(busy), IdleWorkers \(idle), Total Accesses \(totalAccesses), Scoreboard \(scoreboard.debugDescription)"
        }
    }

    // MARK: - File changes

    /// Writes `bytes` over the file at `path` in place (same inode: open with O_TRUNC,
    /// write, close), as `echo text > file` does.
    static func rewriteInPlace(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("open \(path): \(errnoText())") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            guard n > 0 else { throw HarnessError("write \(path): \(errnoText())") }
            offset += n
        }
    }

    static func rewriteInPlace(_ path: String, _ text: String) throws {
        try rewriteInPlace(path, Array(text.utf8))
    }

    /// Creates (or truncates) the file at `path`, mode 0644.
    static func create(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HarnessError("create \(path): \(errnoText())") }
        close(fd)
        chmod(path, 0o644)
        try rewriteInPlace(path, text)
    }

    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 else { throw HarnessError("mkdir \(path): \(errnoText())") }
        chmod(path, 0o755)
    }

    static func remove(_ path: String) throws {
        guard unlink(path) == 0 else { throw HarnessError("unlink \(path): \(errnoText())") }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw HarnessError("rename \(from) \(to): \(errnoText())") }
    }

    static func changeMode(_ path: String, _ mode: mode_t) throws {
        guard chmod(path, mode) == 0 else { throw HarnessError("chmod \(path): \(errnoText())") }
    }

    /// Puts a symbolic link to `target` at `path`, over whatever is there, in one rename.
    static func replaceWithSymlink(_ path: String, to target: String) throws {
        let temporary = path + ".new-link"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw HarnessError("symlink \(temporary): \(errnoText())") }
        try rename(temporary, path)
    }

    /// `User nobody` / `Group nogroup` when the tests run as root (root reads a mode-000
    /// file, so a permission test needs children that drop to another account); nil
    /// when root and that account is missing; "" when not root.
    static var unprivilegedChildren: String? {
        guard getuid() == 0 else { return "" }
        guard MPMTestSupport.uid(ofUser: "nobody") != nil, MPMTestSupport.gid(ofGroup: "nogroup") != nil else { return nil }
        return "User nobody\nGroup nogroup"
    }
}

/// A keep-alive connection for a run of GETs, opened again when the server closed it.
final class KeepAliveFetcher {
    let port: UInt16
    private var client: RawHTTPClient?

    init(port: UInt16) { self.port = port }
    deinit { client?.close() }

    func get(_ path: String, timeout: Duration = .seconds(10)) throws -> HTTPResponse {
        let connection = try client ?? RawHTTPClient(port: port, timeout: timeout)
        client = connection
        do {
            let response = try connection.exchange(ListenerTestSupport.get(path), timeout: timeout)
            if response.header("Connection")?.lowercased() == "close" { reset() }
            return response
        } catch {
            reset()
            throw error
        }
    }

    private func reset() {
        client?.close()
        client = nil
    }
}

/// A request that holds a worker until the test releases it: `POST /test-echo` (a
/// SkepTestApp handler that reads the whole body) with `Expect: 100-continue`. The
/// worker's `100 Continue` says the handler is running and waits for the body; sending
/// the body lets it answer. Bounded only by `Timeout` (120 s in `twoWorkers`).
final class WorkerHold {
    let client: RawHTTPClient
    static let body = "ping"

    init(port: UInt16) throws {
        client = try RawHTTPClient(port: port, timeout: .seconds(30))
        try client.send("POST /test-echo HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                        + "Content-Length: \(Self.body.utf8.count)\r\n\r\n")
    }

    /// Waits for the `100 Continue`: a worker runs the handler, which waits for the body.
    func waitUntilHeld(timeout: Duration = .seconds(20)) throws {
        let interim = try client.readResponseOrClose(timeout: timeout, stopAtInterim: true)
        guard let interim, interim.status == 100 else {
            throw HarnessError("a held POST /test-echo got \(interim.map(String.init(describing:)) ?? "no answer, the connection closed") instead of 100 Continue")
        }
    }

    /// Sends the body and reads the handler's answer.
    func release(timeout: Duration = .seconds(20)) throws -> HTTPResponse {
        try client.send(Self.body)
        return try client.readResponse(timeout: timeout)
    }

    func close() { client.close() }
}
