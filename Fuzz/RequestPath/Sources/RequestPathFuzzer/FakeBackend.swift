import SkepServer
import SkepSystem

/// A FastCGI application on a loopback port that answers every request with the bytes
/// the current input gives it, so the fuzzer drives mod_proxy_fcgi's reading of records,
/// the script's headers and the streamed body.
///
/// One thread accepts connections one after another (the harness runs one request at a
/// time). For each it reads what Skep sends up to the empty STDIN record that ends a
/// request (or the close, or two seconds), writes the answer, and closes: Skep never
/// waits on it past its own timeouts, and a kept connection (`enablereuse=on`) is found
/// closed by the next request.
final class FakeBackend: @unchecked Sendable {
    let port: UInt16
    private let listener: ListeningSocket
    private let mutex = Mutex()
    private var answer: [UInt8] = []

    init() throws {
        listener = try ListeningSocket.listen(on: .loopbackIPv4(port: 0))
        port = try listener.localAddress.port
        _ = try PosixThread.spawn(name: "fuzz-backend") { [self] in
            while true { serveOne() }
        }
    }

    /// What the next connections are answered with.
    func setAnswer(_ bytes: [UInt8]) {
        mutex.withLock { answer = bytes }
    }

    private func serveOne() {
        guard let (socket, _) = try? listener.accept() else { return }
        defer { socket.close() }
        readRequest(socket)
        let bytes = mutex.withLock { answer }
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { try? socket.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            guard case .transferred(let n)? = result, n > 0 else { return }
            offset += n
        }
    }

    /// Reads records until the empty STDIN record; gives up at EOF, an error or a stall.
    private func readRequest(_ socket: Socket) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            var offset = 0
            while pending.count - offset >= FastCGIRecord.headerLength {
                let type = pending[offset + 1]
                let length = Int(pending[offset + 4]) << 8 | Int(pending[offset + 5])
                let padding = Int(pending[offset + 6])
                if type == FastCGIRecord.RecordType.stdin.rawValue && length == 0 { return }
                let size = FastCGIRecord.headerLength + length + padding
                guard pending.count - offset >= size else { break }
                offset += size
            }
            pending.removeFirst(offset)
            guard let ready = try? socket.wait(for: .readable, timeoutMilliseconds: 2000), !ready.isEmpty,
                  let result = buffer.withUnsafeMutableBytes({ try? socket.read(into: $0) }),
                  case .transferred(let n) = result, n > 0 else { return }
            pending.append(contentsOf: buffer[..<n])
        }
    }
}
