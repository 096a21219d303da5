import Foundation
import Testing

/// Persistent connections and the timeouts that end them: MaxKeepAliveRequests at its
/// boundary, KeepAliveTimeout, KeepAlive Off, and a client that stalls in the middle of
/// a head (mod_reqtimeout's `header=`, and core `Timeout` without mod_reqtimeout).
@Suite(.tags(.skepBinary), .timeLimit(.minutes(10)))
struct KeepAliveTests {
    typealias F = EngineFixture
    static let get = "GET /file.txt HTTP/1.1\r\nHost: a\r\n\r\n"

    /// As Apache counts: `MaxKeepAliveRequests N` allows N requests after the first
    /// (the first response says `max=N`), so with 3 the 3rd response says `max=1`, the
    /// 4th request gets `Connection: close` and the server closes.
    @Test func maxKeepAliveRequestsBoundary() throws {
        try F.withSkep(extra: "MaxKeepAliveRequests 3") { server in
            // HTTP/1.0 with keep-alive shows the counter.
            let old = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            let keep = "GET /file.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            let answers = try (0..<3).map { _ in try old.exchange(keep) }
            #expect(answers.map { $0.header("Keep-Alive") } == ["timeout=5, max=3", "timeout=5, max=2", "timeout=5, max=1"])
            #expect(answers.allSatisfy { $0.header("Connection") == "Keep-Alive" })
            let fourth = try old.exchange(keep)
            #expect(fourth.status == 200)
            #expect(fourth.header("Connection") == "close", "\(fourth)")
            #expect(fourth.header("Keep-Alive") == nil)
            #expect(old.serverClosed(within: .seconds(2)))

            // HTTP/1.1, one at a time: only the 4th says close.
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            let responses = try (0..<4).map { _ in try client.exchange(Self.get) }
            #expect(responses.map(\.status) == [200, 200, 200, 200])
            #expect(responses.map { $0.header("Connection") } == [nil, nil, nil, "close"])
            #expect(client.serverClosed(within: .seconds(2)))

            // Five pipelined in one write: four answered, the 4th with close, the 5th not.
            let piped = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            try piped.send(String(repeating: Self.get, count: 5))
            let four = try piped.readResponses(4)
            #expect(four.map(\.status) == [200, 200, 200, 200])
            #expect(four[3].header("Connection") == "close")
            #expect(piped.connectionState(within: .seconds(2)) == .closed, "the 5th request is not answered")
        }
    }

    @Test func maxKeepAliveRequestsZeroIsUnlimited() throws {
        try F.withSkep(extra: "MaxKeepAliveRequests 0") { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            for _ in 0..<120 {
                let response = try client.exchange(Self.get)
                #expect(response.status == 200 && response.header("Connection") == nil)
            }
            let old = try client.exchange("GET /file.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(old.header("Keep-Alive") == "timeout=5")
        }
    }

    @Test func keepAliveOffClosesAfterEachResponse() throws {
        try F.withSkep(extra: "KeepAlive Off") { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            let response = try client.exchange(Self.get)
            #expect(response.status == 200)
            #expect(response.header("Connection") == "close")
            #expect(client.serverClosed(within: .seconds(2)))
        }
    }

    @Test func idleKeepAliveConnectionIsClosedAfterKeepAliveTimeout() throws {
        try F.withSkep(extra: "KeepAliveTimeout 1") { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            let response = try client.exchange("GET /file.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(response.header("Keep-Alive") == "timeout=1, max=100")
            let start = ContinuousClock.now
            #expect(client.connectionState(within: .milliseconds(500)) == .open, "not closed before the timeout")
            #expect(client.serverClosed(within: .seconds(4)), "closed by the server after KeepAliveTimeout 1")
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(3), "closed after \(elapsed)")
            F.expectStillServing(server, after: "a keep-alive timeout")
        }
    }

    /// The second request may arrive just before the timeout: it is served.
    @Test func requestJustBeforeKeepAliveTimeoutIsServed() throws {
        try F.withSkep(extra: "KeepAliveTimeout 2") { server in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
            _ = try client.exchange(Self.get)
            #expect(client.connectionState(within: .seconds(1)) == .open)
            let second = try client.exchange(Self.get)
            #expect(second.status == 200)
        }
    }

    /// Half a head, then nothing: the server answers 408 (Apache's mod_reqtimeout does)
    /// or closes, within the deadline, and keeps serving others.
    func expectStalledHeadEnded(_ server: ServerProcess, within limit: Duration, atLeast: Duration) throws {
        let client = try RawHTTPClient(port: server.port, timeout: limit + .seconds(2))
        let start = ContinuousClock.now
        try client.send("GET /file.txt HTTP/1.1\r\nHost: a\r\n")
        let response = try client.readResponseOrClose(timeout: limit + .seconds(1))
        let elapsed = ContinuousClock.now - start
        if let response {
            #expect(response.status == 408, "\(response)")
        }
        #expect(client.serverClosed(within: .seconds(2)))
        #expect(elapsed >= atLeast, "ended after only \(elapsed)")
        #expect(elapsed < limit, "ended after \(elapsed)")
        F.expectStillServing(server, after: "a stalled head")
    }

    @Test func stalledHeadEndsAfterRequestReadTimeout() throws {
        try F.withSkep(extra: "RequestReadTimeout header=1 body=1") { server in
            try expectStalledHeadEnded(server, within: .seconds(4), atLeast: .milliseconds(800))
        }
    }

    @Test func stalledHeadEndsAfterCoreTimeoutWithoutReqtimeout() throws {
        try F.withSkep(extra: "Timeout 1", setUp: { $0.modules.removeAll { $0 == "reqtimeout" } }) { server in
            #expect(!server.config.render(for: .skep).contains("reqtimeout_module"))
            try expectStalledHeadEnded(server, within: .seconds(4), atLeast: .milliseconds(800))
        }
    }

    /// A body that stops arriving: Apache answers 408 and closes after
    /// `RequestReadTimeout body=1` (measured: 1.0 s, for GET and POST, Content-Length or
    /// chunked), and after core `Timeout 1` without mod_reqtimeout.
    func expectStalledBodyEnded(_ server: ServerProcess, _ request: String) throws {
        let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
        let start = ContinuousClock.now
        try client.send(request)
        let response: HTTPResponse? = (try? client.readResponseOrClose(timeout: .seconds(3))) ?? nil
        #expect(response?.status == 408, "\(String(describing: response))")
        #expect(client.serverClosed(within: .seconds(1)))
        #expect(ContinuousClock.now - start < .seconds(4))
        client.close()  // skep -X serves one connection at a time
        F.expectStillServing(server, after: "a stalled body")
    }

    static let stalledBodies: [WireCase] = [
        WireCase("GET, Content-Length", "GET /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc"),
        WireCase("POST, Content-Length", "POST /file.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc"),
        WireCase("GET, chunked", "GET /file.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
    ]

    @Test(arguments: stalledBodies)
    func stalledBodyEndsAfterRequestReadTimeout(_ stalled: WireCase) throws {
        try F.withSkep(extra: "RequestReadTimeout header=5 body=1") { server in
            try expectStalledBodyEnded(server, stalled.request)
        }
    }

    @Test func stalledBodyEndsAfterCoreTimeoutWithoutReqtimeout() throws {
        try F.withSkep(extra: "Timeout 1", setUp: { $0.modules.removeAll { $0 == "reqtimeout" } }) { server in
            try expectStalledBodyEnded(server, Self.stalledBodies[0].request)
        }
    }
}
