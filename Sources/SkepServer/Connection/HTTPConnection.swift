import SkepConfig
import SkepHTTP
import SkepScoreboard
import SkepSystem

/// One HTTP/1.1 connection as an explicit state machine: the I/O layer (any MPM) reads
/// into `readSpace()`, reports with `didRead`/`didTimeout`/`didWrite`, and performs the
/// action each call returns. The machine never blocks except where a handler reads a
/// request body, which it does through `BodyReader` on the thread that runs `process`.
public final class HTTPConnection {
    public enum Action: Equatable {
        /// Read more bytes, waiting at most this long.
        case read(timeoutMilliseconds: Int)
        /// A complete head is in the buffer: run `process` (on a worker thread, for event).
        case process
        /// Write `output` until it is complete, then call `didWrite`.
        case write
        case close
        /// Shut down the write side, drain what the client still sends for a while, close
        /// (Apache's lingering close, so the client reads the response before any reset).
        case lingeringClose
    }

    /// Where the connection is, for the scoreboard and the event MPM's queues.
    public enum Phase: Sendable, Equatable {
        /// No byte of the next request yet: Apache's `K` (keep-alive) or, first, `R`.
        case waitingForRequest
        case readingHead
        case processing
        case writing
        case closing

        /// The scoreboard character Apache shows for this phase.
        func workerStatus(requestsServed: Int) -> WorkerStatus {
            switch self {
            case .waitingForRequest: return requestsServed > 0 ? .keepAlive : .reading
            case .readingHead: return .reading
            case .processing, .writing: return .writing
            case .closing: return .closing
            }
        }
    }

    public let context: ServerContext
    public let client: SocketAddress
    public let local: SocketAddress
    /// The connection's TLS session (mod_ssl), nil for plain HTTP.
    public let tls: TLSSession?
    /// The scoreboard slot of the thread (or prefork child) serving this connection; the
    /// event MPM sets it each time a worker takes the connection and clears it after.
    public var score: WorkerScore?
    public private(set) var phase: Phase = .waitingForRequest {
        didSet { if phase != oldValue { score?.setStatus(phase.workerStatus(requestsServed: requestsServed)) } }
    }
    public var output = ResponseOutput()
    public private(set) var requestsServed = 0
    /// Set by the MPM when the child is stopping: the current response is the last.
    public var shuttingDown = false

    var buffer: ConnectionBuffer
    var parser: RequestParser
    /// The length of the complete head waiting to be processed (the head is the parser's).
    var pendingLength: Int?
    var closeAfterWrite = false
    var lastRequest: Request?
    var lastResponse: (status: HTTPStatus, headers: [(name: String, value: String)])?
    var bodyBytesReceived: Int64 = 0
    /// How `prepare` framed a streamed body, for `send`.
    var streamChunked = false
    var streamSendsBody = true
    // Read through the context, not copied: 10,000 idle connections would hold 3 MiB of copies.
    var core: CoreServerConfig { context.core }
    var timeouts: RequestTimeouts { context.timeouts }
    var headStartedMilliseconds: UInt64 = 0

    /// The client's address as the scoreboard shows it, formatted once per connection.
    let clientText: [UInt8]
    /// How long a write may wait for room in the send buffer (`Timeout`).
    public var writeTimeoutMilliseconds: Int { core.timeout }

    public init(context: ServerContext, client: SocketAddress, local: SocketAddress, tls: TLSSession? = nil, score: WorkerScore? = nil) {
        self.context = context
        self.client = client
        self.local = local
        self.tls = tls
        self.score = score
        self.clientText = Array(client.host.utf8)
        let core = context.core
        self.buffer = ConnectionBuffer()
        self.parser = RequestParser(limits: HTTPLimits(
            requestLine: core.requestLineLimit, requestFieldSize: core.requestFieldSizeLimit,
            requestFields: core.requestFieldsLimit))
    }

