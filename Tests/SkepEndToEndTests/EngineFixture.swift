import Foundation
import Glibc
import Testing

/// The docroot and helpers shared by the HTTP/1.1 engine tests (wire, static files,
/// keep-alive, differential): skep runs single-process (`-X`), every request goes on
/// its own connection unless a test says otherwise, and every wait has a deadline.
enum EngineFixture {
    /// `/file.txt`: 14 bytes.
    static let fileBody = "Hello, world!\n"
    /// `/alpha.txt`: 26 bytes, for ranges.
    static let alphabet = "abcdefghijklmnopqrstuvwxyz"

    /// The modules both servers load in differential tests: the ones skep has, so that
    /// Apache is not given handlers (autoindex, mime, ...) skep lacks; log_config is
    /// built into Debian's Apache and guarded.
    static var commonModules: [String] {
        ["log_config"] + TestConfig.defaultModules.filter { TestConfig.skepAvailableModules.contains($0) }
    }

    /// Puts the standard documents into `root`'s docroot.
    static func populate(_ root: TestServerRoot) throws {
        try root.writeDocument("file.txt", fileBody)
        try root.writeDocument("alpha.txt", alphabet)
        try root.writeDocument("dir/index.html", "<p>dir index</p>\n")
        try root.writeDocument("noindex/other.txt", "other\n")
        try root.writeDocument("sub/file.txt", "sub file\n")
    }

    /// A config with the standard documents and `extra`.
    static func config(extra: String = "") throws -> TestConfig {
        let config = try TestConfig(extra: extra)
        do {
            try populate(config.root)
        } catch {
            config.root.remove()
            throw error
        }
        return config
    }

    /// Starts skep single-process on the standard docroot plus `extra` (after `setUp`
    /// has adjusted the config), runs `body`, stops skep.
    @discardableResult
    static func withSkep<R>(
        extra: String = "", setUp: (inout TestConfig) throws -> Void = { _ in },
        _ body: (ServerProcess) throws -> R
    ) throws -> R {
        var config = try config(extra: extra)
        do {
            try setUp(&config)
        } catch {
            config.root.remove()
            throw error
        }
        return try withServer(.skep, config: config, mode: .singleProcess, body)
    }

    /// Sends `request` on a new connection and reads one response; the method is taken
    /// from the request text.
    static func exchange(_ server: ServerProcess, _ request: String, timeout: Duration = .seconds(5)) throws -> HTTPResponse {
        let client = try RawHTTPClient(port: server.port, timeout: timeout)
        defer { client.close() }
        return try client.exchange(request)
    }

    /// `GET path HTTP/1.1` with `Host: 127.0.0.1:PORT` and `headers`, on a new connection.
    static func get(
        _ server: ServerProcess, _ path: String, headers: [String] = [], method: String = "GET"
    ) throws -> HTTPResponse {
        let extra = headers.map { $0 + "\r\n" }.joined()
        return try exchange(server, "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n\(extra)\r\n")
    }

    /// Sends raw bytes on a new connection; returns the first response (nil if the
    /// server closed without one) and whether the server closed afterwards.
    static func refusal(
        _ server: ServerProcess, _ bytes: [UInt8], method: String = "GET", closeWait: Duration = .seconds(2)
    ) throws -> (response: HTTPResponse?, closed: Bool) {
        let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
        defer { client.close() }
        try client.send(bytes)
        let response = try client.readResponseOrClose(method: method)
        return (response, client.serverClosed(within: closeWait))
    }

    /// A new connection still gets `/file.txt` with 200: the server kept serving.
    static func expectStillServing(_ server: ServerProcess, after what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let response = try get(server, "/file.txt")
            #expect(response.status == 200, "after \(what): \(response)", sourceLocation: sourceLocation)
            #expect(response.bodyText == fileBody, "after \(what)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("after \(what), a new connection failed: \(error)\n\(server.diagnostics())", sourceLocation: sourceLocation)
        }
    }

    /// `bytes` as text with CR, LF and NUL visible, for messages.
    static func show(_ bytes: [UInt8], limit: Int = 160) -> String {
        let text = String(decoding: bytes.prefix(limit), as: UTF8.self).debugDescription
        return bytes.count > limit ? text + "... (\(bytes.count) bytes)" : text
    }

    /// A request line of exactly `length` bytes (CRLF excluded): `GET /file.txt?aaa... HTTP/1.1`.
    /// The padding goes into the query so that the path maps to a file either way.
    static func requestLine(length: Int) -> String {
        let fixed = "GET /file.txt? HTTP/1.1".utf8.count
        precondition(length >= fixed)
        return "GET /file.txt?" + String(repeating: "a", count: length - fixed) + " HTTP/1.1"
    }

    /// A header line of exactly `length` bytes (CRLF excluded): `X-Pad: aaa...`.
    static func headerLine(length: Int) -> String {
        let fixed = "X-Pad: ".utf8.count
        precondition(length >= fixed)
        return "X-Pad: " + String(repeating: "a", count: length - fixed)
    }

    /// A GET of /file.txt with `Host` plus `extraFields` more fields (so `extraFields + 1`
    /// in all).
    static func requestWithFields(_ total: Int) -> String {
        var text = "GET /file.txt HTTP/1.1\r\nHost: a\r\n"
        for i in 0..<(total - 1) { text += "X-F\(i): v\r\n" }
        return text + "\r\n"
    }
}

/// A named request for parameterized tests (the name is what the test report shows).
struct WireCase: Sendable, CustomTestStringConvertible {
    let name: String
    let request: String
    init(_ name: String, _ request: String) {
        self.name = name
        self.request = request
    }
    var testDescription: String { name }
}
