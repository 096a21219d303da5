import Glibc
import SkepConfig
import SkepHTTP
import SkepSystem

/// The request body on its way to a back end (FastCGI STDIN, an HTTP back end's body): a
/// body with a `Content-Length` is streamed from the client as it is sent on; a chunked
/// one is read whole first (in memory, then in an unlinked temporary file past 1 MiB),
/// because PHP reads `CONTENT_LENGTH` bytes and nothing else, and so the HTTP back end gets
/// a `Content-Length` too (Apache's `proxy-sendcl`).
final class RequestBodySource {
    /// `CONTENT_LENGTH`: nil when the request has no body.
    let length: Int64?
    private let reader: BodyReader?
    private var spooled: [UInt8] = []
    private var spoolFile: File?
    static let memoryLimit = 1 << 20

    init(_ r: Request) throws(BodyError) {
        guard let body = r.body, !body.isFinished || body.received > 0 else {
            reader = nil
            length = nil
            return
        }
        switch r.head.framing {
        case .none:
            reader = nil
            length = nil
        case .length(let n):
            reader = body
            length = n
        case .chunked:
            reader = nil
            do {
                (spooled, spoolFile, length) = try Self.spool(body, limit: Int64(r.config(CoreDirConfig.self).requestBodyLimit))  // trap-safe: Int to Int64 widens
            } catch let error as BodyError {
                throw error
            } catch {
                throw BodyError.malformed(.internalServerError)
            }
        }
    }

    /// Reads a chunked body to its end: the bytes in memory, or the file past 1 MiB.
    private static func spool(_ body: BodyReader, limit: Int64) throws -> ([UInt8], File?, Int64) {
        var memory: [UInt8] = []
        var total: Int64 = 0
        var file: File?
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { scratch.deallocate() }
        do {
            while true {
                let n = try body.read(into: scratch)
                if n == 0 { break }
                total += Int64(n)  // trap-safe: Int to Int64 widens
                if limit > 0 && total > limit { throw BodyError.tooLarge }
                let chunk = UnsafeRawBufferPointer(rebasing: scratch[..<n])
                if file == nil && memory.count + n > memoryLimit {
                    file = try temporaryFile(holding: memory)
                    memory = []
                }
                if let file {
                    try file.writeAll(chunk)
                } else {
                    memory.append(contentsOf: chunk)
                }
            }
        } catch {
            file?.close()
            throw error
        }
        return (memory, file, total)
    }

    deinit { spoolFile?.close() }

    /// An unlinked file in the temporary directory, holding `bytes` so far.
    private static func temporaryFile(holding bytes: [UInt8]) throws -> File {
        var template = Array(((CGIEnvironment.environmentValue("TMPDIR").flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp") + "/skep-body-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }  // trap-safe: a non-empty array has an address
        if fd < 0 { throw SystemError(errno: Errno(rawValue: errno), call: "mkstemp") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }  // trap-safe: a non-empty array has an address
        let file = File(descriptor: Descriptor(rawValue: fd))
        try bytes.withUnsafeBytes { try file.writeAll($0) }
        return file
    }

    /// Sends the body as STDIN records, then the empty STDIN record that ends it.
    func send(to backend: BackendConnection, timeoutMilliseconds: Int) throws {
        var records: [UInt8] = []
        records.reserveCapacity(FastCGIExchange.stdinChunk + 16)
        try forEachPart(FastCGIExchange.stdinChunk) { content in
            records.removeAll(keepingCapacity: true)
            FastCGIRecord.append(.stdin, content: content, to: &records)
            try records.withUnsafeBytes { try backend.send($0, timeoutMilliseconds: timeoutMilliseconds) }
        }
        records.removeAll(keepingCapacity: true)
        FastCGIRecord.appendHeader(.stdin, contentLength: 0, to: &records)
        try records.withUnsafeBytes { try backend.send($0, timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// Sends the body's bytes as they are (an HTTP back end, after a `Content-Length`).
    func sendRaw(to backend: BackendConnection, timeoutMilliseconds: Int) throws {
        try forEachPart(65536) { try backend.send($0, timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// The body in parts of at most `size` bytes: from the client as it arrives, or from
    /// the spool.
    private func forEachPart(_ size: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if spoolFile == nil && reader == nil {
            try spooled.withUnsafeBytes { all in
                var offset = 0
                while offset < all.count {
                    let n = min(size, all.count - offset)
                    try body(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)]))
                    offset += n
                }
            }
            return
        }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { scratch.deallocate() }
        var offset: Int64 = 0
        while true {
            let n = try reader.map { try $0.read(into: scratch) } ?? spoolFile!.read(into: scratch, at: offset)  // trap-safe: without a reader the body was spooled (the branch above handles neither)
            if n == 0 { break }
            offset += Int64(n)  // trap-safe: Int to Int64 widens
            try body(UnsafeRawBufferPointer(rebasing: scratch[..<n]))
        }
    }
}
