import NIOCore
import NIOEmbedded
import NIOHTTP1

/// SwiftNIO's `HTTPRequestDecoder` as a NIO server uses it: behind a
/// `ByteToMessageHandler` in a channel pipeline (here an `EmbeddedChannel`, so no socket
/// and no event loop thread), one decoder for the connection's life. Each iteration
/// writes the bytes inbound and reads the decoded parts until every request's `.end`.
struct NIODecoderLoop: ParserLoop {
    let channel: EmbeddedChannel
    let bytes: ByteBuffer
    let requestsPerIteration: Int

    init(_ head: BenchHead) {
        channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        bytes = channel.allocator.buffer(bytes: head.bytes)
        requestsPerIteration = head.requests
    }

    mutating func run(iterations: Int) -> UInt64 {
        var sink: UInt64 = 0
        do {
            for _ in 0..<iterations {
                try channel.writeInbound(bytes)
                var ends = 0
                while ends < requestsPerIteration {
                    guard let part = try channel.readInbound(as: HTTPServerRequestPart.self) else {
                        fatalError("NIO: \(ends) of \(requestsPerIteration) requests decoded")
                    }
                    switch part {
                    case .head(let head):
                        sink &+= UInt64(truncatingIfNeeded: head.uri.utf8.count &+ head.headers.count
                            &+ (head.headers.first?.value.utf8.count ?? 0) &+ (head.isKeepAlive ? 1 : 0))
                    case .body:
                        fatalError("NIO: unexpected body")
                    case .end:
                        ends += 1
                    }
                }
            }
        } catch {
            fatalError("NIO: \(error)")
        }
        return sink
    }

    /// The header fields of each request, for the sanity check.
    mutating func fieldCounts() -> [Int] {
        var counts: [Int] = []
        do {
            try channel.writeInbound(bytes)
            while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                if case .head(let head) = part { counts.append(head.headers.count) }
            }
        } catch {
            fatalError("NIO: \(error)")
        }
        return counts
    }
}
