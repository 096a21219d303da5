/// A response body produced while it is sent (a FastCGI back end's output, a handler
/// that streams): the connection sends the head, then calls `produce` on the thread
/// that ran the handler, which writes through a `ResponseBodyWriter` until it returns.
/// Throwing from `produce` (the source failed mid-body) closes the connection without
/// completing the framing, so the client can tell the response is cut short.
public final class ResponseStream {
    /// The body's length when known in advance (sent as `Content-Length`); nil sends it
    /// chunked to HTTP/1.1 clients and until the connection closes to HTTP/1.0 ones.
    public let length: Int64?
    let produce: (ResponseBodyWriter) throws -> Void
    let onAbandon: (() -> Void)?

    /// - Parameters:
    ///   - length: the body's length, or nil when it is not known in advance.
    ///   - onAbandon: called instead of `produce` when the body is not sent at all (a
    ///     HEAD request, a response replaced by an error document), to release what
    ///     `produce` would have used.
    ///   - produce: writes the body.
    public init(length: Int64? = nil, onAbandon: (() -> Void)? = nil, produce: @escaping (ResponseBodyWriter) throws -> Void) {
        self.length = length
        self.onAbandon = onAbandon
        self.produce = produce
    }

    /// This stream passed through a body filter (an output filter's transform of a
    /// streamed body): what `produce` writes goes to the sink `makeSink` builds around
    /// the connection's writer, flushes included, and the sink is finished when `produce`
    /// returns. The result's length is unknown (the transform changes it).
    public func filtered(through makeSink: @escaping (ResponseBodyWriter) throws -> any ResponseBodySink) -> ResponseStream {
        ResponseStream(length: nil, onAbandon: onAbandon) { writer in
            let sink = try makeSink(writer)
            let inner = ResponseBodyWriter(forwardingTo: sink, length: self.length)
            try self.produce(inner)
            if let length = self.length, inner.bodyBytes != length { throw ResponseBodyWriter.WriteError.lengthMismatch }
            try sink.finish()
        }
    }
}

/// Where a body filter sends a streamed body: the bytes as they come, flushes, and
/// the end. `ResponseBodyWriter` is the last sink (the connection); a filter's sink
/// transforms and writes to the next.
public protocol ResponseBodySink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func flush() throws
    /// The body is complete: write what the transform still holds (not the last sink's end).
    func finish() throws
}

/// Where a streamed body goes: it frames what it is given (chunks, or raw bytes up to
/// `Content-Length`) and writes to the client with the connection's `Timeout`. The head
/// waits in the writer until the first flush, so a short body leaves in one write.
public final class ResponseBodyWriter {
    public enum WriteError: Error {
        /// The client did not take the bytes within `Timeout`, or went away.
        case clientGone
        /// More or fewer bytes than the `Content-Length` the stream announced.
        case lengthMismatch
    }

    let io: (any ConnectionIO)?
    /// Set for a writer that feeds a body filter instead of the connection.
    let forward: (any ResponseBodySink)?
    let timeoutMilliseconds: Int
    let chunked: Bool
    let sendsBody: Bool
    let length: Int64?
    var pending: [UInt8]
    /// Body bytes handed to `write`, framing excluded.
    public private(set) var bodyBytes: Int64 = 0
    /// Everything written to the socket, head and framing included.
    private(set) var bytesWritten: Int64 = 0
    /// Bytes kept before a write to the client when the producer does not flush.
    static let threshold = 8192

    init(io: any ConnectionIO, head: [UInt8], chunked: Bool, sendsBody: Bool, length: Int64?, timeoutMilliseconds: Int) {
        self.io = io
        self.forward = nil
        self.pending = head
        self.chunked = chunked
        self.sendsBody = sendsBody
        self.length = length
        self.timeoutMilliseconds = timeoutMilliseconds
        pending.reserveCapacity(Self.threshold + 64)
    }

    /// A writer whose bytes go to a body filter's sink (see `ResponseStream.filtered`);
    /// `length` is what the unfiltered stream announced, still checked.
    init(forwardingTo sink: any ResponseBodySink, length: Int64?) {
        self.io = nil
        self.forward = sink
        self.pending = []
        self.chunked = false
        self.sendsBody = true
        self.length = length
        self.timeoutMilliseconds = 0
    }

    /// Adds body bytes; they reach the client once enough are pending, or at `flush`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        bodyBytes += Int64(bytes.count)  // trap-safe: Int to Int64 widens
        if let length, bodyBytes > length { throw WriteError.lengthMismatch }
        if let forward { return try forward.write(bytes) }
        guard sendsBody else { return }
        if chunked {
            appendChunkSize(bytes.count)
            pending.append(contentsOf: bytes)
            pending.append(0x0D)
            pending.append(0x0A)
        } else {
            pending.append(contentsOf: bytes)
        }
        if pending.count >= Self.threshold { try send() }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Sends what is pending now (FastCGI's `flushpackets`, a handler's explicit flush).
    public func flush() throws {
        if let forward { return try forward.flush() }
        if !pending.isEmpty { try send() }
    }

    /// Ends the body: the last chunk, and a check that a declared length was met.
    func finish() throws {
        if let length, bodyBytes != length { throw WriteError.lengthMismatch }
        if chunked && sendsBody { pending.append(contentsOf: [0x30, 0x0D, 0x0A, 0x0D, 0x0A]) }
        try flush()
    }

    /// Sends the head if it is still pending, without the body framing (the body failed).
    func abort() {
        try? flush()
    }

    private func appendChunkSize(_ n: Int) {
        let hex = Array("0123456789abcdef".utf8)
        var digits: [UInt8] = []
        var v = n
        repeat {
            digits.append(hex[v & 0xF])
            v >>= 4
        } while v > 0
        pending.append(contentsOf: digits.reversed())
        pending.append(0x0D)
        pending.append(0x0A)
    }

    private func send() throws {
        guard let io else { return }
        do {
            try pending.withUnsafeBytes { try io.write($0, timeoutMilliseconds: timeoutMilliseconds) }
        } catch {
            pending.removeAll(keepingCapacity: true)
            throw WriteError.clientGone
        }
        bytesWritten += Int64(pending.count)  // trap-safe: Int to Int64 widens
        pending.removeAll(keepingCapacity: true)
    }
}
