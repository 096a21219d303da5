import Glibc
import SkepConfig
import SkepHTTP
import SkepSystem

/// The `cgi-script` handler of mod_cgi and mod_cgid (and Apache's older name for it,
/// `application/x-httpd-cgi`).
struct CGIRunner: Sendable {
    let flavor: CGIFlavor

    var handlers: [String: Handler] {
        let flavor = self.flavor
        let handler: Handler = { r, context in CGIRun(flavor: flavor, r, context).run() }
        return ["cgi-script": handler, "application/x-httpd-cgi": handler]
    }
}

/// One request answered by a CGI script, in mod_cgi's order: the checks (`Options
/// ExecCGI`, the file), the script started with the CGI/1.1 environment, the request body
/// written to its standard input, its header block read (`CGIScriptHeaderScanner`,
/// `CGIScriptHeaders`), then its body sent on as it comes. Its standard error goes to the
/// error log all along. Every wait is bounded by `CGIScriptTimeout`/`CGIDScriptTimeout`,
/// else `Timeout`.
final class CGIRun {
    let flavor: CGIFlavor
    let r: Request
    let context: ServerContext
    let processor: RequestProcessor
    let timeout: Int
    var errorStream = CGIErrorStream()

    /// Output gathered while the body is written, and where the header scan starts.
    var collected: [UInt8] = []
    /// Script output kept while its standard input is written; past this much the script
    /// is left to wait (as Apache, which reads nothing before the body is written).
    static let collectWhileWritingLimit = 1 << 20
    /// Body bytes read at once after the head; a body that is all there is sent with a
    /// `Content-Length`, a longer or slower one is streamed.
    static let collectLimit = 65536
    static let readSize = 16384

    init(flavor: CGIFlavor, _ r: Request, _ context: ServerContext) {
        self.flavor = flavor
        self.r = r
        self.context = context
        self.processor = RequestProcessor(context: context)
        self.timeout = r.config(CGIDirConfig.self).timeoutMilliseconds ?? r.serverConfig(CoreServerConfig.self).timeout
    }

    var filename: String { r.filename ?? r.uri }
    /// The script's file name without its directory (Apache's `apr_filepath_name_get`).
    var scriptName: String { String(filename.split(separator: "/", omittingEmptySubsequences: false).last ?? "") }

    func run() -> Response {
        let options = r.config(CoreDirConfig.self).effectiveOptions
        let scriptAliased = r.notes[AliasModule.forcedTypeNote]?.lowercased() == "cgi-script"
        if !options.contains(.execCGI) && !scriptAliased {
            return scriptError(.forbidden, flavor.execCGIOff, "Options ExecCGI is off in this directory")
        }
        guard let status = r.fileStatus else {
            return scriptError(.notFound, flavor.notFound, "script not found or unable to stat")
        }
        if status.isDirectory {
            return scriptError(.forbidden, flavor.directory, "attempt to invoke directory as script")
        }
        if scriptName.hasPrefix("nph-") {
            // A non-parsed-header script writes the status line and head itself, straight
            // to the client: Skep always frames the head it sends.
            log(.error, "nph- scripts are not supported by Skep (the script's output would bypass the response head): \(filename)")
            return processor.error(.internalServerError, r)
        }
        let bodyLimit = r.config(CoreDirConfig.self).requestBodyLimit
        if case .length(let n) = r.head.framing, bodyLimit > 0, n > Int64(bodyLimit) {  // trap-safe: Int to Int64 widens
            r.body?.abandon()
            log(.error, "AH01225: Error reading request entity data")
            return processor.error(.requestEntityTooLarge, r)
        }

        let process: CGIScriptProcess
        do {
            process = try CGIScriptProcess.spawn(path: filename, arguments: arguments(), environment: environment(),
                                                 directory: Self.parentDirectory(filename))
        } catch let error as SystemError {
            // Apache forks first, so a failed exec is the child's message (on the script's
            // standard error for mod_cgi, from the daemon for mod_cgid) and then a script
            // that wrote nothing.
            let reason = "(\(error.code))\(Self.describe(error.code))"
            switch flavor {
            case .cgi: logStandardError("\(reason): exec of '\(filename)' failed")
            case .cgid: context.errorLog.log(.error, module: flavor.moduleName, "\(reason): AH01241: exec of '\(filename)' failed")
            }
            log(.error, "End of script output before headers: \(scriptName)")
            r.body?.abandon()
            return processor.error(.internalServerError, r)
        } catch {
            log(.error, "AH01223: couldn't spawn child process: \(filename)")
            return processor.error(.internalServerError, r)
        }

        if let failure = writeBody(to: process) {
            process.stop()
            return failure
        }
        return answer(process)
    }

