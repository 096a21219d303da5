import SkepConfig
import SkepHTTP
import SkepSystem

/// One request forwarded to an HTTP back end and its answer relayed, as Apache's
/// mod_proxy_http: the client's request with the hop-by-hop fields dropped, the `Host` of
/// the back end (or the client's with `ProxyPreserveHost On`) and the `X-Forwarded-*`
/// fields; the back end's answer streamed back as it arrives, its `Location` mapped back
/// by `ProxyPassReverse`; the connection kept for the next request when the answer's
/// framing allows.
struct HTTPExchange {
    let p: ProxyRequest
    let context: ServerContext
    let pool: BackendPool
    var r: Request { p.request }

    /// The longest response head read from a back end (Apache's limit is per line; a
    /// head is bounded as a whole here).
    static let headLimit = 65536
    /// Fields that describe one connection, not the message (RFC 9110 7.6.1), and the
    /// framing Skep sets itself.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]

    func run() -> Response {
        let processor = RequestProcessor(context: context)
        let body: RequestBodySource
        do {
            body = try RequestBodySource(r)
        } catch {
            r.body?.abandon()
            return processor.error(error.status, r)
        }
        let head = requestHead(contentLength: body.length)
        var connection: BackendConnection
        var reused: Bool
        switch open() {
        case .connection(let opened, let kept): (connection, reused) = (opened, kept)
        case .failed(let response): return response
        }

        var answer: ResponseHeadParser.Head
        while true {
            do {
                try head.withUnsafeBytes { try connection.send($0, timeoutMilliseconds: p.timeoutMilliseconds) }
                if body.length != nil { try body.sendRaw(to: connection, timeoutMilliseconds: p.timeoutMilliseconds) }
                answer = try readHead(connection)
                break
            } catch ProxyError.closed(_) where reused && body.length == nil {
                // A kept connection the back end closed since its last use: once more on
                // another (the request had no body, so it can be sent again).
                connection.close()
                switch open() {
                case .connection(let opened, let kept): (connection, reused) = (opened, kept)
                case .failed(let response): return response
                }
            } catch let error as ProxyError {
                connection.close()
                return fail(error, processor)
            } catch let error as BodyError {
                connection.close()
                r.body?.abandon()
                return processor.error(error.status, r)
            } catch {
                connection.close()
                return processor.error(.internalServerError, r)
            }
        }
        return response(answer, from: connection)
    }

    /// The request line and fields sent to the back end.
    private func requestHead(contentLength: Int64?) -> [UInt8] {
        let config = r.config(ProxyDirConfig.self)
        var out = "\(r.method) \(p.path.isEmpty ? "/" : p.path)\(r.query.map { "?" + $0 } ?? "") HTTP/1.1\r\n"
        let port = p.worker.port == ProxyWorker.defaultPort(p.worker.scheme) ? "" : ":\(p.worker.port)"
        let host = config.preserveHost == true ? (r.header("Host") ?? p.worker.host + port) : p.worker.host + port
        out += "Host: \(host)\r\n"
        let connectionTokens = Set(r.headerValues("Connection").flatMap { $0.split(separator: ",") }.map { ConfigLexer.trimBlanks($0).lowercased() })
        for field in r.headerFields {
            let name = field.name.lowercased()
            if name == "host" || name == "content-length" || Self.hopByHop.contains(name) || connectionTokens.contains(name) { continue }
            if config.addHeaders != false, name.hasPrefix("x-forwarded-") { continue }  // appended to below
            out += "\(field.name): \(field.value)\r\n"
        }
        if config.addHeaders != false {
            // Appended to what an earlier proxy sent, as Apache's `apr_table_mergen`.
            func forwarded(_ name: String, _ value: String?) {
                guard let value else { return }
                let before = r.headerValues(name)
                out += "\(name): \((before + [value]).joined(separator: ", "))\r\n"
            }
            forwarded("X-Forwarded-For", r.client.host)
            forwarded("X-Forwarded-Host", r.header("Host"))
            forwarded("X-Forwarded-Server", r.serverConfig(CoreServerConfig.self).serverName.map(ServerContext.hostPart) ?? r.serverNameForURL)
        }
        if let contentLength { out += "Content-Length: \(contentLength)\r\n" }
        out += p.worker.reusesConnections ? "Connection: Keep-Alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(out.utf8)
    }

