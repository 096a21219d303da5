import Foundation
import Glibc

/// A one-connection fake server on a free loopback port that reads the request head
/// and answers with canned bytes, then closes (or not). Used to test the clients
/// against framings a real server will not easily produce on demand (1xx interim
/// responses, trailers, body until close).
final class CannedServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let thread: Thread
    private let done = DispatchSemaphore(value: 0)

    /// Answers the first connection with `reply` once it has read a blank line (or
    /// after 2 s); keeps the connection open for `holdOpen` before closing.
    init(reply: [UInt8], holdOpen: Duration = .zero) throws {
        let (listeningFD, port) = try FreePort.listen(backlog: 4)
        self.port = port
        listener = listeningFD
        let done = self.done
        thread = Thread {
            defer { done.signal() }
            let fd = accept(listeningFD, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            defer { Glibc.close(fd) }
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            let deadline = Deadline(after: .seconds(2))
            while !received.containsBlankLine && !deadline.hasPassed {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, deadline.remainingMilliseconds) > 0 else { break }
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n <= 0 { break }
                received += chunk[..<n]
            }
            _ = reply.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            // A fixed hold is the behaviour asked for: a peer that answers, then lingers.
            if holdOpen > .zero { Deadline.sleep(for: holdOpen) }
        }
        thread.start()
    }

    convenience init(reply: String, holdOpen: Duration = .zero) throws {
        try self.init(reply: Array(reply.utf8), holdOpen: holdOpen)
    }

    /// Waits for the connection to be served, then closes the listener.
    func finish() {
        _ = done.wait(timeout: .now() + 10)
        Glibc.close(listener)
    }
}

private extension Array where Element == UInt8 {
    var containsBlankLine: Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4) where self[i] == 13 && self[i + 1] == 10 && self[i + 2] == 13 && self[i + 3] == 10 {
            return true
        }
        return false
    }
}
