import Foundation
import Testing

/// Issue 16's limits (the `sec-b` rows): configuration numbers that must be refused at
/// `-t` rather than trap a process, time values that must fit every wait, and the
/// request-side bounds that stop one request from crashing a child or exhausting it.
@Suite struct SecurityLimitsTests {
    // MARK: - Configuration numbers

    /// Values no numeric directive may take: garbage, `-`, empty, `inf`, `nan`, negative,
    /// a value past Int64 and one past nearly every bound Skep sets.
    static let badValues = ["abc", "-", "\"\"", "inf", "nan", "-1", "99999999999999999999", "9223372036854775807", "1x"]

    /// Every numeric directive, with `{}` where the value goes, and whether it takes the
    /// two values that are not bad for every directive: a negative one (Apache reads the
    /// MPM sizes with `atoi` and adjusts a negative one with a warning, as Skep does) and
    /// Int64's largest (`LimitRequestBody`'s own largest).
    static let numericDirectives: [(template: String, refusesNegative: Bool)] = [
        ("Timeout {}", true), ("KeepAliveTimeout {}", true), ("MaxKeepAliveRequests {}", true),
        ("LimitRequestLine {}", true), ("LimitRequestFieldSize {}", true), ("LimitRequestFields {}", true),
        ("LimitRequestBody {}", true), ("LimitInternalRecursion {}", true), ("LimitInternalRecursion 10 {}", true),
        ("FileCacheSize {}", true), ("ListenBacklog {}", true), ("ErrorDocument {} /x", true),
        ("StartServers {}", false), ("MinSpareThreads {}", false), ("MaxSpareThreads {}", false),
        ("ServerLimit {}", false), ("ThreadLimit {}", false), ("ThreadsPerChild {}", false),
        ("MaxRequestWorkers {}", false), ("MaxConnectionsPerChild {}", false),
        ("GracefulShutdownTimeout {}", true), ("GracefulRestartTimeout {}", true), ("RequestWatchdogTimeout {}", true),
        ("AsyncRequestWorkerFactor {}", true), ("IdleConnectionsPerChild {}", true),
        ("RequestReadTimeout header={}", true), ("RequestReadTimeout header=1-{}", true),
        ("RequestReadTimeout body=1,MinRate={}", true), ("ProxyTimeout {}", true),
        ("ProxyPass /p/ fcgi://127.0.0.1:9000/ timeout={}", true),
        ("ProxyPass /p/ fcgi://127.0.0.1:9000/ connectiontimeout={}", true),
        ("ProxyPass /p/ fcgi://127.0.0.1:9000/ flushwait={}", true),
        ("ProxyPass /p/ fcgi://127.0.0.1:9000/ max={}", true),
        ("ProxyPass /p/ fcgi://127.0.0.1:9000/ acquire={}", true),
    ]

    static let configBase = """
        ServerRoot "@ROOT@"
        Listen 127.0.0.1:18999
        LoadModule mpm_event_module modules/mod_mpm_event.so
        LoadModule reqtimeout_module modules/mod_reqtimeout.so
        LoadModule proxy_module modules/mod_proxy.so
        LoadModule proxy_fcgi_module modules/mod_proxy_fcgi.so
        PidFile run/skep.pid
        ErrorLog logs/error_log

        """

    /// Each numeric directive fed each bad value: `skep -t` exits 1 (no signal) with
    /// `file:line:` and the directive's name, never "Syntax OK".
    @Test(.tags(.skepBinary), arguments: numericDirectives)
    func badNumbersAreConfigErrors(_ directive: (template: String, refusesNegative: Bool)) throws {
        let values = Self.badValues.filter {
            ($0 != "-1" || directive.refusesNegative) && ($0 != "9223372036854775807" || !directive.template.hasPrefix("LimitRequestBody"))
        }
        let name = String(directive.template.prefix { $0 != " " })
        for value in values {
            let line = directive.template.replacingOccurrences(of: "{}", with: value)
            let f = try CommandLineTests.Fixture(Self.configBase + line + "\n")
            let r = try f.skep(["-t"])
            #expect(r.status == 1 && !r.signaled, "\(line): \(r.statusText) \(r.stderr)")
            #expect(r.stderr.contains("\(f.config):9:"), "\(line): \(r.stderr)")
            #expect(r.stderr.contains(name) || r.stderr.contains("Proxy Timeout"), "\(line): \(r.stderr)")
            #expect(!r.stderr.contains("Syntax OK"), "\(line): \(r.stderr)")
        }
    }

    /// The longest times a directive accepts are served with, under prefork (whose
    /// children poll with `Timeout`) and event: no child traps on its first wait.
    @Test(arguments: [MPM.prefork, .event])
    func longestTimesServe(mpm: MPM) throws {
        var config = try TestConfig(mpm: mpm)
        config.extra = """
            Timeout 2147483
            KeepAliveTimeout 2147483
            RequestReadTimeout header=2147483 body=2147483
            """
        _ = try config.root.writeDocument("index.html", "hello\n")
        try withServer(.skep, config: config) { server in
            for _ in 0..<3 {
                let response = try FastCGIFixture.get(server, "/index.html")
                #expect(response.status == 200 && response.bodyText == "hello\n", "\(response)")
            }
            #expect(!server.errorLog().contains("AH00052"), "\(server.errorLog())")
            #expect(server.isRunning)
        }
    }
}
