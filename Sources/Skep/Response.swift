import SkepHTTP
import SkepServer
import SkepSystem

/// The response a handler builds: a status, header fields, and one of a body of bytes,
/// a streamed body, a file, or the server's own error page.
///
/// The server adds `Date`, `Server`, the framing (`Content-Length` or chunked) and the
/// connection fields, and leaves out the body for `HEAD`, as it does for its own responses.
public final class Response {
    let request: Request
    /// The status code; 200 unless set. One outside 100-999 is answered as 500 and logged.
    public var status: Int = 200
    /// Header fields in the order they are sent. `Content-Length`, `Transfer-Encoding`
    /// and `Connection` are the server's and are ignored here. A name must be a token and
    /// a value must hold no control byte but HT (CR and LF above all): otherwise the
    /// request is answered 500 and the field logged, as Apache does.
    public var headers: [(name: String, value: String)] = []
    private var body: SkepServer.Response.Body = .empty()
    private var errorStatus: Int?

    init(request: Request) { self.request = request }

    /// The `Content-Type` field.
    public var contentType: String? {
        get { header("Content-Type") }
        set {
            headers.removeAll { $0.name.lowercased() == "content-type" }
            if let newValue { headers.append(("Content-Type", newValue)) }
        }
    }

    /// The first value of a header field set so far.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Replaces a header field (all of its values) with one value.
    public func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name, value))
    }

    /// Sends `text` in UTF-8 as the whole body.
    public func send(_ text: String) { body = .bytes(Array(text.utf8)) }

    /// Sends `bytes` as the whole body.
    public func send(_ bytes: [UInt8]) { body = .bytes(bytes) }

    /// Sends a body written while it goes out: `produce` runs after the handler returns,
    /// on the same thread, and writes through `BodyWriter` (which sends as it fills, or at
    /// `flush()`). With `length`, the body is sent with `Content-Length` and must have
    /// exactly that many bytes; without, it is chunked (to HTTP/1.0 clients: sent until
    /// the connection closes). A `produce` that throws cuts the response short: the
    /// connection closes without the framing's end, so the client can tell.
    public func stream(length: Int? = nil, _ produce: @escaping (_ writer: BodyWriter) throws -> Void) {
        body = .stream(ResponseStream(length: length.map(Int64.init)) { writer in try produce(BodyWriter(writer)) })
    }

    /// Sends the file at `path` as the body (with `sendfile(2)`); `Content-Type` is yours to set.
    /// Throws when it cannot be opened or is not a regular file (a directory, a device);
    /// the handler may answer `fail(404)` then.
    public func sendFile(_ path: String) throws {
        let file = try File.openForReading(path)
        do {
            let status = try file.status()
            guard status.isRegularFile else { throw NotARegularFile(path: path) }
            body = .file(file.descriptor, offset: 0, length: status.size)
        } catch {
            file.descriptor.close()
            throw error
        }
    }

    /// `sendFile` was given a directory or a device.
    struct NotARegularFile: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is not a regular file" }
    }

    /// Answers with the server's error response for `status` (its `ErrorDocument` if one
    /// is configured), as an Apache handler returns `HTTP_NOT_FOUND`. A status outside
    /// 100-999 is answered as 500 and logged.
    public func fail(_ status: Int) {
        errorStatus = status
    }

    func built() -> SkepServer.Response {
        if let errorStatus {
            body.discard()
            var status = HTTPStatus(code: errorStatus)
            if !(100...999).contains(errorStatus) {
                request.log(.error, "the handler failed with status \(errorStatus), which is not 100-999; answering 500")
                status = .internalServerError
            }
            return RequestProcessor(context: request.server).error(status, request.raw)
        }
        if let refusal = refusal() {
            request.log(.error, "\(refusal); answering 500")
            body.discard()
            return RequestProcessor(context: request.server).error(.internalServerError, request.raw)
        }
        let kept = headers.filter { !["content-length", "transfer-encoding", "connection"].contains($0.name.lowercased()) }
        return SkepServer.Response(status: HTTPStatus(code: status), headers: kept, body: body)
    }

    /// Why the response cannot be sent as the handler built it, or nil: a status outside
    /// 100-999, or a header field Apache would refuse (a name that is no token, a CR or LF
    /// in a value that is not a fold, another control byte). Checked when the handler
    /// returns, since `headers` is a plain array the handler may fill as it likes.
    func refusal() -> String? {
        guard (100...999).contains(status) else { return "the handler answered with status \(status), which is not 100-999" }
        for field in headers {
            do throws(ResponseField.Problem) {
                _ = try ResponseField.check(name: field.name, value: field.value)
            } catch {
                return "the handler's " + ResponseField.message(error, name: field.name, value: field.value)
            }
        }
        return nil
    }
}

/// Where a streamed body goes: it frames what it is given (chunks, or bytes up to the
/// announced length) and writes to the client, waiting at most `Timeout` for it.
public final class BodyWriter {
    let writer: ResponseBodyWriter

    init(_ writer: ResponseBodyWriter) { self.writer = writer }

    /// Adds bytes; they go out once 8 KiB are pending, or at `flush()`.
    public func write(_ bytes: [UInt8]) throws { try writer.write(bytes) }

    /// Adds `text` in UTF-8.
    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try writer.write(UnsafeRawBufferPointer($0)) }
    }

    /// Adds the bytes of a buffer.
    public func write(_ bytes: UnsafeRawBufferPointer) throws { try writer.write(bytes) }

    /// Sends what is pending now (server-sent events, progress lines).
    public func flush() throws { try writer.flush() }
}
