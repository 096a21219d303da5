import SkepHTTP

/// Why a request body could not be read.
public enum BodyError: Error, Equatable {
    case timeout
    case clientClosed
    /// Larger than `LimitRequestBody`: Apache answers 413.
    case tooLarge
    /// Bad chunked framing: the status Apache answers.
    case malformed(HTTPStatus)
}

extension BodyError {
    /// The status Apache answers when reading the body failed this way.
    public var status: HTTPStatus {
        switch self {
        case .timeout: return .requestTimeout
        case .tooLarge: return .requestEntityTooLarge
        case .malformed(let status): return status
        case .clientClosed: return .badRequest
        }
    }
}

/// A request body as a stream, for handlers: `read(into:)` until it returns 0. It sends
/// `100 Continue` before the first read when the client asked for it, decodes chunked
/// framing, and enforces `LimitRequestBody`. Bytes already in the connection's buffer
/// are used first, then the socket is read directly.
public final class BodyReader {
    let io: any ConnectionIO
    let framing: BodyFraming
    let expectsContinue: Bool
    let timeoutMilliseconds: Int
    /// The body bytes that arrived with the head.
    let initial: UnsafeRawBufferPointer
    var initialUsed = 0
    var scratch: UnsafeMutableRawBufferPointer?
    var scratchStart = 0
    var scratchEnd = 0
    var decoder: ChunkedDecoder
    var remaining: Int64
    /// Chunk data not yet handed out (the caller's buffer was smaller than the chunk).
    var pendingData: Range<Int>?
    var pendingInScratch = false
    public private(set) var isFinished: Bool
    public private(set) var received: Int64 = 0
    public private(set) var continueSent = false
    public private(set) var abandoned = false
    var limit: Int64 = 0

    init(connection: HTTPConnection, io: some ConnectionIO, head: RequestHead) {
        self.io = io
        self.framing = head.framing
        self.expectsContinue = head.expectsContinue && head.version == .http11
        // mod_reqtimeout's body limit when it is loaded, else the core Timeout.
        self.timeoutMilliseconds = connection.timeouts.body?.milliseconds(afterReceiving: 0) ?? connection.core.timeout
        let unconsumed = connection.buffer.unconsumed
        let headLength = connection.pendingLength ?? 0
        self.initial = UnsafeRawBufferPointer(rebasing: unconsumed[headLength...])
        self.decoder = ChunkedDecoder(limits: HTTPLimits(requestFieldSize: connection.core.requestFieldSizeLimit,
                                                         requestFields: connection.core.requestFieldsLimit))
        switch head.framing {
        case .none: remaining = 0; isFinished = true
        case .length(let n): remaining = n; isFinished = n == 0
        case .chunked: remaining = 0; isFinished = false
        }
    }

    deinit { scratch?.deallocate() }

    /// Bytes of the connection's buffer this body used (the head's are not counted).
    var consumedFromBuffer: Int { initialUsed }

    /// Bytes read past the body's end (a pipelined request), to go back to the connection.
    var leftover: UnsafeRawBufferPointer {
        guard let scratch else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: scratch[scratchStart..<scratchEnd])
    }

    /// Reads body bytes into `buffer`; 0 at the end of the body.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(BodyError) -> Int {
        guard !isFinished, !abandoned, buffer.count > 0 else { return 0 }
        if expectsContinue && !continueSent {
            continueSent = true
            do {
                try ResponseHead.continueResponse.withUnsafeBytes { try io.write($0, timeoutMilliseconds: timeoutMilliseconds) }
            } catch {
                throw .clientClosed
            }
        }
        switch framing {
        case .none:
            return 0
        case .length:
            let want = Int(min(Int64(buffer.count), remaining))  // trap-safe: at most buffer.count, an Int
            var got = 0
            if initialUsed < initial.count {
                got = min(want, initial.count - initialUsed)
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: initial[initialUsed..<(initialUsed + got)]))
                initialUsed += got
            } else {
                got = try readSocket(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
            }
            remaining -= Int64(got)  // trap-safe: Int to Int64 widens
            received += Int64(got)  // trap-safe: Int to Int64 widens
            if remaining == 0 { isFinished = true }
            return got
        case .chunked:
            return try readChunked(into: buffer)
        }
    }

    private func readSocket(into buffer: UnsafeMutableRawBufferPointer) throws(BodyError) -> Int {
        let result: Int?
        do {
            result = try io.read(into: buffer, timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw .clientClosed
        }
        guard let n = result else { throw .timeout }
        guard n > 0 else { throw .clientClosed }
        return n
    }

    private func readChunked(into buffer: UnsafeMutableRawBufferPointer) throws(BodyError) -> Int {
        while true {
            if let data = pendingData {
                let source = pendingInScratch ? UnsafeRawBufferPointer(scratch!) : initial  // trap-safe: data pending in scratch means scratch was allocated
                let n = min(buffer.count, data.count)
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[data.lowerBound..<(data.lowerBound + n)]))
                pendingData = n == data.count ? nil : (data.lowerBound + n)..<data.upperBound
                received += Int64(n)  // trap-safe: Int to Int64 widens
                if limit > 0 && received > limit { throw .tooLarge }
                return n
            }
            // Decode from what is buffered: first the bytes that came with the head, then scratch.
            let inInitial = initialUsed < initial.count
            if !inInitial && scratchStart == scratchEnd {
                if scratch == nil { scratch = .allocate(byteCount: 65536, alignment: 8) }
                scratchStart = 0
                scratchEnd = try readSocket(into: scratch!)  // trap-safe: allocated on the line above
            }
            let base = inInitial ? initialUsed : scratchStart
            let end = inInitial ? initial.count : scratchEnd
            let source = inInitial ? initial : UnsafeRawBufferPointer(scratch!)  // trap-safe: past the initial bytes, every byte came through scratch, so it exists
            switch decoder.decode(UnsafeRawBufferPointer(rebasing: source[base..<end])) {
            case .data(let range):
                pendingData = (base + range.lowerBound)..<(base + range.upperBound)
                pendingInScratch = !inInitial
                advance(inInitial, to: base + range.upperBound)
            case .needMore(let consumed):
                advance(inInitial, to: base + consumed)
            case .end(let consumed):
                advance(inInitial, to: base + consumed)
                isFinished = true
                return 0
            case .error(let status, _):
                throw .malformed(status)
            }
        }
    }

    private func advance(_ inInitial: Bool, to position: Int) {
        if inInitial { initialUsed = position } else { scratchStart = position }
    }

    /// Reads and drops the rest of the body (Apache's `ap_discard_request_body`); the
    /// error when that failed and the connection must close.
    func discard(limit: Int) -> BodyError? {
        self.limit = Int64(limit)  // trap-safe: Int to Int64 widens
        if case .length(let n) = framing, limit > 0, n > Int64(limit) { return .tooLarge }  // trap-safe: Int to Int64 widens
        let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 8)
        defer { sink.deallocate() }
        do {
            while try read(into: sink) > 0 {}
            return nil
        } catch {
            abandoned = true
            return error
        }
    }

    /// Gives up on the body: the connection closes after the response.
    public func abandon() {
        abandoned = true
    }
}
