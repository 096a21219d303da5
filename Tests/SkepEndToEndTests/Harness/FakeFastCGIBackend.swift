import Foundation
import Glibc

/// A fake FastCGI application on a free loopback TCP port, for the faults php-fpm will
/// not produce on demand: a backend that dies in the middle of a response, records
/// with a bad version byte, bytes that are not FastCGI at all.
///
/// A thread accepts connections one after another (the tests send one request at a
/// time); for each it reads the request's records (BEGIN_REQUEST, PARAMS, STDIN) up to
/// the empty STDIN record, then writes what `reply` returns for that request, waits
/// `linger`, and closes. Every request's params are kept for inspection.
final class FakeFastCGIBackend: @unchecked Sendable {
    /// One request as the fake read it.
    struct Request: Sendable {
        var requestID: UInt16
        var role: UInt16
        var flags: UInt8
        /// FCGI_PARAMS name-value pairs, in the order sent.
        var params: [(String, String)]
        var stdin: [UInt8]
        /// Whether the empty STDIN record (end of the request) arrived before EOF.
        var complete: Bool

        func param(_ name: String) -> String? { params.first { $0.0 == name }?.1 }
    }

    /// FastCGI record types (FastCGI 1.0 specification, section 8).
    enum RecordType: UInt8 {
        case beginRequest = 1, abortRequest, endRequest, params, stdin, stdout, stderr, data
    }

    let port: UInt16
    private let listener: Int32
    private let thread: Thread
    private let done = DispatchSemaphore(value: 0)
    private let state = State()

    /// What the accepting thread shares with the test.
    private final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var _stopping = false
        private var _requests: [Request] = []
        var stopping: Bool {
            get { lock.withLock { _stopping } }
            set { lock.withLock { _stopping = newValue } }
        }
        var requests: [Request] { lock.withLock { _requests } }
        func append(_ request: Request) { lock.withLock { _requests.append(request) } }
    }

    /// `reply` gives the bytes to write for a request (build them with `record`,
    /// `stdout`, `endRequest`); the connection is closed `linger` after writing.
    init(linger: Duration = .milliseconds(100), reply: @escaping @Sendable (Request) -> [UInt8]) throws {
        let (fd, port) = try FreePort.listen(backlog: 16)
        self.port = port
        listener = fd
        let done = self.done, state = self.state
        thread = Thread {
            defer { done.signal() }
            while !state.stopping {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 100) > 0 else { continue }
                let connection = accept(fd, nil, nil)
                guard connection >= 0 else { continue }
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                let request = Self.readRequest(connection)
                state.append(request)
                let bytes = reply(request)
                var offset = 0
                while offset < bytes.count {
                    let n = bytes.withUnsafeBytes {
                        Glibc.send(connection, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                    }
                    if n <= 0 { break }
                    offset += n
                }
                // A fixed pause is the behaviour asked for: a back end slow to close.
                if linger > .zero { Deadline.sleep(for: linger) }
                Glibc.close(connection)
            }
        }
        thread.start()
    }

    /// The requests read so far.
    var requests: [Request] { state.requests }

    /// Stops accepting and closes the listener (waits for the thread, bounded).
    func stop() {
        state.stopping = true
        _ = done.wait(timeout: .now() + 10)
        Glibc.close(listener)
    }

    // MARK: - Building records

    /// One record: version, type, request id, content length, padding length,
    /// reserved, content.
    static func record(_ type: RecordType, id: UInt16 = 1, _ content: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
        precondition(content.count <= 0xffff)
        return [version, type.rawValue, UInt8(id >> 8), UInt8(id & 0xff),
                UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0] + content
    }

    /// `text` as STDOUT records (split at 65535 bytes), without the closing empty one.
    static func stdout(_ text: String, id: UInt16 = 1) -> [UInt8] {
        stdout(Array(text.utf8), id: id)
    }

    static func stdout(_ bytes: [UInt8], id: UInt16 = 1) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + 0xffff, bytes.count)
            out += record(.stdout, id: id, Array(bytes[offset..<end]))
            offset = end
        }
        return out
    }

    /// The end of a well-formed response: the empty STDOUT record and END_REQUEST
    /// (appStatus 0, FCGI_REQUEST_COMPLETE).
    static func endRequest(id: UInt16 = 1) -> [UInt8] {
        record(.stdout, id: id) + record(.endRequest, id: id, [0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// A complete, well-formed response: `head` (CGI header lines, CRLF-separated,
    /// without the blank line) and `body`.
    static func response(head: String, body: String, id: UInt16 = 1) -> [UInt8] {
        stdout(head + "\r\n\r\n" + body, id: id) + endRequest(id: id)
    }

    // MARK: - Reading a request

    private static func readRequest(_ fd: Int32) -> Request {
        var request = Request(requestID: 0, role: 0, flags: 0, params: [], stdin: [], complete: false)
        var paramBytes: [UInt8] = []
        let deadline = Deadline(after: .seconds(10))
        while !deadline.hasPassed {
            guard let header = readExactly(fd, 8, deadline: deadline) else { break }
            let type = header[1]
            let id = UInt16(header[2]) << 8 | UInt16(header[3])
            let length = Int(header[4]) << 8 | Int(header[5])
            let padding = Int(header[6])
            guard let content = readExactly(fd, length, deadline: deadline),
                  readExactly(fd, padding, deadline: deadline) != nil else { break }
            request.requestID = id
            switch RecordType(rawValue: type) {
            case .beginRequest where content.count >= 3:
                request.role = UInt16(content[0]) << 8 | UInt16(content[1])
                request.flags = content[2]
            case .params:
                paramBytes += content
            case .stdin:
                if content.isEmpty {
                    request.complete = true
                } else {
                    request.stdin += content
                }
            default:
                break
            }
            if request.complete { break }
        }
        request.params = decodeParams(paramBytes)
        return request
    }

    /// FastCGI name-value pairs: lengths of 1 byte (< 128) or 4 bytes (high bit set).
    static func decodeParams(_ bytes: [UInt8]) -> [(String, String)] {
        var pairs: [(String, String)] = []
        var i = 0
        func length() -> Int? {
            guard i < bytes.count else { return nil }
            if bytes[i] & 0x80 == 0 {
                defer { i += 1 }
                return Int(bytes[i])
            }
            guard i + 4 <= bytes.count else { return nil }
            defer { i += 4 }
            return Int(bytes[i] & 0x7f) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
        }
        while i < bytes.count {
            guard let nameLength = length(), let valueLength = length(),
                  i + nameLength + valueLength <= bytes.count else { break }
            let name = String(decoding: bytes[i..<i + nameLength], as: UTF8.self)
            let value = String(decoding: bytes[i + nameLength..<i + nameLength + valueLength], as: UTF8.self)
            pairs.append((name, value))
            i += nameLength + valueLength
        }
        return pairs
    }

    private static func readExactly(_ fd: Int32, _ count: Int, deadline: Deadline) -> [UInt8]? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(1, min(count, 65536)))
        while out.count < count {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, deadline.remainingMilliseconds) > 0 else { return nil }
            let want = min(chunk.count, count - out.count)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, want) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            out += chunk[..<n]
        }
        return out
    }
}
