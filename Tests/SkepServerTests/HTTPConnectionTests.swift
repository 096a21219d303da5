import Testing
import SkepConfig
import SkepServer
import SkepSystem
import SkepTestSupport

/// `HTTPConnection` as the state machine it is: bytes in through `readSpace`/`didRead`,
/// actions out, no socket. Each test feeds what a client would send and checks the
/// action and the response head the machine prepares.
@Suite struct HTTPConnectionTests {
    let root: String
    let context: ServerContext

    init() throws {
        root = try makeTemporaryDirectory()
        try writeFile(root + "/hello.txt", "hello\n")
        // mod_authz_core decides what needs no user; without it Apache's access phases
        // answer 500 ("couldn't check user"), and so do Skep's.
        let config = try makeConfig("""
            LoadModule authz_core_module modules/mod_authz_core.so
            DocumentRoot \(root)
            ErrorLog /dev/null
            KeepAliveTimeout 7
            Timeout 30
            """, adding: [AuthzCoreModule.descriptor])
        context = try ServerContext(config: config, moduleTypes: [AuthzCoreModule.self])
    }

    func connection() -> HTTPConnection {
        HTTPConnection(context: context, client: .loopbackIPv4(port: 40000), local: .loopbackIPv4(port: 80))
    }

    /// Copies `text` into the connection's read space as one read.
    func feed(_ http: HTTPConnection, _ text: String) -> HTTPConnection.Action {
        let bytes = Array(text.utf8)
        let space = http.readSpace()
        precondition(bytes.count <= space.count, "test input larger than one read")
        space.copyBytes(from: bytes)
        return http.didRead(bytes.count)
    }

    func head(_ http: HTTPConnection) -> String { String(decoding: http.output.head, as: UTF8.self) }

    /// No body is ever read in these tests.
    struct NoBody: ConnectionIO {
        func read(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int) throws -> Int? { 0 }
        func write(_ bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws {}
    }

    @Test func aRequestInTwoReadsIsProcessedAndKeptAlive() throws {
        let http = connection()
        #expect(http.start() == .read(timeoutMilliseconds: 30_000))
        #expect(feed(http, "GET /hello.txt HTTP/1.1\r\nHo") == .read(timeoutMilliseconds: 30_000))
        #expect(http.phase == .readingHead)
        #expect(feed(http, "st: a\r\nConnection: keep-alive\r\n\r\n") == .process)
        #expect(http.process(io: NoBody()) == .write)
        #expect(head(http).hasPrefix("HTTP/1.1 200 OK\r\n"), "\(head(http))")
        #expect(head(http).contains("Keep-Alive: timeout=7, max=100\r\n"), "\(head(http))")
        // Written: waiting for the next request, with KeepAliveTimeout.
        #expect(http.didWrite() == .read(timeoutMilliseconds: 7_000))
        #expect(http.phase == .waitingForRequest && http.requestsServed == 1)
    }

    @Test func pipelinedRequestsGoOnWithoutAnotherRead() throws {
        let http = connection()
        _ = http.start()
        #expect(feed(http, "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\n") == .process)
        #expect(http.process(io: NoBody()) == .write)
        #expect(http.didWrite() == .process)
        #expect(http.process(io: NoBody()) == .write)
        #expect(head(http).hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(http.didWrite() == .read(timeoutMilliseconds: 7_000))
    }

    @Test func connectionCloseEndsInLingeringClose() throws {
        let http = connection()
        _ = http.start()
        #expect(feed(http, "GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") == .process)
        #expect(http.process(io: NoBody()) == .write)
        #expect(head(http).contains("Connection: close\r\n"))
        #expect(http.didWrite() == .lingeringClose)
        #expect(http.phase == .closing)
    }

    @Test func aStoppingChildsNextResponseIsTheLast() throws {
        let http = connection()
        _ = http.start()
        #expect(feed(http, "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n") == .process)
        http.shuttingDown = true
        #expect(http.process(io: NoBody()) == .write)
        #expect(head(http).contains("Connection: close\r\n"), "\(head(http))")
        #expect(http.didWrite() == .lingeringClose)
    }

    @Test func aMalformedHeadIsAnswered400ThenClosed() throws {
        let http = connection()
        _ = http.start()
        #expect(feed(http, "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == .write)
        #expect(head(http).hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(head(http))")
        #expect(head(http).contains("Connection: close\r\n"))
        #expect(http.didWrite() == .lingeringClose)
    }

    @Test func theClientClosingEndsTheConnection() throws {
        let http = connection()
        _ = http.start()
        #expect(http.didRead(0) == .close)
    }

    @Test func aTimeoutMidHeadIs408AndAnIdleTimeoutCloses() throws {
        let idle = connection()
        _ = idle.start()
        #expect(idle.didTimeout() == .close)

        let slow = connection()
        _ = slow.start()
        #expect(feed(slow, "GET /hello.txt HTTP/1.1\r\n") == .read(timeoutMilliseconds: 30_000))
        #expect(slow.didTimeout() == .write)
        #expect(head(slow).hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(head(slow))")
        #expect(slow.didWrite() == .lingeringClose)
    }

    @Test func aFailedWriteCloses() throws {
        let http = connection()
        _ = http.start()
        _ = feed(http, "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = http.process(io: NoBody())
        #expect(http.didFailWrite() == .close)
    }

    @Test func anIdleConnectionParksItsStorageAndGetsItBack() throws {
        let http = connection()
        _ = http.start()
        _ = feed(http, "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = http.process(io: NoBody())
        _ = http.didWrite()
        let storage = try #require(http.park(), "an idle connection with nothing buffered parks")
        #expect(http.isParked)
        http.unpark(storage)
        #expect(feed(http, "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n") == .process)
    }
}
