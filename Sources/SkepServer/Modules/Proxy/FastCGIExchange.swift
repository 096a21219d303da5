import SkepConfig
import SkepHTTP
import SkepSystem

/// One request sent to a FastCGI back end and its answer turned into a response.
struct FastCGIExchange {
    let p: ProxyRequest
    let context: ServerContext
    let pool: BackendPool
    var r: Request { p.request }
    var timeout: Int { p.timeoutMilliseconds }

    /// Body bytes collected after the head before the answer is sent with a
    /// `Content-Length`; a longer or slower body is streamed.
    static let collectLimit = 65536
    /// Request bodies sent in STDIN records of this size (Apache's AP_IOBUFSIZE).
    static let stdinChunk = 8192

    init(_ p: ProxyRequest, _ context: ServerContext, pool: BackendPool) {
        self.p = p
        self.context = context
        self.pool = pool
    }

    func run() -> Response {
        let processor = RequestProcessor(context: context)
        // mod_proxy_fcgi's canon check: for PHP-FPM no control characters and no '?' may
        // reach the script path.
        let fpm = r.config(ProxyFCGIDirConfig.self).backendType != .generic
        if r.notes[ProxyModule.setHandlerNote] != nil,
           p.path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || (fpm && $0 == UInt8(ascii: "?")) }) {
            log(.error, "AH10414: To be forwarded path contains control characters\(fpm ? " or '?'" : "") (\(p.path))")
            return processor.error(.forbidden, r)
        }

        // The body first: a chunked one is read whole, since PHP needs CONTENT_LENGTH.
        let body: RequestBodySource
        do {
            body = try RequestBodySource(r)
        } catch {
            r.body?.abandon()
            return processor.error(error.status, r)
        }

        var backend: BackendConnection
        let reused: Bool
        switch pool.open(p.worker, acquireMilliseconds: p.worker.parameters.acquireMilliseconds ?? timeout, connectMilliseconds: connectTimeout) {
        case .connection(let opened, let kept):
            (backend, reused) = (opened, kept)
        case .busy:
            log(.error, "AH00941: FCGI: failed to acquire connection for (\(p.worker.logName))")
            return processor.error(.serviceUnavailable, r)
        case .failed(let error):
            logConnectFailure(error)
            return processor.error(.serviceUnavailable, r)
        }

        var start = requestRecords(fpm: fpm, contentLength: body.length)
        // Without a body, the empty STDIN record goes out with the params: one write,
        // and the back end has the whole request at once.
        if body.length == nil { FastCGIRecord.appendHeader(.stdin, contentLength: 0, to: &start) }
        do {
            do {
                try send(start, to: backend)
            } catch ProxyError.closed where reused {
                // The back end closed the kept connection since its last use: once more on a
                // new one, in the same place of the pool.
                backend.socket.close()
                backend = try connect()
                try send(start, to: backend)
            }
            if body.length != nil { try body.send(to: backend, timeoutMilliseconds: timeout) }
        } catch let error as ProxyError {
            if case .connect = error {
                pool.closed(p.worker)
                logConnectFailure(error)
                return processor.error(.serviceUnavailable, r)
            }
            backend.close()
            return fail(error, processor)
        } catch let error as BodyError {
            // The client went away or broke its body: the back end learns by the closed connection.
            backend.close()
            r.body?.abandon()
            return processor.error(error.status, r)
        } catch {
            backend.close()
            return processor.error(.internalServerError, r)
        }

        return answer(from: backend, processor)
    }

    /// Reads the script's headers and as much of the body as is at hand, and builds the
    /// response: complete with a `Content-Length` when the whole body came at once,
    /// else streamed.
    private func answer(from backend: BackendConnection, _ processor: RequestProcessor) -> Response {
        var reader = StdoutReader(backend: backend, exchange: self)
        let fieldsLimit = r.serverConfig(CoreServerConfig.self).requestFieldsLimit
        var scanner = CGIScriptHeaderScanner(lineCountLimit: fieldsLimit > 0 ? fieldsLimit : Self.largestFieldCount)
        var end = 0
        do {
            reading: while true {
                guard let chunk = try reader.next() else {
                    backend.close()
                    log(.error, "AH01070: Error parsing script headers: end of script output before headers: \(scriptName)")
                    return processor.error(.badGateway, r)
                }
                switch scanner.append(chunk) {
                case .incomplete: continue
                case .end(let index):
                    end = index
                    break reading
                case .lineTooLong(let start):
                    let line = String(decoding: scanner.bytes[start...].prefix(30), as: UTF8.self)
                    return refuseHeaders("malformed header from script '\(scriptName)': Bad header: \(line) (a line longer than \(CGIScriptHeaderScanner.lineLimit) bytes)", backend, processor)
                case .tooManyLines:
                    return refuseHeaders("malformed header from script '\(scriptName)': more than \(scanner.lineCountLimit) header lines (LimitRequestFields)", backend, processor)
                }
            }
        } catch {
            backend.close()
            return fail(error, processor)
        }
        let headBytes = scanner.bytes
        let headers: CGIScriptHeaders
        do {
            headers = try CGIScriptHeaders(headBytes[..<end])
        } catch {
            backend.close()
            if case .badHeader(let text) = error {
                log(.error, "malformed header from script '\(scriptName)': Bad header: \(text)")
            }
            return processor.error(.internalServerError, r)
        }
        // An interim status (1xx) cannot end a response: its head would be followed by
        // the script's body, which a client would read as another response.
        if let status = headers.status, status.code < 200 {
            backend.close()
            log(.error, "AH01070: Error parsing script headers: interim status \(status.code) from script '\(scriptName)' is not a final response")
            return processor.error(.badGateway, r)
        }

        // A local Location without a Status is CGI's local redirect: the script's own
        // body is dropped and the URL is served instead, as a GET.
        if headers.status == nil, let location = headers.location, location.hasPrefix("/") {
            do {
                while try reader.next() != nil {}
                reader.release(to: pool)
            } catch {
                backend.close()
            }
            guard let target = r.redirected(to: location, keepingQuery: false) else { return processor.error(.internalServerError, r) }
            target.methodOverride = "GET"
            target.redirectedFrom = r
            return processor.process(target)
        }

        var response = Response(status: headers.status ?? (headers.location != nil ? .found : .ok))
        // Apache's `ap_scan_script_header_err` evaluates the conditionals on the script's
        // validators (the ConditionalFilter does, before any content filter).
        response.evaluatesConditions = true
        response.isProgressive = true
        // Apache keeps most of a script's fields in `err_headers_out`: first, and counted.
        let errorFields = headers.fields.filter { !ScriptFields.inHeadersOut($0.name) }
        response.headers = errorFields + headers.fields.filter { ScriptFields.inHeadersOut($0.name) }
        response.errorTableCount = errorFields.count
        if let location = headers.location { response.headers.append(("Location", location)) }
        if let type = headers.contentType { response.headers.append(("Content-Type", type)) }
        let ignoresBody = response.status.code == 304 || response.status.code == 412

        var collected = Array(headBytes[end...])
        do {
            while collected.count < Self.collectLimit, backend.hasInput(within: 0) {
                guard let chunk = try reader.next() else {
                    reader.release(to: pool)
                    // A HEAD answer's length is unknown: the script wrote no body.
                    response.body = ignoresBody ? .empty() : r.isHead ? .stream(ResponseStream { _ in }) : .bytes(collected)
                    return response
                }
                collected.append(contentsOf: chunk)
            }
        } catch {
            backend.close()
            return fail(error, processor)
        }
        if ignoresBody {
            backend.close()
            return response
        }

        let flush = backend.worker.parameters.flushPackets ?? .off
        let flushWait = backend.worker.parameters.flushWaitMilliseconds ?? 10
        let pool = self.pool
        response.body = .stream(ResponseStream(onAbandon: { backend.close() }) { writer in
            var reader = reader
            func pass(_ chunk: [UInt8]) throws {
                try writer.write(chunk)
                switch flush {
                case .on: try writer.flush()
                case .auto: if !backend.hasInput(within: flushWait) { try writer.flush() }
                case .off: break
                }
            }
            do {
                try pass(collected)
                while let chunk = try reader.next() { try pass(chunk) }
            } catch let error as ProxyError {
                backend.close()
                self.log(.error, "AH01075: Error dispatching request to \(self.p.worker.logName): \(error.description)")
                throw error
            } catch {
                backend.close()
                throw error
            }
            reader.release(to: pool)
        })
        return response
    }

    /// Header lines allowed when `LimitRequestFields` is 0 (its own largest value).
    static let largestFieldCount = 32767

    /// A header block that overflows a bound: logged as Apache logs a script's bad
    /// header, answered 500 as Apache answers it, and the back end's connection closed
    /// rather than read to its end.
    private func refuseHeaders(_ message: String, _ backend: BackendConnection, _ processor: RequestProcessor) -> Response {
        backend.close()
        log(.error, message)
        log(.error, "AH01070: Error parsing script headers")
        return processor.error(.internalServerError, r)
    }

    /// `connectiontimeout=`, else the timeout.
    private var connectTimeout: Int { p.worker.parameters.connectionTimeoutMilliseconds ?? timeout }

    /// A new connection in the place of one the back end closed (the caller holds its place).
    private func connect() throws -> BackendConnection {
        let backend = try BackendConnection.connect(p.worker, timeoutMilliseconds: connectTimeout)
        backend.pool = pool
        return backend
    }

    private func send(_ bytes: [UInt8], to backend: BackendConnection) throws {
        try bytes.withUnsafeBytes { try backend.send($0, timeoutMilliseconds: timeout) }
    }

    /// BEGIN_REQUEST and the PARAMS stream, in one buffer.
    private func requestRecords(fpm: Bool, contentLength: Int64?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        FastCGIRecord.appendBeginRequest(keepConnection: p.worker.parameters.reuse == true, to: &out)
        var environment = CGIEnvironment(r, context, scriptFilename: scriptFilename(fpm: fpm), pathTranslated: pathTranslated)
        if let contentLength {
            environment.set("CONTENT_LENGTH", String(contentLength))
        }
        // As nginx's fastcgi_params: PHP built with --enable-force-cgi-redirect wants it.
        environment.set("REDIRECT_STATUS", String(r.originalStatus?.code ?? 200))
        addPHPSettings(to: &environment)
        var params = FastCGIParams()
        for variable in environment.variables { params.add(variable.name, variable.value) }
        params.appendRecords(to: &out)
        return out
    }

    /// The directory's php_value/php_admin_value settings as PHP-FPM's `PHP_VALUE` and
    /// `PHP_ADMIN_VALUE`, after any the environment already has (`SetEnv PHP_VALUE ...`,
    /// which Apache users write for PHP-FPM), so the directives win where both set a name.
    private func addPHPSettings(to environment: inout CGIEnvironment) {
        let php = r.config(PHPIniConfig.self)
        guard !php.settings.isEmpty else { return }
        for (name, lines) in [("PHP_VALUE", php.phpValue), ("PHP_ADMIN_VALUE", php.phpAdminValue)] {
            guard let lines else { continue }
            if let existing = environment.value(name), !existing.isEmpty {
                environment.set(name, existing + "\n" + lines)
            } else {
                environment.set(name, lines)
            }
        }
    }

    /// `SCRIPT_FILENAME` as mod_proxy_fcgi sends it: for PHP-FPM the `proxy:fcgi://`
    /// URL (PHP-FPM strips it and then finds PATH_INFO itself), for a generic back end
    /// the path alone.
    private func scriptFilename(fpm: Bool) -> String {
        if !fpm { return p.path.isEmpty ? "/" : p.path }
        let defaultPort = ProxyWorker.defaultPort(p.worker.scheme)
        let host = p.worker.host.contains(":") ? "[\(p.worker.host)]" : p.worker.host
        let port = p.worker.port == defaultPort ? "" : ":\(p.worker.port)"
        return "proxy:\(p.worker.scheme)://\(host)\(port)\(p.path)"
    }

    /// PATH_TRANSLATED: the path info mapped like a URL under DocumentRoot.
    private var pathTranslated: String? { CGIEnvironment.pathTranslated(r, context) }

    var scriptName: String { r.filename.map { String($0.split(separator: "/").last ?? "") } ?? r.uri }

    private func fail(_ error: ProxyError, _ processor: RequestProcessor) -> Response {
        log(.error, "AH01075: Error dispatching request to \(p.worker.logName): \(error.description)")
        switch error {
        case .timeout: return processor.error(.gatewayTimeout, r)
        case .connect: return processor.error(.serviceUnavailable, r)
        case .closed, .malformed: return processor.error(.badGateway, r)
        }
    }

    private func logConnectFailure(_ error: Error) {
        let reason = (error as? ProxyError).map { $0.description } ?? "\(error)"
        if let path = p.worker.unixPath {
            log(.error, "AH02454: FCGI: attempt to connect to Unix domain socket \(path) (\(p.worker.host)) failed: \(reason)")
        } else {
            log(.error, "AH00957: FCGI: attempt to connect to \(p.worker.host):\(p.worker.port) failed: \(reason)")
        }
        log(.error, "AH01079: failed to make connection to backend: \(p.worker.unixPath == nil ? p.worker.host : "httpd-UDS")")
    }

    func log(_ level: LogLevel, _ message: String) {
        context.errorLog.log(level, module: "proxy_fcgi", client: r.client, message)
    }
}

