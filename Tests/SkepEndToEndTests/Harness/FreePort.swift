import Glibc
import Synchronization

/// Picks free TCP ports on 127.0.0.1 for test servers.
///
/// Ports come from 20000..<32768, below Linux's ephemeral range (32768..<60999), so a
/// port we hand out is not also taken as the source port of some client connection
/// between the moment we check it and the moment the server binds it. The starting
/// point is offset by the pid, and every port handed out in this process is
/// remembered, so parallel tests (and parallel test processes) do not collide. A
/// candidate is only returned if it can actually be bound right now.
enum FreePort {
    private static let range: Range<Int> = 20000..<32768
    private static let state = Mutex<(next: Int, used: Set<UInt16>)>(
        (next: Int(getpid()) &* 7919 % 12768, used: [])
    )

    /// A port on 127.0.0.1 that was free when checked and is not handed out twice by
    /// this process.
    static func next() throws -> UInt16 {
        for _ in 0..<2000 {
            let candidate: UInt16 = state.withLock { state in
                let offset = (state.next + Int.random(in: 1...37)) % range.count
                state.next = offset
                return UInt16(range.lowerBound + offset)
            }
            let fresh = state.withLock { $0.used.insert(candidate).inserted }
            if fresh, canBind(candidate) { return candidate }
        }
        // Fall back to letting the kernel choose.
        let port = try kernelChosen()
        _ = state.withLock { $0.used.insert(port) }
        return port
    }

    /// Whether a listening socket could be bound to 127.0.0.1:`port` right now
    /// (with SO_REUSEADDR, as servers bind).
    static func canBind(_ port: UInt16) -> Bool {
        let fd = boundSocket(port)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }

    /// A TCP socket bound to 127.0.0.1:`port` with SO_REUSEADDR, or -1 (errno set).
    private static func boundSocket(_ port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = loopback(port: port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let saved = errno
            close(fd)
            errno = saved
            return -1
        }
        return fd
    }

    /// Binds port 0 and returns what the kernel picked.
    static func kernelChosen() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errnoText())") }
        defer { close(fd) }
        var addr = loopback(port: 0)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw HarnessError("bind 127.0.0.1:0: \(errnoText())") }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: bound.sin_port)
    }

    /// A `sockaddr_in` for 127.0.0.1:`port`.
    static func loopback(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return addr
    }

    /// A listening TCP socket on a free loopback port, for the tests' fake servers: the
    /// descriptor and its port.
    static func listen(backlog: Int32) throws -> (fd: Int32, port: UInt16) {
        let port = try next()
        let fd = boundSocket(port)
        guard fd >= 0, Glibc.listen(fd, backlog) == 0 else {
            if fd >= 0 { Glibc.close(fd) }
            throw HarnessError("bind/listen 127.0.0.1:\(port): \(errnoText())")
        }
        return (fd, port)
    }
}