    deinit {
        output.release()
        buffer.deallocate()
        score?.resetConnection()
    }

    /// The first action for a new connection.
    public func start() -> Action {
        score?.setStatus(.reading)
        headStartedMilliseconds = SystemClock.monotonicMilliseconds()
        return .read(timeoutMilliseconds: timeouts.headTimeout(core))
    }

    /// Where the next read goes.
    public func readSpace() -> UnsafeMutableRawBufferPointer { buffer.readSpace() }

    /// What a connection waiting for its next request need not hold: its read buffer and
    /// its response arrays, all empty then. The event listener pools them, so an idle
    /// keep-alive connection holds neither and a busy one reuses another's.
    public struct IdleStorage {
        let buffer: UnsafeMutableRawBufferPointer
        let output: ResponseOutput.Arrays

        /// Frees what the pool does not keep.
        public func deallocate() { buffer.deallocate() }
    }

    /// Whether the connection holds no read buffer (it was parked, or never read).
    public var isParked: Bool { buffer.isDetached }

    /// Takes the idle storage of a connection that waits with nothing buffered; nil otherwise.
    public func park() -> IdleStorage? {
        guard phase == .waitingForRequest, output.isComplete, let block = buffer.detach() else { return nil }
        return IdleStorage(buffer: block, output: output.takeArrays())
    }

    /// Gives a parked connection pooled storage before it reads.
    public func unpark(_ storage: IdleStorage) {
        buffer.adopt(storage.buffer)
        output.adopt(storage.output)
    }

    /// `count` bytes arrived in `readSpace()`; 0 means the client closed its side.
    public func didRead(_ count: Int) -> Action {
        guard count > 0 else { return .close }
        if phase == .waitingForRequest {
            phase = .readingHead
            headStartedMilliseconds = SystemClock.monotonicMilliseconds()
        }
        buffer.didRead(count)
        return parseNext()
    }

    /// A read failed: a client that spoke plain HTTP to a TLS port gets Apache's 400 in
    /// plain text; any other TLS failure (a bad or stalled handshake, a broken record)
    /// is logged at `info`, as Apache logs it, and closes this connection only. Nil: close.
    public func didFailRead(_ error: Error) -> Action? {
        guard let tls, let failure = error as? TLSError else { return nil }
        if failure == .plainHTTP {
            context.errorLog.log(.info, module: "ssl", client: client, "AH02261: SSL handshake failed: HTTP spoken on HTTPS port; trying to send HTML error page")
            tls.speakPlainText()
            // OpenSSL consumed the request's first bytes; as mod_ssl, the refusal answers
            // (and logs) `GET / HTTP/1.0`.
            Self.plainHTTPRequest.withUnsafeBytes { buffer.append($0) }
            return respondWithoutRequest(.badRequest, note: "Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n Instead use the HTTPS scheme to access this URL, please.<br />\n")
        }
        context.errorLog.log(.info, module: "ssl", client: client,
                             tls.isEstablished ? "AH02008: SSL library error reading data: \(failure)" : "AH02261: SSL handshake failed: \(failure)")
        return nil
    }

    static let plainHTTPRequest = Array("GET / HTTP/1.0\r\n\r\n".utf8)

    /// The read deadline passed: a half-read head gets Apache's 408, an idle connection is closed.
    public func didTimeout() -> Action {
        guard phase == .readingHead, !buffer.isEmpty else { return .close }
        context.errorLog.log(.info, module: "reqtimeout", client: client, "AH01382: Request header read timeout")
        return respondWithoutRequest(.requestTimeout)
    }

