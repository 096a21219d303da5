import CZlib
import SkepHTTP
import SkepSystem

/// The `DEFLATE` output filter, with the choices of Apache's `deflate_out_filter`, in
/// its order:
/// - no body, or a known body of at most 68 bytes (gzip's 18 bytes of framing plus 50
///   for the fields it adds): left alone, without `Vary`;
/// - a 204, the `no-gzip` variable, a `Content-Range`: left alone;
/// - `gzip-only-text/html=1` and a type that is not `text/html...`: left alone;
/// - a `Content-Encoding` other than identity, 7bit, 8bit, binary: left alone;
/// - then `Vary: Accept-Encoding` is added, and the body compressed if `force-gzip` is
///   set or `Accept-Encoding` names gzip (see `AcceptEncoding`); `Content-Encoding:
///   gzip`, no `Content-Length` (the connection counts the result), the ETag suffix
///   `-gzip` (DeflateAlterETag).
/// HEAD is compressed too, so its `Content-Length` is the GET's. A streamed body is
/// compressed as it arrives, a producer's flush is a zlib sync flush.
struct DeflateFilter: OutputFilter {
    let cache: DeflateCache
    var name: String { "DEFLATE" }
    var stage: OutputFilterStage { .resource }

    /// What the filter does with one response.
    enum Decision: Equatable {
        /// Leave it as it is.
        case pass
        /// Only `Vary: Accept-Encoding` (the client did not ask for gzip).
        case varyOnly
        case compress
    }

    static let tinyBody: Int64 = 10 + 8 + 50

    static func decide(_ response: Response, _ r: Request) -> Decision {
        if response.isProgressive {
            // Apache sees a script's body in parts: only an empty one (its end-of-stream
            // alone, as for every HEAD: the script writes no body) is "very small".
            if r.isHead || response.contentLength == 0 && !response.isStream { return .pass }
        } else {
            switch response.body {
            case .empty, .parts: return .pass
            case .bytes, .file: if response.contentLength <= tinyBody { return .pass }
            case .stream(let stream): if let length = stream.length, length <= tinyBody { return .pass }
            }
        }
        if response.status.code == 204 || r.environment["no-gzip"] != nil || response.header("Content-Range") != nil { return .pass }
        let type = response.header("Content-Type")
        if type.map({ !$0.hasPrefix("text/html") }) ?? true, r.environment["gzip-only-text/html"] == "1" { return .pass }
        if let encoding = response.header("Content-Encoding") {
            var p = Array(encoding.utf8)[...]
            while !p.isEmpty {
                let token = String(decoding: AcceptEncoding.getToken(&p, acceptWhite: false), as: UTF8.self)
                if token.isEmpty { break }
                if !["identity", "7bit", "8bit", "binary"].contains(token) { return .pass }
                if !p.isEmpty { p = p.dropFirst() }
            }
        }
        if r.environment["force-gzip"] != nil { return .compress }
        guard let accept = r.header("Accept-Encoding"), AcceptEncoding.acceptsGzip(accept) else { return .varyOnly }
        return .compress
    }

    func mayBlock(_ response: Response, _ r: Request, _ context: ServerContext) -> Bool {
        guard Self.decide(response, r) == .compress else { return false }
        guard let source = response.sourceFile else { return true }
        return !cache.contains(key(source, r))
    }

    func filter(_ response: inout Response, _ r: Request, _ context: ServerContext) {
        let decision = Self.decide(response, r)
        guard decision != .pass else { return }
        Self.addVary(&response)
        guard decision == .compress else { return }
        let c = r.serverConfig(DeflateServerConfig.self)
        // zlib refusing the parameters (a window under 9 bits) leaves the body as it is, as Apache's AH01383.
        guard let encoder = try? GzipEncoder(level: c.compressionLevel, windowBits: c.windowBits, memLevel: c.memLevel, bufferSize: c.bufferSize) else {
            context.errorLog.log(.error, module: "deflate", client: r.client,
                                 "AH01383: unable to init Zlib: deflateInit2 returned an error: URL \(r.uri)")
            return
        }
        if response.status.code != 304 {
            switch response.body {
            case .stream(let stream):
                response.body = .stream(stream.filtered { next in GzipSink(encoder: encoder, next: next, notes: Notes(c, r)) })
            default:
                guard let compressed = compressedBody(response, encoder, r, context) else { return }
                // Apache's notes count zlib's deflate output, without gzip's 18 bytes of framing.
                Notes(c, r).record(input: response.contentLength, output: Int64(compressed.count) - GzipEncoder.framing)  // trap-safe: Int to Int64 widens; compressed holds the framing
                response.discard()
                response.body = .bytes(compressed)
            }
        }
        let encoding = response.header("Content-Encoding")
        if let encoding, encoding.lowercased() != "identity" {
            response.setHeader("Content-Encoding", encoding + ", gzip")
        } else {
            response.setHeader("Content-Encoding", "gzip")
        }
        response.headers.removeAll { Response.sameName($0.name, "Content-Length") || Response.sameName($0.name, "Content-MD5") }
        switch c.alterETag {
        case .noChange: break
        case .remove: response.headers.removeAll { Response.sameName($0.name, "ETag") }
        case .addSuffix:
            if let etag = response.header("ETag"), etag.utf8.count > 2, etag.hasSuffix("\"") {
                response.setHeader("ETag", String(etag.dropLast()) + "-gzip\"")
            }
        }
        response.sourceFile = nil
    }

