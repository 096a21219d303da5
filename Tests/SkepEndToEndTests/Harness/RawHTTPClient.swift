import Glibc

/// A blocking TCP client over Glibc sockets, for sending exact bytes (well-formed or
/// not) and reading exactly what the server answers.
///
/// Every wait is bounded (non-blocking socket + `poll`), writes never raise SIGPIPE
/// (MSG_NOSIGNAL), and the socket is close-on-exec so servers started by parallel
/// tests never inherit it. Bytes read beyond one response stay buffered for the
/// next `readResponse`, so pipelined responses are read one after another.
final class RawHTTPClient {
    /// What the connection looks like after a response, for "did the server close?"
    /// comparisons between skep and Apache.
    enum ConnectionState: Sendable, Equatable, CustomStringConvertible {
        /// The server closed (read returned 0).
        case closed
        /// The server reset the connection (ECONNRESET).
        case reset
        /// Still open: nothing arrived within the wait.
        case open
        /// The server sent bytes nobody asked for (left in the buffer).
        case unexpectedData([UInt8])

        var description: String {
            switch self {
            case .closed: "closed"
            case .reset: "reset"
            case .open: "open"
            case .unexpectedData(let bytes): "unexpected data: \(String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription)"
            }
        }
    }

    let port: UInt16
    /// Default bound for each send/read operation.
    var timeout: Duration
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var eof = false
    private var wasReset = false

