import Foundation
import Testing

/// The access log as log analysers read it: GoAccess parses a combined-format log written
/// by skep, and counts exactly the requests the test sent.
@Suite(.tags(.skepBinary))
struct AccessLogTests {
    static var goaccess: String? {
        ["/usr/bin/goaccess", "/usr/local/bin/goaccess"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test(.enabled(if: AccessLogTests.goaccess != nil, "needs goaccess (apt-get install goaccess)"))
    func combinedLogParsesWithGoAccess() throws {
        var config = try TestConfig()
        config.modules = ["log_config", "authz_core", "mime", "dir"]
        config.accessLogFormat = #"%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""#
        try config.root.writeDocument("index.html", "<p>hello</p>\n")
        try config.root.writeDocument("a.txt", "a\n")
        let sent = 12
        try withServer(.skep, config: config, mode: .singleProcess) { server in
            for i in 0..<sent {
                let path = i % 3 == 0 ? "/missing-\(i)" : (i % 2 == 0 ? "/a.txt" : "/")
                let result = try Curl.get("http://127.0.0.1:\(server.port)\(path)", ["-A", "skep-test/\(i)", "-e", "http://ref.example/\(i)"])
                #expect(result.exitCode == 0)
            }
            try Deadline.wait(for: "\(sent) lines in the access log") {
                server.accessLogLines().count >= sent
            }
            let lines = server.accessLogLines()
            #expect(lines.count == sent, "\(lines)")
            let report = try Subprocess.run(Self.goaccess!, [config.accessLog, "--log-format=COMBINED", "--no-global-config", "-o", "json"],
                                            environment: ["LANG": "C"], timeout: .seconds(30))
            #expect(report.succeeded, "goaccess: \(report.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
            let general = try #require(json["general"] as? [String: Any])
            // GoAccess counts every line, the harness's readiness probe too.
            let all = server.accessLogLines(includingProbes: true).count
            #expect(all > sent)
            #expect(general["total_requests"] as? Int == all, "\(general)")
            #expect(general["failed_requests"] as? Int == 0, "\(general)")
        }
    }
}