    func parseNext() -> Action {
        if buffer.isEmpty {
            phase = .waitingForRequest
            return .read(timeoutMilliseconds: requestsServed > 0 ? core.keepAliveTimeout : timeouts.headTimeout(core))
        }
        if phase == .waitingForRequest {
            phase = .readingHead
            headStartedMilliseconds = SystemClock.monotonicMilliseconds()
        }
        switch parser.parse(buffer.unconsumed) {
        case .needMore:
            if buffer.count >= buffer.maximum { return respondWithoutRequest(.badRequest) }
            // Without mod_reqtimeout, `Timeout` bounds each read, as Apache's core does;
            // with it, the head as a whole (extended by MinRate).
            guard timeouts.header != nil else { return .read(timeoutMilliseconds: core.timeout) }
            let elapsed = Int(SystemClock.monotonicMilliseconds() - headStartedMilliseconds)  // trap-safe: monotonic milliseconds since the head began
            let remaining = timeouts.headTimeout(core, received: buffer.count) - elapsed
            if remaining <= 0 { return didTimeout() }
            return .read(timeoutMilliseconds: remaining)
        case .error(let status, let reason):
            context.errorLog.log(.info, module: "core", client: client, "AH00566: request failed: \(reason)")
            return respondWithoutRequest(status)
        case .headComplete(_, let consumed):
            pendingLength = consumed
            phase = .processing
            return .process
        }
    }

    /// Answers a request that could not be parsed: the error page, then close. It is
    /// logged as Apache logs it: `%r` is the request line as far as it was read, and the
    /// header fields read before the error are there for `%{...}i`.
    func respondWithoutRequest(_ status: HTTPStatus, note: String? = nil) -> Action {
        phase = .writing
        closeAfterWrite = true
        let bytes = buffer.unconsumed
        let refused = parser.refused(in: bytes)
        let request = Request(head: refused.head, bytes: bytes, headLength: bytes.count, client: client, local: local,
                              server: context.selectServer(local: local, host: refused.head.host(in: bytes)),
                              sequence: requestsServed + 1)
        request.refusedRequestLine = refused.requestLine
        request.tls = tls
        lastRequest = request
        let body = ErrorPages.body(status, method: "GET", signature: nil, note: note ?? parser.errorNote)
        var head = ResponseHead(status: status, contentLength: Int64(body.utf8.count), connection: .close)  // trap-safe: Int to Int64 widens
        head.setContentType("text/html; charset=iso-8859-1")
        output.reset()
        head.write(into: &output.head, date: ThreadDate.value(at: SystemClock.now().seconds), server: context.serverBannerBytes)
        output.parts.append(.bytes(Array(body.utf8)))
        lastResponse = (status, [])
        return .write
    }

    /// Runs the pending request through the modules and prepares the response. `io`
    /// reads request bodies on the calling thread.
    public func process(io: some ConnectionIO) -> Action {
        guard let length = pendingLength else { return .close }
        let head = parser.completedHead
        let request = makeRequest(head, length)
        if let score { recordStart(head, request.bytes, request.server, score) }
        // A request without a body (most of them) needs no reader: one allocation less.
        let body = head.framing == .none ? nil : BodyReader(connection: self, io: io, head: head)
        request.body = body
        var response: Response
        let limit = request.server.defaults[CoreDirConfig.self].requestBodyLimit
        if case .length(let n) = head.framing, limit > 0, n > Int64(limit) {  // trap-safe: Int to Int64 widens
            response = RequestProcessor(context: context).error(.requestEntityTooLarge, request)
            body?.abandon()
        } else {
            response = RequestProcessor(context: context).process(request)
            // The output filters (content, then BYTERANGE).
            OutputFilterChain.run(&response, request, context)
        }
        // Apache discards an unread body so the connection can carry the next request; a
        // client still waiting for `100 Continue` is answered and the connection closed.
        if let body, !body.isFinished {
            if head.expectsContinue && !body.continueSent {
                body.abandon()
            } else if body.discard(limit: limit) != nil {
                body.abandon()
            }
        }
        bodyBytesReceived = body?.received ?? 0
        buffer.consume(length + (body?.consumedFromBuffer ?? 0))
        let abandoned = body?.abandoned ?? false
        if let body, !abandoned { buffer.append(body.leftover) }
        let action = prepare(&response, for: request, keepAliveAllowed: !abandoned)
        if case .stream(let stream) = response.body { return send(stream, io: io) }
        return action
    }