    /// Connects to 127.0.0.1:`port` (or `host`, an IPv4 literal).
    init(port: UInt16, host: String = "127.0.0.1", timeout: Duration = .seconds(10)) throws {
        self.port = port
        self.timeout = timeout
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errnoText())") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = FreePort.loopback(port: port)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close()
            throw HarnessError("not an IPv4 address: \(host)")
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            let code = errno
            guard code == EINPROGRESS else {
                close()
                throw HarnessError("connect \(host):\(port): \(errnoText(code))")
            }
            let deadline = Deadline(after: timeout)
            guard try wait(for: Int16(POLLOUT), until: deadline) else {
                close()
                throw HarnessError("connect \(host):\(port): timed out after \(timeout)")
            }
            var error: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len)
            guard error == 0 else {
                close()
                throw HarnessError("connect \(host):\(port): \(errnoText(error))")
            }
        }
    }

    // The init's failure paths call `close()` too: once every stored property is set, a
    // throwing init still runs `deinit`, and a second `close(2)` of the number would close
    // whatever another thread opened under it meanwhile.
    deinit { close() }

    /// Closes the socket (idempotent).
    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Half-closes: the server reads EOF, we can still read its answer.
    func shutdownWrite() {
        if fd >= 0 { shutdown(fd, Int32(SHUT_WR)) }
    }

    /// Sets SO_LINGER 0 so that `close()` sends RST instead of FIN (an aborting client).
    func abortOnClose() {
        var lingerOption = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lingerOption, socklen_t(MemoryLayout<linger>.size))
    }

    // MARK: - Sending

    func send(_ text: String, timeout: Duration? = nil) throws {
        try send(Array(text.utf8), timeout: timeout)
    }

    /// Sends all of `bytes`, waiting for the socket to drain as needed.
    func send(_ bytes: [UInt8], timeout: Duration? = nil) throws {
        guard fd >= 0 else { throw HarnessError("send on a closed client") }
        let deadline = Deadline(after: timeout ?? self.timeout)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                offset += n
                continue
            }
            let code = errno
            if n < 0 && (code == EAGAIN || code == EWOULDBLOCK) {
                guard try wait(for: Int16(POLLOUT), until: deadline) else {
                    throw HarnessError("send: timed out with \(bytes.count - offset) of \(bytes.count) bytes unsent")
                }
                continue
            }
            if n < 0 && code == EINTR { continue }
            throw HarnessError("send: \(errnoText(code)) after \(offset) of \(bytes.count) bytes")
        }
    }

    /// Sends `bytes` in pieces of `chunkSize`, pausing between them (slow clients).
    func sendSlowly(_ bytes: [UInt8], chunkSize: Int = 1, pause: Duration) throws {
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunkSize, bytes.count)
            try send(Array(bytes[offset..<end]))
            offset = end
            // Pacing is the point: a client that trickles its bytes in.
            if offset < bytes.count { Deadline.sleep(for: pause) }
        }
    }

    // MARK: - Reading responses

    /// Reads one complete response (after any 1xx interim responses). `method` is the
    /// request's method: a HEAD response has no body whatever its headers say.
    func readResponse(method: String = "GET", timeout: Duration? = nil) throws -> HTTPResponse {
        guard let response = try readResponseOrClose(method: method, timeout: timeout) else {
            throw HarnessError("the server closed the connection (\(wasReset ? "reset" : "EOF")) before sending a response")
        }
        return response
    }

    /// Like `readResponse`, but nil when the server closes the connection cleanly
    /// before sending any byte of a response. With `stopAtInterim`, a 1xx interim
    /// response is returned by itself (for `Expect: 100-continue` clients that wait for
    /// it before sending the body).
    func readResponseOrClose(method: String = "GET", timeout: Duration? = nil, stopAtInterim: Bool = false) throws -> HTTPResponse? {
        let deadline = Deadline(after: timeout ?? self.timeout)
        var interim: [HTTPResponse] = []
        while true {
            guard let headEnd = try fillUntilHeadEnd(deadline: deadline) else {
                if buffer.isEmpty && interim.isEmpty { return nil }
                throw HarnessError("connection closed in the middle of a response head: \(String(decoding: buffer.prefix(300), as: UTF8.self).debugDescription)")
            }
            let head = String(decoding: buffer[..<headEnd.headLength], as: UTF8.self)
            buffer.removeFirst(headEnd.headLength + headEnd.terminatorLength)
            var response = try HTTPResponse.parseHead(head)
            if (100..<200).contains(response.status) && response.status != 101 {
                if stopAtInterim { return response }
                interim.append(response)
                continue
            }
            response.interim = interim
            try readBody(into: &response, method: method, deadline: deadline)
            return response
        }
    }

    /// Reads `count` pipelined responses; `methods` gives each request's method
    /// (default GET for all).
    func readResponses(_ count: Int, methods: [String] = [], timeout: Duration? = nil) throws -> [HTTPResponse] {
        try (0..<count).map { i in
            try readResponse(method: i < methods.count ? methods[i] : "GET", timeout: timeout)
        }
    }

    /// Sends a request and reads its response; the method is taken from the text.
    func exchange(_ request: String, timeout: Duration? = nil) throws -> HTTPResponse {
        try send(request, timeout: timeout)
        let method = request.split(separator: " ", maxSplits: 1).first.map(String.init) ?? "GET"
        return try readResponse(method: method, timeout: timeout)
    }

    /// Everything the server sends until it closes the connection (buffered bytes
    /// included): for HTTP/0.9 and for looking at raw bytes.
    func readUntilClose(timeout: Duration? = nil) throws -> [UInt8] {
        let deadline = Deadline(after: timeout ?? self.timeout)
        while !eof {
            guard try fill(deadline: deadline) else {
                throw HarnessError("the server did not close the connection within \(timeout ?? self.timeout); got \(buffer.count) bytes")
            }
        }
        defer { buffer.removeAll() }
        return buffer
    }

    /// Waits up to `within` for the server to close, and says what happened. Apache
    /// closes (FIN, then lingers) after an error response or `Connection: close`;
    /// differential tests compare this state between skep and Apache.
    func connectionState(within: Duration = .milliseconds(500)) -> ConnectionState {
        if !buffer.isEmpty { return .unexpectedData(buffer) }
        if eof { return wasReset ? .reset : .closed }
        let deadline = Deadline(after: within)
        do {
            guard try fill(deadline: deadline) else { return .open }
        } catch {
            return .reset
        }
        if !buffer.isEmpty { return .unexpectedData(buffer) }
        return wasReset ? .reset : .closed
    }

    /// True if the server closed (or reset) the connection within `within`.
    func serverClosed(within: Duration = .milliseconds(500)) -> Bool {
        switch connectionState(within: within) {
        case .closed, .reset: true
        case .open, .unexpectedData: false
        }
    }

    /// Bytes received but not consumed by a response yet.
    var bufferedBytes: [UInt8] { buffer }

    /// Takes the buffered bytes or, if none, waits up to `timeout` for some to arrive:
    /// raw bytes as they come, for timing how a streamed body arrives. Empty when
    /// nothing came in time or the server closed (`serverHasClosed`).
    func receiveAvailable(timeout: Duration) throws -> [UInt8] {
        if buffer.isEmpty && !eof {
            try fill(deadline: Deadline(after: timeout))
        }
        defer { buffer.removeAll() }
        return buffer
    }

    /// Whether a read has seen the end of the connection (FIN or reset).
    var serverHasClosed: Bool { eof }

    /// The client side's port (the server's REMOTE_PORT); nil once closed.
    var localPort: UInt16? {
        guard fd >= 0 else { return nil }
        var local = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return rc == 0 ? UInt16(bigEndian: local.sin_port) : nil
    }

    // MARK: - Internals

    private func readBody(into response: inout HTTPResponse, method: String, deadline: Deadline) throws {
        if method.uppercased() == "HEAD" || response.status == 204 || response.status == 304
            || (100..<200).contains(response.status) {
            response.framing = .none
            return
        }
        let transferEncoding = response.headers(named: "Transfer-Encoding").joined(separator: ",")
        let codings = transferEncoding.split(separator: ",").map { $0.trimmingWhitespace().lowercased() }
        if codings.last == "chunked" {
            response.framing = .chunked
            try readChunked(into: &response, deadline: deadline)
        } else if !codings.isEmpty {
            response.framing = .untilClose
            response.body = try readUntilClose(timeout: deadline.remaining)
        } else if let lengthText = response.header("Content-Length") {
            guard let length = Int(lengthText.trimmingWhitespace()), length >= 0 else {
                throw HarnessError("bad Content-Length: \(lengthText.debugDescription)")
            }
            response.framing = .contentLength(length)
            response.body = try take(length, deadline: deadline)
        } else {
            response.framing = .untilClose
            response.body = try readUntilClose(timeout: deadline.remaining)
        }
    }

    private func readChunked(into response: inout HTTPResponse, deadline: Deadline) throws {
        var body: [UInt8] = []
        while true {
            let line = try takeLine(deadline: deadline)
            let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingWhitespace() } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                throw HarnessError("bad chunk size line: \(line.debugDescription)")
            }
            if size == 0 { break }
            body += try take(size, deadline: deadline)
            let end = try takeLine(deadline: deadline)
            guard end.isEmpty else { throw HarnessError("chunk not followed by CRLF: \(end.debugDescription)") }
        }
        // Trailer section, up to an empty line.
        while true {
            let line = try takeLine(deadline: deadline)
            if line.isEmpty { break }
            if let colon = line.firstIndex(of: ":") {
                response.trailers.append(HTTPHeader(
                    name: String(line[..<colon]),
                    value: String(line[line.index(after: colon)...]).trimmingWhitespace()))
            }
        }
        response.body = body
    }

    /// Removes and returns one line (without CR LF) from the buffer.
    private func takeLine(deadline: Deadline) throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill(deadline: deadline), !eof || buffer.contains(UInt8(ascii: "\n")) else {
                throw HarnessError(eof ? "connection closed in the middle of a chunked body" : "timed out reading a chunked body")
            }
        }
    }

    /// Removes and returns exactly `count` bytes from the buffer.
    private func take(_ count: Int, deadline: Deadline) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill(deadline: deadline), !(eof && buffer.count < count) else {
                throw HarnessError(
                    "\(eof ? "connection closed" : "timed out") after \(buffer.count) of \(count) body bytes")
            }
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }

    /// Reads until the buffer holds a complete head; returns its length and the
    /// terminator's (CRLFCRLF or a bare LFLF), or nil if the server closed first.
    private func fillUntilHeadEnd(deadline: Deadline) throws -> (headLength: Int, terminatorLength: Int)? {
        var searchFrom = 0
        while true {
            if let found = findHeadEnd(from: searchFrom) { return found }
            searchFrom = max(0, buffer.count - 3)
            if eof { return nil }
            guard try fill(deadline: deadline) else {
                throw HarnessError("timed out waiting for a response head; got \(String(decoding: buffer.prefix(300), as: UTF8.self).debugDescription)")
            }
        }
    }

    private func findHeadEnd(from start: Int) -> (headLength: Int, terminatorLength: Int)? {
        var i = start
        while i < buffer.count {
            if buffer[i] == UInt8(ascii: "\n") {
                if i + 1 < buffer.count && buffer[i + 1] == UInt8(ascii: "\n") {
                    return (i + 1, 1)
                }
                if i + 2 < buffer.count && buffer[i + 1] == UInt8(ascii: "\r") && buffer[i + 2] == UInt8(ascii: "\n") {
                    return (i + 1, 2)
                }
            }
            i += 1
        }
        return nil
    }

    /// Reads what is available into the buffer. Returns false on timeout; true when
    /// bytes arrived or the connection ended (then `eof` is set).
    @discardableResult
    private func fill(deadline: Deadline) throws -> Bool {
        guard fd >= 0 else { throw HarnessError("read on a closed client") }
        if eof { return true }
        guard try wait(for: Int16(POLLIN), until: deadline) else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n > 0 {
                buffer += chunk[..<n]
                return true
            }
            if n == 0 {
                eof = true
                return true
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return try fill(deadline: deadline) }
            if code == ECONNRESET {
                eof = true
                wasReset = true
                return true
            }
            throw HarnessError("read: \(errnoText(code))")
        }
    }

    /// Polls for `events` until the deadline; true when ready (or hung up/errored,
    /// which the following read or write reports).
    private func wait(for events: Int16, until deadline: Deadline) throws -> Bool {
        while true {
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&pfd, 1, deadline.remainingMilliseconds)
            if rc > 0 { return true }
            if rc == 0 { return false }
            if errno == EINTR { continue }
            throw HarnessError("poll: \(errnoText())")
        }
    }
}
