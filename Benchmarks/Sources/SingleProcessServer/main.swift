// single-process-server: the baseline of Benchmarks/crash/crash-isolation.py.
//
// Why it exists: Skep runs handlers in child processes, so a handler that traps kills one
// child and the master replaces it. This is what most Swift servers are instead: one
// process (SwiftNIO, an event loop group of 2 threads) serving every connection, with the
// same two handlers as Tests/SkepTestApp's `slow` and `crash-unwrap`. A trap here takes
// the whole server with it; the benchmark measures what each design loses.
//
//   single-process-server PORT       # listens on 127.0.0.1:PORT until killed
//
//   GET /slow?MS        answers "slept\n" after MS ms (default 200); the wait is a task
//                       scheduled on the event loop, so it blocks nothing
//   GET /crash-unwrap   force-unwraps nil, as SkepTestApp's crash-unwrap does
//   anything else       404
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

final class Handler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            route(context: context, head: head)
        }
    }

    private func route(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let (path, _, query) = head.uri.partitionedOnce(by: "?")
        switch path {
        case "/slow":
            let ms = Int64(query) ?? 200
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(ms)) {
                self.respond(context: context, head: head, status: .ok, body: "slept\n")
            }
        case "/crash-unwrap":
            let missing: String? = head.headers.first(name: "X-Never-Sent")
            respond(context: context, head: head, status: .ok, body: missing!)
        default:
            respond(context: context, head: head, status: .notFound, body: "not found\n")
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, body: String) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !head.isKeepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

extension String {
    /// (before, found, after) around the first `separator`; ("uri", false, "") without one.
    func partitionedOnce(by separator: Character) -> (Substring, Bool, Substring) {
        guard let i = firstIndex(of: separator) else { return (self[...], false, "") }
        return (self[..<i], true, self[index(after: i)...])
    }
}

guard CommandLine.arguments.count == 2, let port = Int(CommandLine.arguments[1]) else {
    print("usage: single-process-server PORT")
    exit(2)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 511)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(Handler())
        }
    }
    .bind(host: "127.0.0.1", port: port).wait()
print("single-process-server: pid \(getpid()) listening on 127.0.0.1:\(port)")
try server.closeFuture.wait()