    /// Reads the response head, skipping interim answers (100 Continue).
    private func readHead(_ connection: BackendConnection) throws(ProxyError) -> ResponseHeadParser.Head {
        while true {
            var end: Int?
            while true {
                end = ResponseHeadParser.headEnd(connection.buffered)
                if end != nil { break }
                if connection.buffered.count >= Self.headLimit { throw .malformed("AH01102: error reading status line from remote server \(p.worker.host):\(p.worker.port) (head too large)") }
                try connection.fill(timeoutMilliseconds: p.timeoutMilliseconds, growing: true)
            }
            let length = end!  // trap-safe: the loop above ends only with end set
            guard let head = ResponseHeadParser.parse(UnsafeRawBufferPointer(rebasing: connection.buffered[..<length])) else {
                throw .malformed("AH01102: error reading status line from remote server \(p.worker.host):\(p.worker.port)")
            }
            connection.consume(length)
            if (100..<200).contains(head.status) && head.status != 101 { continue }
            return head
        }
    }

    /// The answer relayed: its status, its end-to-end fields (`Location` and friends mapped
    /// back), and its body from the connection, framed as the back end framed it.
    private func response(_ head: ResponseHeadParser.Head, from connection: BackendConnection) -> Response {
        var response = Response(status: HTTPStatus(code: head.status))
        response.isProgressive = true
        response.keepsOriginDateAndServer = true
        let connectionTokens = Set(head.fields.filter { $0.name.lowercased() == "connection" }
            .flatMap { $0.value.split(separator: ",") }.map { ConfigLexer.trimBlanks($0).lowercased() })
        var chunked = false
        var length: Int64?
        for field in head.fields {
            let name = field.name.lowercased()
            if name == "transfer-encoding" { chunked = field.value.lowercased().contains("chunked") }
            if name == "content-length" {
                // A length that is not a non-negative number cannot frame the body: 502.
                guard let value = Int64(ConfigLexer.trimBlanks(field.value)), value >= 0 else {  // trap-safe: parsing returns nil, never traps
                    connection.close()
                    log(.error, "AH01107: bad Content-Length from the back end \(p.worker.logName): \(field.value)")
                    return RequestProcessor(context: context).error(.badGateway, r)
                }
                length = value
            }
            if name == "content-length" || Self.hopByHop.contains(name) || connectionTokens.contains(name) { continue }
            if name == "location" || name == "content-location" || name == "uri" {
                response.headers.append((field.name, reverseMapped(field.value)))
            } else {
                response.headers.append((field.name, field.value))
            }
        }
        let keepsConnection = !connectionTokens.contains("close") && head.version >= 11
        let hasNoBody = r.isHead || head.status == 204 || head.status == 304 || (100..<200).contains(head.status)
        if hasNoBody {
            if keepsConnection { connection.reusable = true; pool.put(connection) } else { connection.close() }
            response.body = .empty(length: length ?? 0)
            response.sendsBody = false
            return response
        }
        let framing: BodyFraming = chunked ? .chunked : length.map { .length($0) } ?? .untilClose
        let exchange = self
        response.body = .stream(ResponseStream(length: chunked ? nil : length, onAbandon: { connection.close() }) { writer in
            do {
                try exchange.relay(framing, from: connection, to: writer)
            } catch {
                connection.close()
                exchange.log(.error, "AH01110: error reading response from \(exchange.p.worker.logName): \(error)")
                throw error
            }
            if keepsConnection && framing != .untilClose {
                connection.reusable = true
                exchange.pool.put(connection)
            } else {
                connection.close()
            }
        })
        return response
    }

    enum BodyFraming: Equatable {
        case length(Int64)
        case chunked
        case untilClose
    }

    /// Copies the body to the client as it arrives.
    private func relay(_ framing: BodyFraming, from connection: BackendConnection, to writer: ResponseBodyWriter) throws {
        let timeout = p.timeoutMilliseconds
        switch framing {
        case .length(var remaining):
            while remaining > 0 {
                if connection.buffered.isEmpty { try connection.fill(timeoutMilliseconds: timeout, growing: false) }
                let n = Int(min(remaining, Int64(connection.buffered.count)))  // trap-safe: at most the buffered count, an Int
                try writer.write(UnsafeRawBufferPointer(rebasing: connection.buffered[..<n]))
                connection.consume(n)
                remaining -= Int64(n)  // trap-safe: Int to Int64 widens
            }
        case .untilClose:
            while true {
                if connection.buffered.isEmpty {
                    guard try connection.receive(timeoutMilliseconds: timeout) else { return }
                }
                try writer.write(connection.buffered)
                connection.consume(connection.buffered.count)
            }
        case .chunked:
            var decoder = ChunkedDecoder()
            while true {
                if connection.buffered.isEmpty { try connection.fill(timeoutMilliseconds: timeout, growing: false) }
                switch decoder.decode(connection.buffered) {
                case .data(let range):
                    try writer.write(UnsafeRawBufferPointer(rebasing: connection.buffered[range]))
                    connection.consume(range.upperBound)
                case .needMore(let consumed):
                    connection.consume(consumed)
                    if consumed == 0 || connection.buffered.isEmpty { try connection.fill(timeoutMilliseconds: timeout, growing: true) }
                case .end(let consumed):
                    connection.consume(consumed)
                    return
                case .error(_, let reason):
                    throw ProxyError.malformed("a malformed chunked body from the back end: \(reason)")
                }
            }
        }
    }