    /// Runs the pending request on the calling thread if nothing in it may block (the
    /// event MPM's listener): it has no body, its files are in the child's file cache and
    /// its handler is one that never waits. Nil when it needs a worker; the connection is
    /// then as it was, and the run's partial work is dropped.
    public func processWithoutBlocking() -> Action? {
        guard let length = pendingLength, parser.completedHead.framing == .none else { return nil }
        let head = parser.completedHead
        // A target whose handler blocked a moment ago goes to a worker without a try.
        let bytes = buffer.unconsumed
        let target = UnsafeRawBufferPointer(rebasing: bytes[head.targetRange])
        let host = head.hostRange.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let now = SystemClock.monotonicNanoseconds()
        let workerTargets = Self.workerTargets.value
        if workerTargets.contains(target, host: host, now: now) { return nil }
        let request = makeRequest(head, length)
        let run = Self.listenerRuns.value
        run.blocked = false
        run.blockedByHandler = false
        request.listenerRun = run
        if let score {
            score.setStatus(.writing)
            recordStart(head, request.bytes, request.server, score)
        }
        var response = RequestProcessor(context: context).process(request)
        if request.wouldBlock {
            if run.blockedByHandler { workerTargets.insert(target, host: host, now: now) }
            return nil
        }
        // A filter that may block (DEFLATE on a body it has not cached) sends the request
        // to a worker, which runs it again from the start.
        guard OutputFilterChain.run(&response, request, context) else {
            response.discard()
            return nil
        }
        if case .stream(let stream) = response.body {
            // A handler declared non-blocking answered with a stream, which could stall
            // every connection of the child here: refused, and said so.
            stream.onAbandon?()
            context.errorLog.log(.error, module: "core", client: client,
                                 "a handler declared non-blocking answered \(request.requestLine) with a stream; answering 500")
            response = RequestProcessor(context: context).error(.internalServerError, request)
        }
        bodyBytesReceived = 0
        buffer.consume(length)
        return prepare(&response, for: request, keepAliveAllowed: true)
    }

    /// The marker of a listener run, one per thread (the listener's) and reused.
    private static let listenerRuns = ThreadLocal { ListenerRun() }
    /// The listener's memory of targets that need a worker, one per thread.
    private static let workerTargets = ThreadLocal { WorkerTargets() }

    private func makeRequest(_ head: RequestHead, _ length: Int) -> Request {
        let bytes = buffer.unconsumed
        let server = context.selectServer(local: local, host: head.host(in: bytes))
        let request = Request(head: head, bytes: bytes, headLength: length, client: client, local: local,
                              server: server, sequence: requestsServed + 1)
        request.tls = tls
        return request
    }

    /// Sends the head and a streamed body on this thread; the output is then complete
    /// and the MPM's `.write` finds nothing left to do.
    func send(_ stream: ResponseStream, io: some ConnectionIO) -> Action {
        let writer = ResponseBodyWriter(io: io, head: output.head, chunked: streamChunked, sendsBody: streamSendsBody,
                                        length: stream.length, timeoutMilliseconds: core.timeout)
        do {
            if streamSendsBody || stream.onAbandon == nil {
                try stream.produce(writer)
            } else {
                stream.onAbandon?()
            }
            try writer.finish()
            output.recordStreamed(bytes: writer.bytesWritten, bodyBytes: writer.bodyBytes)
            return .write
        } catch {
            writer.abort()
            output.recordStreamed(bytes: writer.bytesWritten, bodyBytes: writer.bodyBytes)
            if !(error is ResponseBodyWriter.WriteError) {
                context.errorLog.log(.error, module: "core", client: client,
                                     "response body of \(lastRequest?.requestLine ?? "-") cut short: \(error)")
            }
            return didFailWrite()
        }
    }

