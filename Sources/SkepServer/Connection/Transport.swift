import SkepSystem

/// What a connection's bytes travel over: its socket, or a TLS session on it. Every MPM
/// reads and writes through it, so the one HTTP/1.1 state machine serves both. A plain
/// transport is the socket's own calls; a TLS one encrypts, coalesces what a plain one
/// would send with `writev`, and sends files by reading them (no `sendfile`: these
/// kernels have no kernel TLS).
public struct Transport {
    public let socket: Socket
    public let tls: TLSSession?

    public init(socket: Socket, tls: TLSSession?) {
        self.socket = socket
        self.tls = tls
    }

    /// The readiness a `.wouldBlock` from this transport waits for: a TLS read may need
    /// to write (a handshake message), a TLS write may need to read.
    public func waitEvents(reading: Bool) -> PollEvents {
        guard let tls else { return reading ? .readable : .writable }
        return tls.wantsWrite ? .writable : .readable
    }

    /// Bytes a read would return at once that no socket readiness announces (TLS records
    /// already decrypted inside OpenSSL).
    public var hasBufferedInput: Bool { tls?.hasBufferedInput ?? false }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult {
        guard let tls else { return try socket.read(into: buffer) }
        return try tls.read(into: buffer)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws -> IOResult {
        guard let tls else { return try socket.write(bytes) }
        return try tls.write(bytes)
    }

    /// The buffers in order, as far as they go: one `writev`, or over TLS one record of
    /// as many of their bytes as fit (rebuilt the same on a retry after `.wouldBlock`).
    public func writev(_ buffers: [UnsafeRawBufferPointer]) throws -> IOResult {
        guard let tls else { return try socket.writev(buffers) }
        let total = min(buffers.reduce(0) { $0 + $1.count }, Self.recordSize)
        return try withUnsafeTemporaryAllocation(byteCount: total, alignment: 8) { scratch in
            var filled = 0
            for buffer in buffers where filled < total {
                let take = min(buffer.count, total - filled)
                guard take > 0, let source = buffer.baseAddress, let target = scratch.baseAddress else { continue }
                (target + filled).copyMemory(from: source, byteCount: take)
                filled += take
            }
            return try tls.write(UnsafeRawBufferPointer(rebasing: scratch[..<filled]))
        }
    }

    /// The largest TLS record's plaintext.
    static let recordSize = 16384

    /// Whether files may go out with `sendfile` (plain sockets only).
    public var sendsFiles: Bool { tls == nil }

    public func sendfile(from file: Descriptor, offset: Int64, count: Int) throws -> IOResult {
        try socket.sendfile(from: file, offset: offset, count: count)
    }

    /// Ends the write side: TLS's close_notify first.
    public func shutdownWrite() throws {
        tls?.shutdown()
        try socket.shutdownWrite()
    }
}
