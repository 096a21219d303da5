// A server built on the `Skep` library for the end-to-end tests of the embedding API:
// handlers that answer, stream, send files, block, and crash in each way a Swift
// handler can, plus one that is not thread-safe. Every handler is mapped by the test's
// own generated configuration with `SetHandler`.
import Skep
#if canImport(Glibc)
import Glibc
#endif

/// `TestGreeting` and `TestFailChildInit`: a per-directory record, to prove directives.
struct TestConfig: ModuleConfig {
    var greeting: String?
    var failChildInit: Bool?
    init() {}
    func merged(with child: TestConfig) -> TestConfig {
        var out = child
        out.greeting = child.greeting ?? greeting
        out.failChildInit = child.failChildInit ?? failChildInit
        return out
    }
}

/// What this child's `child_init` saw, answered by `child-info`.
nonisolated(unsafe) var childInitLine = "child_init did not run"
/// The non-thread-safe handler's state: a plain global, as an NTS extension keeps it.
nonisolated(unsafe) var unsafeCounter = 0

var test = Module("test_module")

test.directive("TestGreeting", help: "the greeting test-echo answers with") { (arguments, config: inout TestConfig) in
    guard !arguments[0].isEmpty else { throw DirectiveError("the greeting must not be empty") }
    config.greeting = arguments[0]
}
test.directive("TestFailChildInit", .flag, in: .server, help: "On to make child_init throw") { (arguments, config: inout TestConfig) in
    config.failChildInit = arguments[0].lowercased() == "on"
}

test.onChildInit { child in
    if child.config(TestConfig.self).failChildInit == true { throw DirectiveError("TestFailChildInit is On") }
    childInitLine = "child_init pid=\(child.pid) mpm=\(child.mpm) threads=\(child.threads) generation=\(child.generation)"
    child.log(.notice, childInitLine)
}

test.handler("test-echo", threadSafe: true) { request, response in
    let greeting = request.config(TestConfig.self).greeting ?? "hello"
    let body = try request.body.readAll()
    response.contentType = "text/plain; charset=utf-8"
    response.setHeader("X-Test-Method", request.method)
    response.send("""
        \(greeting)
        method=\(request.method) path=\(request.path) query=\(request.query ?? "-") version=\(request.httpVersion)
        client=\(request.client.host) local=\(request.local) server=\(request.serverName)
        x-test=\(request.header("X-Test") ?? "-") fields=\(request.headers.count) body=\(body.count)

        """)
}

test.handler("test-stream", threadSafe: true) { request, response in
    let count = Int(request.query ?? "") ?? 5
    response.contentType = "text/plain"
    response.stream { writer in
        for i in 0..<count {
            try writer.write("line \(i)\n")
            try writer.flush()
        }
    }
}

// Declared non-blocking: the event listener may answer it without a worker.
test.handler("test-quick", threadSafe: true, nonBlocking: true) { request, response in
    response.contentType = "text/plain"
    response.send("quick \(request.path)\n")
}

// Declared non-blocking, yet streams: refused with 500 when the listener runs it.
test.handler("test-quick-stream", threadSafe: true, nonBlocking: true) { _, response in
    response.stream { writer in try writer.write("never on the listener\n") }
}

// Copies the decoded path into a header field, as a careless handler might; `?name`
// uses it as a field name, `?status` answers with status 42, `?fail` fails with -1. The
// server must refuse the response with a 500, not send it or trap.
test.handler("header-from-path", threadSafe: true) { request, response in
    switch request.query {
    case "name"?: response.setHeader(request.path, "x")
    case "status"?: response.status = 42
    case "fail"?: response.fail(-1)
    default: response.setHeader("X-Path", request.path)
    }
    response.send("sent\n")
}

// Answers with the status in the query and a body that reads as a response of its own.
test.handler("test-status", threadSafe: true) { request, response in
    response.status = Int(request.query ?? "") ?? 200
    response.send("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged")
}

test.handler("test-file", threadSafe: true) { request, response in
    guard let filename = request.filename else { return response.fail(404) }
    do {
        try response.sendFile(filename)
        response.contentType = "application/octet-stream"
    } catch {
        response.fail(404)
    }
}

test.handler("child-info", threadSafe: true) { _, response in
    response.send(childInitLine + "\n")
}

/// Answers with the pid of the child that served it, so a client knows which child its
/// connection is on. With `X-Marker: PATH` it first creates that file, so a test knows
/// the request is in its handler without asking the server.
test.handler("slow", threadSafe: true) { request, response in
    if let marker = request.header("X-Marker") { close(open(marker, O_CREAT | O_WRONLY, 0o644)) }
    usleep(UInt32(Int(request.query ?? "") ?? 200) * 1000)
    response.send("slept pid=\(getpid())\n")
}

test.handler("hang", threadSafe: true) { _, response in
    while true { sleep(1000) }
}

test.handler("nts-counter", threadSafe: false) { _, response in
    unsafeCounter += 1
    response.send("\(unsafeCounter)\n")
}

test.handler("crash-fatal", threadSafe: true) { _, _ in
    fatalError("crash-fatal handler")
}

test.handler("crash-unwrap", threadSafe: true) { request, response in
    let missing: String? = request.header("X-Never-Sent")
    response.send(missing!)
}

test.handler("crash-index", threadSafe: true) { request, response in
    let items = [1, 2, 3]
    response.send("\(items[items.count + request.path.count])")
}

test.handler("crash-segv", threadSafe: true) { _, _ in
    UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1
}

test.handler("throws", threadSafe: true) { _, _ in
    throw DirectiveError("a handler error")
}

test.onChildExit { child in
    child.log(.notice, "child_exit pid=\(child.pid) mpm=\(child.mpm)")
}

// The mistake `Server.run()` guards against: a thread started before the master forks.
if getenv("SKEP_TEST_THREAD_BEFORE_RUN") != nil {
    var thread = pthread_t()
    pthread_create(&thread, nil, { _ in sleep(60); return nil }, nil)
}

Server(modules: [test]).run()