    /// Apache's `apr_table_mergen(headers_out, "Vary", "Accept-Encoding")`: a second
    /// value is appended with `, ` (the connection writes one field).
    static func addVary(_ response: inout Response) {
        if let vary = response.header("Vary") {
            response.setHeader("Vary", vary + ", Accept-Encoding")
        } else {
            response.headers.append(("Vary", "Accept-Encoding"))
        }
    }

    private func key(_ source: Response.SourceFile, _ r: Request) -> DeflateCache.Key {
        let c = r.serverConfig(DeflateServerConfig.self)
        return DeflateCache.Key(file: source, level: c.compressionLevel, windowBits: c.windowBits, memLevel: c.memLevel)
    }

    /// The compressed bytes of a known body: from the cache for a whole file, else
    /// compressed now (and cached when it is a whole file).
    private func compressedBody(_ response: Response, _ encoder: GzipEncoder, _ r: Request, _ context: ServerContext) -> [UInt8]? {
        let cacheKey = response.sourceFile.map { key($0, r) }
        if let cacheKey, let hit = cache.get(cacheKey) { return hit }
        var out: [UInt8] = []
        do {
            switch response.body {
            case .bytes(let bytes):
                out.reserveCapacity(bytes.count / 3 + 64)
                try bytes.withUnsafeBytes { try encoder.encode($0, flush: Z_FINISH, into: &out) }
            case .file(let fd, let offset, let length):
                out.reserveCapacity(Int(clamping: length / 3 + 64))
                let chunkSize = 65536
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 8)
                defer { buffer.deallocate() }
                var done: Int64 = 0
                while done < length {
                    let want = Int(min(Int64(chunkSize), length - done))  // trap-safe: at most chunkSize
                    let got = pread(fd.rawValue, buffer.baseAddress, want, off_t(offset + done))  // trap-safe: off_t is Int64; offset + done is within the file's range
                    guard got > 0 else {
                        context.errorLog.log(.error, module: "deflate", client: r.client, "AH10298: failed reading from file bucket: \(r.filename ?? r.uri)")
                        return nil
                    }
                    done += Int64(got)  // trap-safe: Int to Int64 widens
                    try encoder.encode(UnsafeRawBufferPointer(rebasing: buffer[..<got]), flush: done == length ? Z_FINISH : Z_NO_FLUSH, into: &out)
                }
            default:
                return nil
            }
        } catch {
            context.errorLog.log(.error, module: "deflate", client: r.client, "AH01386: Zlib error \(error) deflating data: URL \(r.uri)")
            return nil
        }
        if let cacheKey { cache.put(cacheKey, out) }
        return out
    }
}

/// DeflateFilterNote: the input and output sizes and the ratio, for `%{name}n`.
struct Notes {
    let input: String?
    let output: String?
    let ratio: String?
    let request: Request

    init(_ c: DeflateServerConfig, _ r: Request) {
        input = c.inputNote
        output = c.outputNote
        ratio = c.ratioNote
        request = r
    }

    func record(input inBytes: Int64, output outBytes: Int64) {
        if let input { request.notes[input] = inBytes > 0 ? String(inBytes) : "-" }
        if let output { request.notes[output] = outBytes > 0 ? String(outBytes) : "-" }
        // Apache's `(int)(total_out * 100 / total_in)`.
        if let ratio { request.notes[ratio] = inBytes > 0 ? String(outBytes.multipliedReportingOverflow(by: 100).partialValue / inBytes) : "-" }
    }
}

/// The DEFLATE filter on a streamed body: each write is compressed as it comes, a
/// flush is zlib's sync flush followed by the connection's flush, the end writes the
/// trailer.
final class GzipSink: ResponseBodySink {
    let encoder: GzipEncoder
    let next: ResponseBodyWriter
    let notes: Notes
    private var out: [UInt8] = []

    init(encoder: GzipEncoder, next: ResponseBodyWriter, notes: Notes) {
        self.encoder = encoder
        self.next = next
        self.notes = notes
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try encoder.encode(bytes, flush: Z_NO_FLUSH, into: &out)
        try drain()
    }

    func flush() throws {
        try encoder.encode(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_SYNC_FLUSH, into: &out)
        try drain()
        try next.flush()
    }

    func finish() throws {
        try encoder.encode(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, into: &out)
        try drain()
        notes.record(input: encoder.totalIn, output: encoder.totalOut - GzipEncoder.framing)
    }

    private func drain() throws {
        guard !out.isEmpty else { return }
        try next.write(out)
        out.removeAll(keepingCapacity: true)
    }
}