extension ProxyError: CustomStringConvertible {
    var description: String {
        switch self {
        case .connect(let error): return "\(error)"
        case .timeout(let what): return "(70007)The timeout specified has expired (\(what))"
        case .closed(let what): return what
        case .malformed(let what): return what
        }
    }
}

/// The STDOUT stream of one exchange: content chunks until END_REQUEST; STDERR goes to
/// the error log on the way.
struct StdoutReader {
    let backend: BackendConnection
    let exchange: FastCGIExchange
    private(set) var finished = false

    init(backend: BackendConnection, exchange: FastCGIExchange) {
        self.backend = backend
        self.exchange = exchange
    }

    /// The next STDOUT content, or nil after END_REQUEST.
    mutating func next() throws(ProxyError) -> [UInt8]? {
        while !finished {
            let (header, content) = try backend.readRecord(timeoutMilliseconds: exchange.timeout)
            guard header.requestID == 1 else {
                throw .malformed("AH01069: Got bogus rid \(header.requestID), expected 1")
            }
            switch FastCGIRecord.RecordType(rawValue: header.type) {
            case .stdout?:
                if !content.isEmpty { return Array(content) }
            case .stderr?:
                if !content.isEmpty {
                    let text = String(decoding: content, as: UTF8.self).trimmingSuffix { $0 == "\n" || $0 == "\r" }
                    exchange.log(.error, "AH01071: Got error '\(text)' (script \(exchange.scriptName))")
                }
            case .endRequest?:
                finished = true
                backend.reusable = true
            default:
                exchange.log(.error, "AH01072: Got bogus record \(header.type)")
            }
        }
        return nil
    }

    /// After END_REQUEST: keeps the connection for the next request when reuse is on.
    func release(to pool: BackendPool) {
        if finished && backend.reusable && backend.worker.reusesConnections {
            pool.put(backend)
        } else {
            backend.close()
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var s = Substring(self)
        while let last = s.last, predicate(last) { s = s.dropLast() }
        return String(s)
    }
}
