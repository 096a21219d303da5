import Foundation
import Glibc
import Testing

/// Helpers for the event MPM's end-to-end tests: a client with a tiny receive buffer that
/// reads slowly (so the server's writes stall in write completion), the per-child table of
/// `/server-status` (the event MPM's "accepting" column), the pids serving a request from
/// the `?notable` worker list, and the open-file limit for tests that hold hundreds of
/// connections.
enum EventTestSupport {
    /// Raises this process's RLIMIT_NOFILE soft limit to the hard limit (servers started
    /// afterwards inherit it); the soft limit in effect afterwards.
    @discardableResult
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        return limit.rlim_cur == rlim_t.max ? Int.max : Int(limit.rlim_cur)
    }

    /// The soft open-file limit of this process (what a server started now inherits).
    static var openFileLimit: Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return limit.rlim_cur == rlim_t.max ? Int.max : Int(limit.rlim_cur)
    }

    /// Writes a document of `bytes` bytes whose content is a position-dependent pattern, so
    /// a lost, repeated or reordered piece shows; returns the content.
    @discardableResult
    static func writePatternDocument(_ config: TestConfig, _ name: String, bytes: Int) throws -> [UInt8] {
        let content = pattern(bytes)
        let path = config.root.docroot + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: Data(content)) else {
            throw HarnessError("could not write \(path)")
        }
        chmod(path, 0o644)
        return content
    }

    /// Bytes `i % 251` (a prime, so 4 KiB pieces do not repeat in step).
    static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 % 251) }
    }

    // MARK: - /server-status per-child table

    /// One row of the event MPM's per-child table on `/server-status` (Apache's layout:
    /// Slot, PID, Stopping, Connections total / accepting, Threads busy / graceful / idle,
    /// Async connections wait-io / writing / keep-alive / closing), and Skep's keep-alive
    /// connections shed (0 where the column is absent).
    struct ChildRow: CustomStringConvertible {
        var slot: Int
        var pid: pid_t
        var stopping: Bool
        var connections: Int
        var accepting: Bool
        var busy: Int
        var idle: Int
        var writing: Int
        var keepAlive: Int
        var closing: Int
        var shed: Int
        var description: String {
            "slot \(slot) pid \(pid)\(stopping ? " stopping" : ""): \(connections) conns, accepting \(accepting ? "yes" : "no"), busy \(busy), idle \(idle), writing \(writing), keep-alive \(keepAlive), closing \(closing), shed \(shed)"
        }
    }

    /// The per-child rows of `GET /server-status` (the Sum row left out).
    static func childTable(port: UInt16, timeout: Duration = .seconds(5)) throws -> [ChildRow] {
        let client = try RawHTTPClient(port: port, timeout: timeout)
        defer { client.close() }
        let response = try client.exchange("GET /server-status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        guard response.status == 200 else { throw HarnessError("server-status answered \(response.status)") }
        return parseChildTable(response.bodyText)
    }

    static func parseChildTable(_ page: String) -> [ChildRow] {
        var rows: [ChildRow] = []
        for line in page.split(separator: "\n") where line.hasPrefix("<tr><td>") && !line.hasPrefix("<tr><td>Sum") {
            let cells = line.components(separatedBy: "<td>").dropFirst().map { cell in
                String(cell.prefix { $0 != "<" })
            }
            // Slot, PID, Stopping, total, accepting, busy, graceful, idle, wait-io, writing, keep-alive, closing
            guard cells.count >= 12, let slot = Int(cells[0]), let pid = pid_t(cells[1]),
                  let total = Int(cells[3]), let busy = Int(cells[5]), let idle = Int(cells[7]),
                  let writing = Int(cells[9]), let keepAlive = Int(cells[10]), let closing = Int(cells[11])
            else { continue }
            rows.append(ChildRow(slot: slot, pid: pid, stopping: cells[2].hasPrefix("yes"), connections: total,
                                 accepting: cells[4] == "yes", busy: busy, idle: idle, writing: writing,
                                 keepAlive: keepAlive, closing: closing,
                                 shed: cells.count > 12 ? Int(cells[12]) ?? 0 : 0))
        }
        return rows
    }

    /// The pids of the children whose workers serve `METHOD path` now (one entry per
    /// worker), from the `?notable` worker list.
    static func pidsServing(_ method: String, _ path: String, port: UInt16) throws -> [pid_t] {
        pidsServing(method, path, page: try MPMTestSupport.statusNotable(port: port))
    }

    /// The same, from a `?notable` page already fetched.
    static func pidsServing(_ method: String, _ path: String, page: String) -> [pid_t] {
        var pids: [pid_t] = []
        for entry in page.components(separatedBy: "<b>Server ").dropFirst() {
            guard entry.contains("{\(method) \(path) "), !entry.contains("[Ready]"), !entry.contains("[Dead]") else { continue }
            guard let open = entry.firstIndex(of: "("), let close = entry[open...].firstIndex(of: ")") else { continue }
            if let pid = pid_t(entry[entry.index(after: open)..<close]) { pids.append(pid) }
        }
        return pids
    }

    /// An `Int` field of `?auto`, -1 when absent.
    static func int(_ status: [String: String], _ field: String) -> Int {
        Int(status[field] ?? "") ?? -1
    }
}

