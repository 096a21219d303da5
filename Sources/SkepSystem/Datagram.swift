#if canImport(Glibc)
import Glibc
#endif

/// One-shot Unix datagrams, for telling a service manager how the server is doing
/// (systemd's `NOTIFY_SOCKET` protocol).
public enum Datagram {
    /// Sends `message` to the Unix datagram socket at `path`; a leading `@` names an
    /// abstract socket, as systemd writes it.
    public static func send(_ message: String, toUnixPath path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(errno: Errno(rawValue: errno), call: "socket") }
        defer { Glibc.close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { throw SystemError(errno: .fileNameTooLong, call: "sendto") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count)
        let sent = message.withCString { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
        if sent < 0 { throw SystemError(errno: Errno(rawValue: errno), call: "sendto") }
    }
}
