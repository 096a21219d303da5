import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// What a response puts on the wire: the serialized head and the body parts, with how
/// much of them has been written. Every MPM writes it the same way; a write that stops
/// at `EAGAIN` resumes where it stopped (the event MPM's write completion).
public struct ResponseOutput {
    public enum Part {
        case bytes([UInt8])
        /// A range of an open file, sent with sendfile(2) or read and written.
        case file(Descriptor, offset: Int64, length: Int64)
    }

    public var head: [UInt8] = []
    public var parts: [Part] = []
    /// Files this output owns, closed by `reset`.
    var files: [Descriptor] = []
    var headWritten = 0
    var partIndex = 0
    var partWritten: Int64 = 0
    /// Head and body bytes written so far (Apache's `%O` less the TLS framing).
    public private(set) var bytesWritten: Int64 = 0
    /// Body bytes written (`%B`).
    public private(set) var bodyBytesWritten: Int64 = 0
    public var useSendfile = true
    var copyBuffer: UnsafeMutableRawBufferPointer?

    public init() {}

    public var isComplete: Bool { headWritten == head.count && partIndex == parts.count }

    public mutating func reset() {
        for file in files { file.close() }
        files.removeAll(keepingCapacity: true)
        head.removeAll(keepingCapacity: true)
        parts.removeAll(keepingCapacity: true)
        headWritten = 0
        partIndex = 0
        partWritten = 0
        bytesWritten = 0
        bodyBytesWritten = 0
    }

    /// Closes owned files and the copy buffer; the output is not used again.
    public mutating func release() {
        reset()
        copyBuffer?.deallocate()
        copyBuffer = nil
    }

    mutating func own(_ file: Descriptor) { files.append(file) }

    /// The emptied arrays of a finished output, with their capacity, for another
    /// connection's next response (see `HTTPConnection.IdleStorage`).
    public struct Arrays {
        var head: [UInt8]
        var parts: [Part]
        var files: [Descriptor]
    }

    /// Takes the arrays, leaving none allocated; call after `reset`.
    mutating func takeArrays() -> Arrays {
        defer {
            head = []
            parts = []
            files = []
        }
        return Arrays(head: head, parts: parts, files: files)
    }

    mutating func adopt(_ arrays: Arrays) {
        head = arrays.head
        parts = arrays.parts
        files = arrays.files
    }

    /// The head and body went out through a `ResponseBodyWriter`: count them, and mark
    /// the output complete.
    mutating func recordStreamed(bytes: Int64, bodyBytes: Int64) {
        headWritten = head.count
        partIndex = parts.count
        bytesWritten = bytes
        bodyBytesWritten = bodyBytes
    }

    public enum Progress { case done, wouldBlock }

    /// Writes as much as the socket takes. On a non-blocking socket it returns
    /// `.wouldBlock` when the send buffer is full; call again when it is writable.
    public mutating func write(to socket: Transport) throws -> Progress {
        while !isComplete {
            if headWritten < head.count {
                // The head and a small body go out in one writev.
                let result: IOResult = try head.withUnsafeBytes { headBytes in
                    let rest = UnsafeRawBufferPointer(rebasing: headBytes[headWritten...])
                    if partIndex < parts.count, case .bytes(let body) = parts[partIndex], partWritten == 0 {
                        return try body.withUnsafeBytes { try socket.writev([rest, $0]) }
                    }
                    return try socket.write(rest)
                }
                guard case .transferred(var n) = result else { return .wouldBlock }
                bytesWritten += Int64(n)  // trap-safe: Int to Int64 widens
                let headPart = min(n, head.count - headWritten)
                headWritten += headPart
                n -= headPart
                if n > 0 { advanceBody(n) }
                continue
            }
            switch parts[partIndex] {
            case .bytes(let bytes):
                let result = try bytes.withUnsafeBytes { try socket.write(UnsafeRawBufferPointer(rebasing: $0[Int(partWritten)...])) }  // trap-safe: partWritten is below this part's byte count, an Int
                guard case .transferred(let n) = result else { return .wouldBlock }
                bytesWritten += Int64(n)  // trap-safe: Int to Int64 widens
                advanceBody(n)
            case .file(let fd, let offset, let length):
                let remaining = length - partWritten
                if useSendfile && socket.sendsFiles {
                    let result = try socket.sendfile(from: fd, offset: offset + partWritten, count: Int(min(remaining, 1 << 30)))  // trap-safe: at most 1 GiB
                    guard case .transferred(let n) = result else { return .wouldBlock }
                    if n == 0 { throw SystemError(errno: .ioError, call: "sendfile (file shrank)") }
                    bytesWritten += Int64(n)  // trap-safe: Int to Int64 widens
                    advanceBody(n)
                } else {
                    if copyBuffer == nil { copyBuffer = .allocate(byteCount: 65536, alignment: 8) }
                    // Over TLS a record's worth at a time, so a retry after EAGAIN offers the same bytes.
                    let chunkSize = socket.sendsFiles ? 65536 : Transport.recordSize
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: copyBuffer![..<Int(min(remaining, Int64(chunkSize)))])  // trap-safe: allocated on the line above; at most 65536
                    let got = pread(fd.rawValue, chunk.baseAddress, chunk.count, off_t(offset + partWritten))  // trap-safe: off_t is Int64
                    if got <= 0 { throw SystemError(errno: .ioError, call: "pread (file shrank)") }
                    let result = try socket.write(UnsafeRawBufferPointer(rebasing: chunk[..<got]))
                    guard case .transferred(let n) = result else { return .wouldBlock }
                    bytesWritten += Int64(n)  // trap-safe: Int to Int64 widens
                    advanceBody(n)
                }
            }
        }
        return .done
    }

    private mutating func advanceBody(_ count: Int) {
        var n = Int64(count)  // trap-safe: Int to Int64 widens
        bodyBytesWritten += n
        while n > 0, partIndex < parts.count {
            let length: Int64
            switch parts[partIndex] {
            case .bytes(let b): length = Int64(b.count)  // trap-safe: Int to Int64 widens
            case .file(_, _, let l): length = l
            }
            let take = min(n, length - partWritten)
            partWritten += take
            n -= take
            if partWritten == length {
                partIndex += 1
                partWritten = 0
            }
        }
        // Skip empty parts so `isComplete` holds as soon as everything is out.
        while partIndex < parts.count, partLength(partIndex) == 0 { partIndex += 1 }
    }

    private func partLength(_ i: Int) -> Int64 {
        switch parts[i] {
        case .bytes(let b): return Int64(b.count)  // trap-safe: Int to Int64 widens
        case .file(_, _, let l): return l
        }
    }
}
