import Glibc
@testable import SkepSystem

/// A test thread: `PosixThread` that must start.
struct TestThread {
    let thread: PosixThread
    init(_ body: @escaping @Sendable () -> Void) {
        thread = try! PosixThread.spawn(name: "skep-test", body)
    }
    func join() { thread.join() }
}

/// A value written by one thread and read by another after `join` (join orders them).
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// A connected loopback pair: (client, server-side accepted socket).
func connectedPair(ipv6: Bool = false) throws -> (client: Socket, server: Socket, listener: ListeningSocket) {
    let address = ipv6 ? SocketAddress.loopbackIPv6(port: 0) : SocketAddress.loopbackIPv4(port: 0)
    let listener = try ListeningSocket.listen(on: address)
    let bound = try listener.localAddress
    let client = try Socket.connect(to: bound)
    guard let (server, _) = try listener.accept() else { fatalError("accept returned nil on a blocking listener") }
    return (client, server, listener)
}

/// Creates a temporary file holding `bytes`; returns its path.
func makeTemporaryFile(_ bytes: [UInt8]) throws -> String {
    var template = Array("/tmp/skep-system-test-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    if fd == -1 { throw SystemError("mkstemp") }
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    let file = File(descriptor: Descriptor(rawValue: fd))
    defer { file.close() }
    try bytes.withUnsafeBytes { try file.writeAll($0) }
    return path
}

/// Deterministic test payload.
func pattern(count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ $0 / 251) }
}

/// Reads from a blocking socket until EOF (or `limit` bytes), with a per-read timeout.
func readAll(_ socket: Socket, limit: Int = .max, timeoutMilliseconds: Int = 10_000) throws -> [UInt8] {
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while result.count < limit {
        let ready = try socket.wait(for: .readable, timeoutMilliseconds: timeoutMilliseconds)
        if ready.isEmpty { throw SystemError(code: ETIMEDOUT, "readAll") }
        let outcome = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
        switch outcome {
        case .transferred(0): return result
        case .transferred(let n): result += buffer[0..<n]
        case .wouldBlock: continue
        }
    }
    return result
}

/// Writes all of `bytes` to a blocking socket.
func writeAll(_ socket: Socket, _ bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
        let outcome = try bytes.withUnsafeBytes { try socket.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
        if case .transferred(let n) = outcome { offset += n } else {
            _ = try socket.wait(for: .writable, timeoutMilliseconds: 10_000)
        }
    }
}