/// A client whose receive buffer is set small before it connects (so the window the
/// server sees is small from the handshake on), which reads a response a piece at a time:
/// the server's send buffer fills and the response waits in write completion.
///
/// It also announces an Ethernet-sized MSS (TCP_MAXSEG 1460 before connect): over
/// loopback the MSS is about 64 KiB, and the kernel sizes the server's send buffer from
/// 10 segments of it (about 1.3 MiB), which would swallow a 1 MiB response whole.
final class SlowReader {
    private var fd: Int32
    private(set) var received: [UInt8] = []
    private(set) var eof = false
    private(set) var wasReset = false

    init(port: UInt16, receiveBuffer: Int32 = 4096, maxSegment: Int32? = 1460, timeout: Duration = .seconds(10)) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errnoText())") }
        if var segment = maxSegment {
            guard setsockopt(fd, Int32(IPPROTO_TCP), TCP_MAXSEG, &segment, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                let text = errnoText()
                close()
                throw HarnessError("TCP_MAXSEG: \(text)")
            }
        }
        var size = receiveBuffer
        guard setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            let text = errnoText()
            close()
            throw HarnessError("SO_RCVBUF: \(text)")
        }
        var addr = FreePort.loopback(port: port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            let code = errno
            guard code == EINPROGRESS, poll(Int16(POLLOUT), until: Deadline(after: timeout)) else {
                close()
                throw HarnessError("connect 127.0.0.1:\(port): \(code == EINPROGRESS ? "timed out" : errnoText(code))")
            }
            var error: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len)
            guard error == 0 else {
                close()
                throw HarnessError("connect 127.0.0.1:\(port): \(errnoText(error))")
            }
        }
    }

    // The init's failure paths call `close()`: a throwing init still runs `deinit` once
    // every stored property is set, and a second `close(2)` could hit another thread's fd.
    deinit { close() }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// The receive buffer the kernel granted (it doubles the request).
    var receiveBufferSize: Int {
        var size: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len)
        return Int(size)
    }

    func shutdownWrite() {
        if fd >= 0 { shutdown(fd, Int32(SHUT_WR)) }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        let deadline = Deadline(after: .seconds(5))
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            let code = errno
            if n < 0 && (code == EAGAIN || code == EINTR) {
                guard poll(Int16(POLLOUT), until: deadline) else { throw HarnessError("send timed out") }
                continue
            }
            throw HarnessError("send: \(errnoText(code))")
        }
    }

    /// Reads at most `limit` bytes, waiting up to `timeout` for some; the count read
    /// (0 at end of stream or when nothing came in time).
    @discardableResult
    func read(atMost limit: Int, timeout: Duration) throws -> Int {
        guard !eof else { return 0 }
        guard poll(Int16(POLLIN), until: Deadline(after: timeout)) else { return 0 }
        var chunk = [UInt8](repeating: 0, count: limit)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, limit) }
            if n > 0 {
                received += chunk[..<n]
                return n
            }
            if n == 0 { eof = true; return 0 }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN { return 0 }
            if code == ECONNRESET { eof = true; wasReset = true; return 0 }
            throw HarnessError("read: \(errnoText(code))")
        }
    }

    /// Reads `piece` bytes every `pause` until `total` bytes (head excluded) or the end
    /// of the stream or `deadline`; `each` runs after every piece.
    func readSlowly(piece: Int, pause: Duration, until deadline: Deadline, stopAfter total: Int,
                    each: () -> Void = {}) throws {
        while !eof && !deadline.hasPassed && bodyCount < total {
            try read(atMost: piece, timeout: .milliseconds(500))
            each()
            // Pacing is the point: a reader slower than the server's writes.
            Deadline.sleep(for: pause)
        }
    }

    /// Reads everything left, as fast as it comes, until the end of the stream, the
    /// body is complete, or the deadline.
    func drain(until deadline: Deadline, stopAfter total: Int) throws {
        while !eof && !deadline.hasPassed && bodyCount < total {
            try read(atMost: 65536, timeout: min(deadline.remaining, .milliseconds(500)))
        }
    }

    private var headEnd: Int?

    /// Where the head ends in `received` (the index after CRLFCRLF), if it arrived.
    var headLength: Int? {
        if let headEnd { return headEnd }
        guard received.count >= 4 else { return nil }
        for i in 0...(received.count - 4)
        where received[i] == 13 && received[i + 1] == 10 && received[i + 2] == 13 && received[i + 3] == 10 {
            headEnd = i + 4
            return i + 4
        }
        return nil
    }

    var head: String { headLength.map { String(decoding: received[..<$0], as: UTF8.self) } ?? "" }
    var body: ArraySlice<UInt8> { headLength.map { received[$0...] } ?? [] }
    var bodyCount: Int { headLength.map { received.count - $0 } ?? 0 }

    private func poll(_ events: Int16, until deadline: Deadline) -> Bool {
        while true {
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let rc = Glibc.poll(&pfd, 1, deadline.remainingMilliseconds)
            if rc > 0 { return true }
            if rc == 0 { return false }
            if errno != EINTR { return true }
        }
    }
}
