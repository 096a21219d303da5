import Foundation
import Testing

/// A short, bounded load from `wrk` on loopback: every response a 200, no socket errors.
/// Speed is measured by the benchmarks, never asserted here.
@Suite(.tags(.skepBinary))
struct WrkTests {
    static var wrk: String? {
        ["/usr/bin/wrk", "/usr/local/bin/wrk"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test(.enabled(if: WrkTests.wrk != nil, "needs wrk (apt-get install wrk)"),
          arguments: [false, true])
    func keepAliveAndCloseLoadIsServedWithoutErrors(close: Bool) throws {
        var config = try TestConfig()
        config.modules = ["authz_core", "mime", "dir"]
        config.accessLogFormat = nil
        config.extra = "EnableSendfile On\nKeepAliveTimeout 30\nMaxKeepAliveRequests 1000"
        try config.root.writeDocument("index.html", String(repeating: "x", count: 128))
        try withServer(.skep, config: config, mode: .singleProcess) { server in
            var args = ["-t1", "-c4", "-d2s", "--timeout", "5s"]
            if close { args += ["-H", "Connection: close"] }
            args.append("http://127.0.0.1:\(server.port)/index.html")
            let result = try Subprocess.run(Self.wrk!, args, environment: ["LANG": "C"], timeout: .seconds(30))
            #expect(result.succeeded, "wrk: \(result.stderr)")
            let out = result.stdout
            let requests = out.split(separator: "\n").first { $0.contains("requests in") }
                .flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) } ?? 0
            #expect(requests > 0, "\(out)")
            #expect(!out.contains("Non-2xx"), "\(out)")
            #expect(!out.contains("Socket errors"), "\(out)")
        }
    }
}
