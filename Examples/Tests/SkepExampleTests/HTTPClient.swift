import Glibc

/// A response as read off the wire, framing included.
struct RawResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    /// The body as sent: still chunked when `Transfer-Encoding` says so.
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The chunks of a chunked body, each as sent (the framing checked strictly).
    func chunks() throws -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        var rest = body[...]
        while true {
            guard let lineEnd = rest.firstRange(of: [13, 10]),
                  let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16),
                  rest.count >= lineEnd.upperBound - rest.startIndex + size + 2 else {
                throw TestFailure("bad chunked framing at: \(String(decoding: rest.prefix(40), as: UTF8.self))")
            }
            let data = rest[lineEnd.upperBound..<(lineEnd.upperBound + size)]
            rest = rest[(data.endIndex + 2)...]
            if size == 0 { return chunks }
            chunks.append(Array(data))
        }
    }
}

/// `GET path` over one connection (`Connection: close`), read to its end.
func get(_ path: String, port: UInt16) throws -> RawResponse {
    let fd = try connectLoopback(port)
    defer { close(fd) }
    var timeout = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
    guard write(fd, request, request.count) == request.count else { throw TestFailure("write: errno \(errno)") }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
        let n = read(fd, &buffer, buffer.count)
        guard n >= 0 else { throw TestFailure("read: errno \(errno)") }
        if n == 0 { break }
        received += buffer[..<n]
    }
    guard let headEnd = received.firstRange(of: [13, 10, 13, 10]) else {
        throw TestFailure("no response head in \(received.count) bytes")
    }
    let lines = String(decoding: received[..<headEnd.lowerBound], as: UTF8.self).split(separator: "\r\n")
    guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
        throw TestFailure("bad status line")
    }
    let headers = lines.dropFirst().map { line in
        let colon = line.firstIndex(of: ":") ?? line.endIndex
        return (String(line[..<colon]), line[colon...].dropFirst().trimmingPrefix(" ").description)
    }
    return RawResponse(status: status, headers: headers, body: Array(received[headEnd.upperBound...]))
}

/// A socket connected to 127.0.0.1:`port`.
func connectLoopback(_ port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    var address = loopback(port)
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else {
        close(fd)
        throw TestFailure("connect to port \(port): errno \(errno)")
    }
    return fd
}

/// A port no one listens on now: bound to port 0, read back, released.
func freePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    defer { close(fd) }
    var address = loopback(0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let rc = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 ? getsockname(fd, pointer, &length) : -1
        }
    }
    guard rc == 0 else { throw TestFailure("bind port 0: errno \(errno)") }
    return UInt16(bigEndian: address.sin_port)
}

func loopback(_ port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}
