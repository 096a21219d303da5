import Foundation
import Testing

/// systemd's `NOTIFY_SOCKET` protocol, against a datagram socket the test opens:
/// `READY=1` with `MAINPID` once the master serves, `RELOADING=1` then `READY=1` around a
/// graceful restart, `STOPPING=1` on stop.
@Suite(.tags(.skepBinary))
struct ServiceNotifyTests {
    /// A bound Unix datagram socket that collects what the server sends.
    final class NotifySocket {
        let fd: Int32
        let path: String

        init() throws {
            path = NSTemporaryDirectory() + "skep-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw HarnessError("socket: \(errno)") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { throw HarnessError("bind \(path): \(errno)") }
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// The next message, waiting at most until the deadline.
        func receive(within timeout: Duration) throws -> String? {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            guard poll(&entry, 1, ms) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }

        /// Collects messages until one contains `text`.
        func wait(for text: String, timeout: Duration = .seconds(15)) throws -> [String] {
            let deadline = Deadline(after: timeout)
            var seen: [String] = []
            while !deadline.hasPassed {
                guard let message = try receive(within: deadline.remaining) else { continue }
                seen.append(message)
                if message.contains(text) { return seen }
            }
            throw HarnessError("no \(text) from the server within \(timeout); got \(seen)")
        }
    }

    @Test(arguments: [MPM.prefork, .event])
    func readyReloadingStopping(mpm: MPM) throws {
        let notify = try NotifySocket()
        var config = try TestConfig(mpm: mpm, extra: "StartServers 1")
        try config.root.writeDocument("index.html", "hi\n")
        config.accessLogFormat = nil
        try withServer(.skep, config: config, environment: ["NOTIFY_SOCKET": notify.path]) { server in
            let ready = try notify.wait(for: "READY=1")
            #expect(ready.last?.contains("MAINPID=\(server.pid)") == true, "\(ready)")
            server.signal(SIGUSR1)
            let reload = try notify.wait(for: "READY=1")
            #expect(reload.contains { $0.contains("RELOADING=1") }, "\(reload)")
            server.signal(SIGTERM)
            _ = try notify.wait(for: "STOPPING=1")
        }
    }
}