    // MARK: - The request body

    /// Writes the request body to the script's standard input, keeping what the script
    /// writes meanwhile; nil when that went well (or the script stopped reading, which
    /// Apache logs and lets pass), else the response for a body the client broke.
    private func writeBody(to process: CGIScriptProcess) -> Response? {
        defer { process.closeInput() }
        guard let body = r.body, r.head.framing != .none, !body.isFinished || body.received == 0 else { return nil }
        body.limit = Int64(r.config(CoreDirConfig.self).requestBodyLimit)  // trap-safe: Int to Int64 widens
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readSize, alignment: 8)
        defer { buffer.deallocate() }
        var scriptReads = true
        while true {
            let n: Int
            do {
                n = try body.read(into: buffer)
            } catch {
                body.abandon()
                log(.error, "AH01225: Error reading request entity data")
                return processor.error(error.status, r)
            }
            if n == 0 { return nil }
            guard scriptReads else { continue }
            if let failure = writeInput(UnsafeRawBufferPointer(rebasing: buffer[..<n]), to: process) {
                // The script stopped reading: the rest of the body is read and dropped.
                log(.error, "\(failure): AH02651: Error writing request body to script \(filename)")
                scriptReads = false
                process.closeInput()
            }
        }
    }

    /// Writes `bytes` to the script's standard input as it takes them, reading its output
    /// and standard error meanwhile; the reason when it could not (`(32)Broken pipe`).
    private func writeInput(_ bytes: UnsafeRawBufferPointer, to process: CGIScriptProcess) -> String? {
        guard let input = process.input else { return "(32)Broken pipe" }
        var offset = 0
        while offset < bytes.count {
            do {
                if case .transferred(let n) = try input.write(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                    offset += n
                    continue
                }
            } catch let error as SystemError {
                return "(\(error.code))\(Self.describe(error.code))"
            } catch {
                return "\(error)"
            }
            var entries = [Poll.Entry(input, events: .writable)]
            let readsOutput = collected.count < Self.collectWhileWritingLimit
            if readsOutput { entries.append(Poll.Entry(process.output, events: .readable)) }
            if let errors = process.errors { entries.append(Poll.Entry(errors, events: .readable)) }
            guard let ready = try? Poll.wait(&entries, timeoutMilliseconds: timeout), ready > 0 else {
                return "(70007)The timeout specified has expired"
            }
            for entry in entries.dropFirst() where !entry.returnedEvents.isEmpty {
                if entry.descriptor == process.output {
                    // End of file here is seen again when the head is read.
                    if case .data(let chunk) = read(process.output) { collected += chunk }
                } else {
                    readErrors(process)
                }
            }
        }
        return nil
    }

    // MARK: - The script's answer

    /// Reads the header block, then answers: a local redirect, a redirect, or the
    /// script's own response with its body.
    private func answer(_ process: CGIScriptProcess) -> Response {
        let fieldsLimit = r.serverConfig(CoreServerConfig.self).requestFieldsLimit
        var scanner = CGIScriptHeaderScanner(lineCountLimit: fieldsLimit > 0 ? fieldsLimit : 32767)
        var outcome = scanner.append(collected)
        var end = 0
        reading: while true {
            switch outcome {
            case .end(let index):
                end = index
                break reading
            case .lineTooLong(let start):
                let line = String(decoding: scanner.bytes[start...].prefix(30), as: UTF8.self)
                log(.error, "malformed header from script '\(scriptName)': Bad header: \(line)")
                process.stop()
                return processor.error(.internalServerError, r)
            case .tooManyLines:
                log(.error, "malformed header from script '\(scriptName)': more than \(scanner.lineCountLimit) header lines (LimitRequestFields)")
                process.stop()
                return processor.error(.internalServerError, r)
            case .incomplete:
                switch nextOutput(process) {
                case .data(let chunk):
                    outcome = scanner.append(chunk)
                case .end:
                    drainErrors(process)
                    let started = scanner.bytes.contains(0x0A)
                    log(.error, "\(started ? "Premature end of script headers" : "End of script output before headers"): \(scriptName)")
                    process.finish()
                    return processor.error(.internalServerError, r)
                case .timedOut:
                    logTimeout()
                    log(.error, "Script timed out before returning headers: \(scriptName)")
                    process.stop()
                    return processor.error(.gatewayTimeout, r)
                }
            }
        }

        let headers: CGIScriptHeaders
        do {
            headers = try CGIScriptHeaders(scanner.bytes[..<end])
        } catch {
            if case .badHeader(let text) = error {
                log(.error, "malformed header from script '\(scriptName)': Bad header: \(text)")
            }
            process.stop()
            return processor.error(.internalServerError, r)
        }
        if let status = headers.status, status.code < 200 {
            log(.error, "Invalid status line from script '\(scriptName)': \(status.code) is not a final status")
            process.stop()
            return processor.error(.internalServerError, r)
        }

        // With no status of its own, a GET's conditions are checked against the script's
        // validators, as Apache's header scan does (`ap_meets_conditions`).
        if headers.status == nil, r.method == "GET" || r.isHead, let failed = unmetCondition(headers) {
            process.stop()
            guard failed == .notModified else { return page(failed, keeping: headers) }
            var response = Response(status: .notModified)
            for field in headers.fields { response.headers.append(field) }
            response.sendsBody = false
            return response
        }

        // A Location with no other status is a redirect: the script's body is dropped,
        // its standard error still logged; a local URL is served instead, as a GET.
        if let location = headers.location, (headers.status?.code ?? 200) == 200 {
            discardOutput(process)
            if location.hasPrefix("/") {
                guard let target = r.redirected(to: location, keepingQuery: false) else { return processor.error(.internalServerError, r) }
                target.methodOverride = "GET"
                target.redirectedFrom = r
                return processor.process(target)
            }
            return page(.found, location: location, keeping: headers)
        }

        var response = Response(status: headers.status ?? .ok)
        for field in headers.fields { response.headers.append(field) }
        if let location = headers.location { response.headers.append(("Location", location)) }
        if let type = headers.contentType { response.headers.append(("Content-Type", type)) }

        var body = Array(scanner.bytes[end...])
        if r.isHead {
            // Apache runs the script for HEAD too and drops its body.
            discardOutput(process)
            response.body = .stream(ResponseStream { _ in })
            return response
        }
        while body.count < Self.collectLimit, (try? process.output.wait(for: .readable, timeoutMilliseconds: 0))?.isEmpty == false {
            switch read(process.output) {
            case .data(let chunk):
                body += chunk
            case .end:
                drainErrors(process)
                process.finish()
                response.body = .bytes(body)
                return response
            case .wouldBlock:
                break
            }
        }
        response.body = .stream(ResponseStream(onAbandon: { process.stop() }) { writer in
            try self.stream(process, first: body, to: writer)
        })
        return response
    }

    /// Apache's own page for `status`, with the script's fields Apache keeps on it (its
    /// `err_headers_out`); the validators went to `headers_out`, which it drops.
    private func page(_ status: HTTPStatus, location: String? = nil, keeping headers: CGIScriptHeaders) -> Response {
        var response = processor.error(status, r, location: location)
        let validators: Set<String> = ["etag", "last-modified", "content-range"]
        response.headers += headers.fields.filter { !validators.contains($0.name.lowercased()) }
        return response
    }

    /// The status of the request's first unmet condition (`If-Match`, `If-None-Match`,
    /// their date forms) judged on the script's `ETag` and `Last-Modified`; a script
    /// without `Last-Modified` counts as modified now, as in Apache.
    func unmetCondition(_ headers: CGIScriptHeaders) -> HTTPStatus? {
        let conditional = ["If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"]
        guard conditional.contains(where: { r.header($0) != nil }) else { return nil }
        func field(_ name: String) -> String? { headers.fields.first { $0.name.lowercased() == name }?.value }
        let etag = field("etag").flatMap(EntityTag.init(parsing:))
        let lastModified = field("last-modified").flatMap(HTTPDate.init) ?? HTTPDate(secondsSince1970: SystemClock.now().seconds)
        return Conditional.evaluate(r, etag: etag, lastModified: lastModified)
    }

    /// Sends the script's body as it comes, flushed whenever the script pauses; a client
    /// that went away or a script silent past the timeout stops the script.
    private func stream(_ process: CGIScriptProcess, first: [UInt8], to writer: ResponseBodyWriter) throws {
        do {
            try writer.write(first)
            while true {
                switch nextOutput(process) {
                case .data(let chunk):
                    try writer.write(chunk)
                    if (try? process.output.wait(for: .readable, timeoutMilliseconds: 0))?.isEmpty != false {
                        try writer.flush()
                    }
                case .end:
                    drainErrors(process)
                    process.finish()
                    return
                case .timedOut:
                    logTimeout()
                    process.stop()
                    throw ProcessStall.timedOut
                }
            }
        } catch {
            process.stop()
            throw error
        }
    }

    enum ProcessStall: Error { case timedOut }

    /// Reads the rest of the script's output and drops it (a redirect, HEAD); then ends
    /// the script as Apache's cleanup does.
    private func discardOutput(_ process: CGIScriptProcess) {
        reading: while true {
            switch nextOutput(process) {
            case .data: continue
            case .end: break reading
            case .timedOut:
                logTimeout()
                break reading
            }
        }
        drainErrors(process)
        process.finish()
    }

    // MARK: - Reading the pipes

    enum Output {
        case data([UInt8])
        case end
        case timedOut
    }

    enum ReadResult {
        case data([UInt8])
        case end
        case wouldBlock
    }

    /// The next piece of standard output, logging standard error while it waits.
    private func nextOutput(_ process: CGIScriptProcess) -> Output {
        while true {
            switch read(process.output) {
            case .data(let chunk): return .data(chunk)
            case .end: return .end
            case .wouldBlock: break
            }
            var entries = [Poll.Entry(process.output, events: .readable)]
            if let errors = process.errors { entries.append(Poll.Entry(errors, events: .readable)) }
            guard let ready = try? Poll.wait(&entries, timeoutMilliseconds: timeout), ready > 0 else { return .timedOut }
            if entries.count > 1, !entries[1].returnedEvents.isEmpty { readErrors(process) }
        }
    }

    private func read(_ descriptor: Descriptor) -> ReadResult {
        var chunk = [UInt8](repeating: 0, count: Self.readSize)
        let result = chunk.withUnsafeMutableBytes { try? descriptor.read(into: $0) }
        switch result {
        case .transferred(let n)?:
            if n == 0 { return .end }
            chunk.removeSubrange(n...)
            return .data(chunk)
        case .wouldBlock?:
            return .wouldBlock
        case nil:
            return .end
        }
    }

    /// Logs what the script has written to standard error so far; closes it at its end.
    private func readErrors(_ process: CGIScriptProcess) {
        guard let errors = process.errors else { return }
        while true {
            switch read(errors) {
            case .data(let chunk):
                for line in errorStream.append(chunk) { logStandardError(line) }
            case .end:
                if let last = errorStream.finish() { logStandardError(last) }
                process.closeErrors()
                return
            case .wouldBlock:
                return
            }
        }
    }

    /// After the output ended: standard error to its end, within the timeout.
    private func drainErrors(_ process: CGIScriptProcess) {
        while let errors = process.errors {
            guard let ready = try? errors.wait(for: .readable, timeoutMilliseconds: timeout), !ready.isEmpty else { return }
            readErrors(process)
        }
    }

    // MARK: - The script's command line and environment

    /// argv: the script, then the words of an ISINDEX query (one without '='), split on
    /// '+', decoded and shell-escaped as Apache's `default_build_command` makes them.
    func arguments() -> [String] {
        var argv = [filename]
        guard let query = r.query, !query.isEmpty, !query.contains("=") else { return argv }
        for word in query.split(separator: "+", omittingEmptySubsequences: false).prefix(Self.argumentLimit) {
            let decoded = (try? PercentDecoder.decode(String(word)).get())?.string ?? String(word)
            argv.append(Self.escapeShell(decoded))
        }
        return argv
    }

    /// Apache's `APACHE_ARG_MAX` less the script and the terminating NULL.
    static let argumentLimit = 510

    /// Apache's `ap_escape_shell_cmd`: a backslash before each shell metacharacter.
    static func escapeShell(_ word: String) -> String {
        var out = ""
        for c in word.unicodeScalars {
            if "&;`'\"|*?~<>^()[]{}$\\\n".unicodeScalars.contains(c) { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(c)
        }
        return out
    }

    /// The CGI/1.1 environment as `NAME=value` strings, names made safe as Apache's
    /// `ap_create_environment` makes them (a leading digit and any character other than
    /// a letter, digit or '_' become '_').
    func environment() -> [String] {
        var env = CGIEnvironment(r, context, scriptFilename: filename, pathTranslated: CGIEnvironment.pathTranslated(r, context))
        // Apache's internal redirect records the status the replaced request had: an
        // ErrorDocument's error, or 200 for a script's local `Location`.
        if r.redirectedFrom != nil { env.set("REDIRECT_STATUS", String(r.originalStatus?.code ?? 200)) }
        // After a script's local redirect (a GET now, its body consumed) Apache has unset
        // the request's Content-Length.
        let dropsLength = r.methodOverride != nil
        return env.variables.filter { !(dropsLength && $0.name == "CONTENT_LENGTH") }.map { variable in
            var name = ""
            for (i, c) in variable.name.unicodeScalars.enumerated() {
                let safe = c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_")
                name.unicodeScalars.append(safe && !(i == 0 && ("0"..."9").contains(c)) ? c : "_")
            }
            return name + "=" + variable.value
        }
    }

    static func parentDirectory(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "Unknown error \(code)" }
        return String(cString: text)
    }

    // MARK: - Logging

    func log(_ level: LogLevel, _ message: String) {
        context.errorLog.log(level, module: flavor.moduleName, client: r.client, message)
    }

    /// mod_cgi's warning when a script is silent past the timeout (Debian's mod_cgid
    /// reads without it and logs only the error that follows).
    func logTimeout() {
        if flavor == .cgi { log(.warn, "AH01220: Timeout waiting for output from CGI script \(filename)") }
    }

    /// A line of the script's standard error, as mod_cgi's `log_script_err` logs it.
    func logStandardError(_ line: String) {
        log(.error, "AH01215: stderr from \(filename): \(line)")
    }

    /// mod_cgi's `log_scripterror`: the message with the script's path, and the status.
    private func scriptError(_ status: HTTPStatus, _ number: String, _ message: String) -> Response {
        log(.error, "\(number): stderr from \(filename): \(message)")
        return processor.error(status, r)
    }
}
