import Foundation
import Testing

/// Debian's prometheus-apache-exporter scrapes Skep's `/server-status?auto` as it scrapes
/// Apache's: the server is up, and the worker, scoreboard and access metrics follow what
/// the test did.
@Suite(.tags(.skepBinary))
struct ApacheExporterTests {
    static let exporter = "/usr/bin/prometheus-apache-exporter"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: ApacheExporterTests.exporter),
                   "needs prometheus-apache-exporter (apt-get install prometheus-apache-exporter)"))
    func exporterReadsTheStatusPage() throws {
        var config = try TestConfig(mpm: .event, extra: """
            StartServers 2
            ThreadsPerChild 4
            MinSpareThreads 4
            MaxSpareThreads 16
            MaxRequestWorkers 16
            <Location /server-status>
                SetHandler server-status
                Require local
            </Location>
            """)
        config.skepModules = ["authz_core", "status"]
        config.accessLogFormat = nil
        try config.root.writeDocument("index.html", "hi\n")
        try withServer(.skep, config: config) { server in
            let made = 5
            for _ in 0..<made { #expect(try Curl.get("http://127.0.0.1:\(server.port)/index.html").status == 200) }
            let port = try FreePort.next()
            let exporter = try Subprocess.spawn(Self.exporter, [
                "--telemetry.address=127.0.0.1:\(port)",
                "--scrape_uri=http://127.0.0.1:\(server.port)/server-status?auto",
            ])
            defer {
                kill(exporter, SIGTERM)
                _ = Subprocess.waitForExit(exporter, timeout: .seconds(5)) ?? {
                    kill(exporter, SIGKILL)
                    return Subprocess.waitForExit(exporter, timeout: .seconds(5))
                }()
            }
            let metrics = try Deadline.waitForValue("the exporter's metrics", timeout: .seconds(15)) { () -> String? in
                guard let result = try? Curl.get("http://127.0.0.1:\(port)/metrics"), result.status == 200 else { return nil }
                return result.bodyText
            }
            let lines = metrics.split(separator: "\n").map(String.init)
            func value(_ name: String) -> Double? {
                lines.first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            #expect(value("apache_up") == 1, "\(metrics)")
            #expect(lines.contains { $0.hasPrefix("apache_info{mpm=\"event\",version=\"Skep/") }, "\(metrics)")
            // The readiness probe and the requests made, each counted once; the scrape itself may count.
            #expect((value("apache_accesses_total") ?? 0) >= Double(made), "\(metrics)")
            let busy = value("apache_workers{state=\"busy\"}") ?? -1
            let idle = value("apache_workers{state=\"idle\"}") ?? -1
            #expect(busy + idle == 8, "2 children x 4 threads: \(metrics)")
            #expect(value("apache_scoreboard{state=\"idle\"}") == idle, "\(metrics)")
            #expect(value("apache_processes{state=\"all\"}") == 2, "\(metrics)")
        }
    }
}
