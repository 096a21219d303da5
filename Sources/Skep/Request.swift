import SkepServer
import SkepSystem

/// The request a handler answers: what the client sent, where it came from, and the
/// configuration in effect for its URL.
///
/// Valid only during the handler call (and the response's stream, which runs on the
/// same thread right after): do not keep it.
public final class Request {
    let raw: SkepServer.Request
    let server: ServerContext
    let module: String

    init(_ raw: SkepServer.Request, server: ServerContext, module: String) {
        self.raw = raw
        self.server = server
        self.module = module
    }

    /// The method as sent: `GET`, `POST`...
    public var method: String { raw.method }
    /// The request target as sent, query included: `/api/items?limit=5`.
    public var target: String { raw.target }
    /// The URL path, percent-decoded and normalized as Apache's `r->uri`.
    public var path: String { raw.uri }
    /// The query string without its `?`, or nil when the target has none.
    public var query: String? { raw.query }
    /// The protocol: `HTTP/1.1` or `HTTP/1.0`.
    public var httpVersion: String { raw.protocolName }
    /// The path below the mapped file or location (Apache's `PATH_INFO`).
    public var pathInfo: String { raw.pathInfo }
    /// The file the URL maps to under `DocumentRoot` or an `Alias`, when it maps to one.
    public var filename: String? { raw.filename }

    /// The first value of a header field, matched without regard to case.
    public func header(_ name: String) -> String? { raw.header(name) }
    /// Every value of a header field, in the order sent.
    public func headers(named name: String) -> [String] { raw.headerValues(name) }
    /// Every header field, in the order sent.
    public var headers: [(name: String, value: String)] {
        raw.bytes.withMemoryRebound(to: UInt8.self) { bytes in
            raw.head.fields.map { field in
                (String(decoding: bytes[field.name], as: UTF8.self), String(decoding: bytes[field.value], as: UTF8.self))
            }
        }
    }

    /// The client's address.
    public var client: Address { Address(raw.client) }
    /// The address the request arrived on.
    public var local: Address { Address(raw.local) }
    /// The host name the request is for, as it goes into a URL: its `Host` (an IPv6
    /// address in brackets), else the server's `ServerName`, else the local address.
    public var serverName: String { raw.serverNameForURL }

    /// Your module's record in effect for this request's URL: the server's, merged with
    /// every matching `<Directory>`, `<Location>` and `<Files>` section's.
    public func config<Config: ModuleConfig>(_ type: Config.Type) -> Config { raw.config(type) }

    /// The request body, read as a stream (`Expect: 100-continue` is answered on the first
    /// read; `LimitRequestBody` applies).
    public private(set) lazy var body = RequestBody(raw.body)

    /// Writes a line to the `ErrorLog` under your module's name, with the client's address.
    public func log(_ level: LogLevel, _ message: String) {
        server.errorLog.log(level, module: module, client: raw.client, message)
    }
}

/// An IP address and port.
public struct Address: Sendable, Hashable, CustomStringConvertible {
    /// The address in text: `127.0.0.1`, `::1`.
    public var host: String
    /// The TCP port.
    public var port: Int

    init(_ address: SocketAddress) {
        host = address.host
        port = Int(address.port)  // trap-safe: UInt16 to Int widens
    }

    /// `host:port`, with an IPv6 host in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A request body as a stream.
public final class RequestBody {
    let reader: BodyReader?

    init(_ reader: BodyReader?) { self.reader = reader }

    /// A body that is too large, cut short or badly framed.
    public struct ReadError: Error, CustomStringConvertible {
        /// The status Apache answers for it (400, 408, 413).
        public var status: Int
        /// What went wrong, for the error log.
        public var description: String
    }

    /// Reads up to `buffer.count` bytes; returns 0 at the end of the body.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let reader else { return 0 }
        do {
            return try reader.read(into: buffer)
        } catch {
            throw ReadError(status: error.status.code, description: "request body: \(error)")
        }
    }

    /// Reads the whole body; throws `ReadError` with status 413 past `limit` bytes.
    public func readAll(limit: Int = 1 << 20) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return out }
            guard out.count + n <= limit else {
                throw ReadError(status: 413, description: "request body larger than \(limit) bytes")
            }
            out.append(contentsOf: chunk[..<n])
        }
    }
}