    /// Serializes the head, decides keep-alive as Apache's `ap_set_keepalive`, and hands the
    /// body to `output`. A response whose header fields cannot be sent is replaced by a 500
    /// first (`checkHeaders`), so the caller sends what `response` is on return.
    func prepare(_ response: inout Response, for request: Request, keepAliveAllowed: Bool) -> Action {
        if !request.varyHeaders.names.isEmpty, response.status.code < 400 {
            // Headers an ap_expr read join `Vary` (Apache's `ap_expr_exec_ctx`); an error
            // response drops them with the rest of `headers_out`.
            let existing = response.headers.firstIndex { $0.name.lowercased() == "vary" }
            let value = request.varyHeaders.merged(into: existing.map { response.headers[$0].value })
            if let existing { response.headers[existing].value = value } else { response.headers.append(("Vary", value)) }
        }
        checkHeaders(&response, for: request)
        let head = request.head
        requestsServed += 1
        let maxRequests = core.keepAliveRequests
        let remaining = maxRequests == 0 ? nil : maxRequests - (requestsServed - 1)
        let sendBody = response.sendsBody && !request.isHead && response.status.code != 304 && response.status.code != 204
        // A body of unknown length is chunked for HTTP/1.1; an HTTP/1.0 client learns
        // its end only when the connection closes.
        var unknownLength = false
        if case .stream(let stream) = response.body, stream.length == nil { unknownLength = true }
        streamChunked = unknownLength && sendBody && head.version == .http11
        streamSendsBody = sendBody
        let keepAlive = keepAliveAllowed && core.keepAliveEnabled && !shuttingDown
            && !(unknownLength && sendBody && !streamChunked)
            && head.version != .http09 && !Self.dropsConnection(response.status)
            && (remaining.map { $0 > 0 } ?? true)
            && request.environment["nokeepalive"] == nil  // mod_setenvif's `nokeepalive`, as ap_set_keepalive
        let connection = ConnectionHeader.apache(for: head, keepAlive: keepAlive, timeout: core.keepAliveTimeout / 1000, remaining: remaining)
        closeAfterWrite = connection == .close || !keepAlive || !head.keepAlive

        output.reset()
        output.useSendfile = request.config(CoreDirConfig.self).sendfile
        if head.version != .http09 {
            var responseHead = ResponseHead(status: response.status, connection: connection)
            var contentType: String?
            var date: [UInt8]?, server: [UInt8]?
            for field in response.headers {
                if ResponseHead.isContentType(field.name) { contentType = field.value; continue }
                // A proxied answer keeps the origin's Date and Server (Apache's
                // `ap_basic_http_header` for `r->proxyreq`).
                if response.keepsOriginDateAndServer {
                    if date == nil, field.name.lowercased() == "date" { date = Array(field.value.utf8); continue }
                    if server == nil, field.name.lowercased() == "server" { server = Array(field.value.utf8); continue }
                }
                responseHead.add(name: field.name, value: field.value)
            }
            let noBodyStatus = response.status.code == 304 || response.status.code == 204 || response.status.code < 200
            if !noBodyStatus && !unknownLength { responseHead.contentLength = response.contentLength }
            responseHead.chunked = streamChunked
            if let contentType { responseHead.setContentType(contentType) }
            responseHead.write(into: &output.head, date: date ?? ThreadDate.value(at: SystemClock.now().seconds), server: server ?? context.serverBannerBytes)
        }
        switch response.body {
        case .empty, .stream:
            break
        case .bytes(let bytes):
            if sendBody { output.parts.append(.bytes(bytes)) }
        case .file(let fd, let offset, let length):
            output.own(fd)
            if sendBody { output.parts.append(.file(fd, offset: offset, length: length)) }
        case .parts(let parts, let owned):
            owned.forEach { output.own($0) }
            if sendBody { output.parts = parts }
        }
        lastRequest = request
        lastResponse = (response.status, response.headers)
        phase = .writing
        pendingLength = nil
        return .write
    }

