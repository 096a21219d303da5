import SkepHTTP

/// Skep's `RequestParser` as the server drives it (`HTTPConnection.parseNext`/`didWrite`):
/// one parser per connection, `reset()` after each request, parsing the connection's own
/// buffer; a pipelined request is parsed from the previous one's `consumed` on.
struct SkepParserLoop: ParserLoop {
    /// Stands in for the connection's buffer: allocated once, as the server's is.
    let buffer: UnsafeMutableRawBufferPointer
    let requestsPerIteration: Int
    var parser = RequestParser()

    init(_ head: BenchHead) {
        buffer = .allocate(byteCount: head.bytes.count, alignment: 16)
        buffer.copyBytes(from: head.bytes)
        requestsPerIteration = head.requests
    }

    mutating func run(iterations: Int) -> UInt64 {
        let bytes = UnsafeRawBufferPointer(buffer)
        var sink: UInt64 = 0
        for _ in 0..<iterations {
            var offset = 0
            while offset < bytes.count {
                parser.reset()
                switch parser.parse(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                case .headComplete(let head, let consumed):
                    sink &+= UInt64(truncatingIfNeeded: consumed &+ head.fields.count &+ head.pathRange.count
                        &+ (head.fields.last?.value.upperBound ?? 0) &+ (head.keepAlive ? 1 : 0))
                    offset += consumed
                case .needMore:
                    fatalError("Skep: incomplete head at offset \(offset)")
                case .error(let status, let reason):
                    fatalError("Skep: \(status) \(reason) at offset \(offset)")
                }
            }
        }
        return sink
    }

    /// The header fields of each request, for the sanity check.
    mutating func fieldCounts() -> [Int] {
        let bytes = UnsafeRawBufferPointer(buffer)
        var counts: [Int] = []
        var offset = 0
        while offset < bytes.count {
            parser.reset()
            guard case .headComplete(let head, let consumed) = parser.parse(UnsafeRawBufferPointer(rebasing: bytes[offset...])) else {
                fatalError("Skep: head not parsed")
            }
            counts.append(head.fields.count)
            offset += consumed
        }
        return counts
    }
}