    /// `ProxyPassReverse`: a URL of the back end's becomes the one the client asked under
    /// (a path alias gets this server's scheme, name and port, as `ap_construct_url`).
    private func reverseMapped(_ value: String) -> String {
        for mapping in r.config(ProxyDirConfig.self).reverse where value.hasPrefix(mapping.url) {
            let local = mapping.alias + value.dropFirst(mapping.url.count)
            return local.hasPrefix("/") ? r.selfURLPrefix + local : local
        }
        return value
    }

    private enum Opened {
        case connection(BackendConnection, reused: Bool)
        /// The answer when none could be had: 503, logged as Apache logs it.
        case failed(Response)
    }

    /// A connection from the pool, kept or new.
    private func open() -> Opened {
        let worker = p.worker
        switch pool.open(worker, acquireMilliseconds: worker.parameters.acquireMilliseconds ?? p.timeoutMilliseconds,
                         connectMilliseconds: worker.parameters.connectionTimeoutMilliseconds ?? p.timeoutMilliseconds) {
        case .connection(let connection, let reused):
            return .connection(connection, reused: reused)
        case .busy:
            log(.error, "AH00898: could not acquire a connection to \(worker.logName)")
        case .failed(let error):
            logConnectFailure(error)
        }
        return .failed(RequestProcessor(context: context).error(.serviceUnavailable, r))
    }

    private func fail(_ error: ProxyError, _ processor: RequestProcessor) -> Response {
        switch error {
        case .timeout:
            // Apache's answer to a back end that does not answer within the timeout: 502
            // ("Error reading from remote server"), not 504.
            log(.error, "AH01102: error reading status line from remote server \(p.worker.host):\(p.worker.port): \(error.description)")
            return processor.error(.badGateway, r)
        case .connect:
            return processor.error(.serviceUnavailable, r)
        case .closed, .malformed:
            log(.error, error.description.hasPrefix("AH") ? error.description : "AH01102: error reading status line from remote server \(p.worker.host):\(p.worker.port): \(error.description)")
            return processor.error(.badGateway, r)
        }
    }

    private func logConnectFailure(_ error: Error) {
        let reason = (error as? ProxyError).map { $0.description } ?? "\(error)"
        log(.error, "AH00957: http: attempt to connect to \(p.worker.host):\(p.worker.port) (\(p.worker.host):\(p.worker.port)) failed: \(reason)")
        log(.error, "AH01114: HTTP: failed to make connection to backend: \(p.worker.host)")
    }

    func log(_ level: LogLevel, _ message: String) {
        context.errorLog.log(level, module: "proxy_http", client: r.client, message)
    }
}

/// A back end's response head: `HTTP/1.x NNN reason` and its fields, read strictly (a
/// field without a colon, a folded line or a bad status is a malformed answer: 502).
enum ResponseHeadParser {
    struct Head {
        var version: Int
        var status: Int
        var fields: [(name: String, value: String)]
    }

    /// The length of the head through its blank line, when it is all here.
    static func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0A {
                if bytes[i + 1] == 0x0A { return i + 2 }
                if bytes[i + 1] == 0x0D, i + 2 < bytes.count, bytes[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Head? {
        // Lines split on LF bytes (a String would keep CR LF together as one Character).
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let statusLine = lines.first else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0",
              parts[1].count == 3, let status = Int(parts[1]), (100...599).contains(status) else { return nil }
        var fields: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                  !line.hasPrefix(" "), !line.hasPrefix("\t") else { return nil }
            let name = line[..<colon]
            guard name.utf8.allSatisfy({ ByteClass.isToken($0) }) else { return nil }
            let value = String(ConfigLexer.trimBlanks(line[line.index(after: colon)...]))
            guard !value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else { return nil }
            fields.append((String(name), value))
        }
        return Head(version: parts[0] == "HTTP/1.1" ? 11 : 10, status: status, fields: fields)
    }
}