    /// Apache's `check_headers`: a folded value is unfolded; a field that cannot be sent
    /// (a CR or LF that a module copied from the request, a name that is no token) is
    /// logged and the response replaced by the 500 error response, as Apache's `ap_die`;
    /// if that one cannot be sent either, by a bare 500 (Apache's recursion fallback).
    func checkHeaders(_ response: inout Response, for request: Request) {
        for i in response.headers.indices {
            let field = response.headers[i]
            do throws(ResponseField.Problem) {
                if let unfolded = try ResponseField.check(name: field.name, value: field.value) {
                    response.headers[i].value = unfolded
                }
            } catch {
                context.errorLog.log(.error, module: "http", client: client,
                                     ResponseField.message(error, name: field.name, value: field.value))
                response.discard()
                var failed = RequestProcessor(context: context).error(.internalServerError, request)
                if !failed.headers.allSatisfy({ ResponseField.isSendable(name: $0.name, value: $0.value) }) {
                    failed.discard()
                    failed = Response(status: .internalServerError)
                }
                response = failed
                return
            }
        }
    }

    /// Tells the scoreboard who asked what, from the bytes already in the buffer.
    func recordStart(_ head: RequestHead, _ bytes: UnsafeRawBufferPointer, _ server: VirtualHost, _ score: WorkerScore) {
        var lineEnd = head.methodRange.lowerBound
        while lineEnd < bytes.count && bytes[lineEnd] != 0x0D && bytes[lineEnd] != 0x0A { lineEnd += 1 }
        let line = UnsafeRawBufferPointer(rebasing: bytes[head.methodRange.lowerBound..<lineEnd])
        var name = server.server[CoreServerConfig.self].serverName ?? ""
        clientText.withUnsafeBytes { client in
            name.withUTF8 { vhost in
                score.beginRequest(client: client, vhost: UnsafeRawBufferPointer(vhost), request: line)
            }
        }
    }

    /// Apache's `ap_status_drops_connection`: answers after which the connection is not reused.
    static func dropsConnection(_ status: HTTPStatus) -> Bool {
        [400, 408, 411, 413, 414, 417, 500, 503, 501].contains(status.code)
    }

    /// The response is on the wire: log it, then wait for the next request or close.
    public func didWrite() -> Action {
        logTransaction(aborted: false)
        output.reset()
        parser.reset()
        if closeAfterWrite {
            phase = .closing
            return .lingeringClose
        }
        headStartedMilliseconds = SystemClock.monotonicMilliseconds()
        phase = .waitingForRequest
        return parseNext()
    }

    /// The write failed (the client went away): log what was sent and close.
    public func didFailWrite() -> Action {
        logTransaction(aborted: true)
        output.reset()
        phase = .closing
        return .close
    }

    func logTransaction(aborted: Bool) {
        guard let request = lastRequest, let response = lastResponse else { return }
        let now = SystemClock.monotonicNanoseconds()
        let transaction = Transaction(
            request: request, status: response.status, responseHeaders: response.headers,
            bodyBytes: output.bodyBytesWritten, bytesSent: output.bytesWritten,
            bytesReceived: Int64(request.headLength) + bodyBytesReceived,  // trap-safe: Int to Int64 widens
            durationMicroseconds: Int64((now - request.receivedMonotonicNanoseconds) / 1000),  // trap-safe: monotonic nanoseconds / 1000 fit an Int64
            keepAlive: !closeAfterWrite, aborted: aborted)
        score?.setStatus(.logging)
        for module in context.modules { module.log(transaction) }
        score?.endRequest(bytes: Int(output.bytesWritten), durationMicroseconds: transaction.durationMicroseconds)  // trap-safe: Int64 to Int, the same width on 64-bit
        lastRequest = nil
        lastResponse = nil
    }
}
