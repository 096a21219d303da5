import Foundation
import Glibc
import Testing

/// `skep -t`, `--explain`, `-M`, `-S`, `-V` and `-k` run as a user runs them: the real
/// binary on configuration files written for the test.
@Suite(.tags(.skepBinary))
struct CommandLineTests {
    /// A temp ServerRoot with `httpd.conf` holding `text` (and any extra files).
    final class Fixture {
        let root: TestServerRoot
        let config: String
        init(_ text: String, files: [String: String] = [:]) throws {
            root = try TestServerRoot(prefix: "skep-cli")
            for (name, content) in files { _ = try root.writeFile(name, content) }
            config = try root.writeFile("conf/httpd.conf", text.replacingOccurrences(of: "@ROOT@", with: root.path))
        }
        deinit { root.remove() }
        func skep(_ arguments: [String]) throws -> Subprocess.Result {
            try ServerBinary.run(.skep, arguments + ["-f", config])
        }
    }

    static let base = """
        ServerRoot "@ROOT@"
        Listen 127.0.0.1:18999
        LoadModule mpm_event_module modules/mod_mpm_event.so
        PidFile run/skep.pid
        ErrorLog logs/error_log

        """

    @Test func syntaxOK() throws {
        let f = try Fixture(Self.base + "ServerName example.test\nTimeout 30\nKeepAlive On\n")
        let r = try f.skep(["-t"])
        #expect(r.succeeded, "\(r.statusText): \(r.stderr)")
        #expect(r.stderr.contains("Syntax OK"))
    }

    /// Each class of error: exit 1 and `file:line: message` naming the directive.
    @Test(arguments: [
        ("Frobnicate on", "directive Frobnicate", 6),
        ("Timeout", "Timeout takes one argument", 6),
        ("StartServers abc", "'abc' is not a whole number", 6),
        ("KeepAlive maybe", "KeepAlive must be On or Off", 6),
        ("<Directory /tmp>\nListen 80\n</Directory>", "Listen cannot occur within <Directory/DirectoryMatch> section", 7),
        ("AllowOverride None", "AllowOverride not allowed here", 6),
        ("<Location /x>\nSetHandler none", "<Location> was not closed", 6),
        ("<Location /x>\n</Directory>", "Expected </Location> but saw </Directory>", 7),
        ("Include conf/missing.conf", "could not open configuration file", 6),
        ("LoadModule http2_module modules/mod_http2.so", "module http2_module", 6),
        ("LoadModule mpm_prefork_module modules/mod_mpm_prefork.so", "More than one MPM loaded", 6),
    ])
    func errorClass(_ line: String, _ message: String, _ lineNumber: Int) throws {
        let f = try Fixture(Self.base + line + "\n")
        let r = try f.skep(["-t"])
        #expect(r.status == 1 && !r.signaled, "\(r.statusText)")
        #expect(r.stderr.contains(message), "stderr: \(r.stderr)")
        #expect(r.stderr.contains("\(f.config):\(lineNumber):"), "stderr: \(r.stderr)")
        #expect(!r.stderr.contains("Syntax OK"))
    }

    @Test func includeLoopIsAnErrorNotAHang() throws {
        let f = try Fixture(Self.base + "Include conf/a.conf\n",
                            files: ["conf/a.conf": "Include conf/b.conf\n", "conf/b.conf": "Include conf/a.conf\n"])
        let r = try f.skep(["-t"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("Include loop"), "\(r.stderr)")
        #expect(r.stderr.contains("b.conf:1:"), "\(r.stderr)")
    }

    @Test func noMPMIsAnError() throws {
        let f = try Fixture("ServerRoot \"@ROOT@\"\nListen 127.0.0.1:18999\n")
        let r = try f.skep(["-t"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("No MPM loaded"), "\(r.stderr)")
    }

    /// Every unknown module and directive in one message, not only the first.
    @Test func wholeGapInOneMessage() throws {
        let f = try Fixture(Self.base + """
            LoadModule http2_module modules/mod_http2.so
            <IfModule http2_module>
              H2Direct On
            </IfModule>
            Frobnicate 1
            Frobnicate 2
            """)
        let r = try f.skep(["-t"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("Skep does not implement 1 module and 2 directives"), "\(r.stderr)")
        #expect(r.stderr.contains("httpd.conf:6: module http2_module"), "\(r.stderr)")
        #expect(r.stderr.contains("httpd.conf:8: directive H2Direct"), "\(r.stderr)")
        #expect(r.stderr.contains("httpd.conf:10: directive Frobnicate (and 1 more use)"), "\(r.stderr)")
    }

    @Test func undefinedVariableWarnsAndKeepsText() throws {
        let f = try Fixture(Self.base + "ServerName ${SKEP_TEST_UNDEFINED_NAME}\n")
        let r = try f.skep(["-t"])
        #expect(r.succeeded, "\(r.stderr)")
        #expect(r.stderr.contains("AH00111: Config variable ${SKEP_TEST_UNDEFINED_NAME} is not defined"), "\(r.stderr)")
        let s = try f.skep(["-S"])
        #expect(s.stdout.contains("ServerRoot:"), "\(s.stdout)")
    }

    @Test func defineFromCommandLine() throws {
        let f = try Fixture(Self.base + "<IfDefine !SKEPTEST>\nFrobnicate\n</IfDefine>\n")
        #expect(try f.skep(["-t"]).status == 1)
        let r = try f.skep(["-t", "-D", "SKEPTEST"])
        #expect(r.succeeded, "\(r.stderr)")
        #expect(try f.skep(["-t", "-DSKEPTEST"]).succeeded)
    }

    /// Ubuntu's stock event settings, as the issue states them.
    @Test func explainUbuntuEvent() throws {
        let f = try Fixture(Self.base + """
            <IfModule mpm_event_module>
                StartServers             2
                MinSpareThreads          25
                MaxSpareThreads          75
                ThreadLimit              64
                ThreadsPerChild          25
                MaxRequestWorkers        150
                MaxConnectionsPerChild   0
            </IfModule>
            """)
        let r = try f.skep(["--explain"])
        #expect(r.succeeded, "\(r.stderr)")
        let text = r.stdout
        #expect(text.contains("25 worker threads"))
        #expect(text.contains("at most 6"))
        #expect(text.contains("2 at start"))
        #expect(text.contains("between 1 child's worth and 3 children's worth"))
        #expect(text.contains("up to 75 per child"))
        #expect(text.contains("= 450"))
    }

    @Test func explainSaysEachAdjustment() throws {
        let f = try Fixture(Self.base + "ThreadsPerChild 30\nMaxRequestWorkers 100\n")
        let r = try f.skep(["--explain"])
        #expect(r.stdout.contains("MaxRequestWorkers of 100 is not an integer multiple of ThreadsPerChild of 30, decreasing to nearest multiple 90, for a maximum of 3 servers."), "\(r.stdout)")
        let t = try f.skep(["-t"])
        #expect(t.succeeded && t.stderr.contains("decreasing to nearest multiple 90"))
    }

    @Test func modulesList() throws {
        let f = try Fixture(Self.base)
        let r = try f.skep(["-M"])
        #expect(r.stdout.hasPrefix("Loaded Modules:"))
        #expect(r.stdout.contains(" core_module (static)"))
        #expect(r.stdout.contains(" mpm_event_module (shared)"))
    }

    @Test func controlWhenNotRunning() throws {
        let f = try Fixture(Self.base)
        let r = try f.skep(["-k", "stop"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("not running"), "\(r.stderr)")
    }

    /// `-k start` on a port something else holds answers at once with the bind error and
    /// exit 1, as `apache2 -k start` does (not "see the error log" after 15 s).
    @Test func startOnAPortInUseSaysWhy() throws {
        let holder = try FreePort.listen(backlog: 1)
        defer { close(holder.fd) }
        let f = try Fixture(Self.base.replacingOccurrences(of: "18999", with: String(holder.port)))
        let r = try f.skep(["-k", "start"])
        #expect(r.status == 1, "\(r.statusText): \(r.stderr)")
        #expect(r.stderr.contains("Address already in use: AH00072: make_sock: could not bind to address 127.0.0.1:\(holder.port)"), "\(r.stderr)")
    }

    @Test func versionHasApacheShape() throws {
        let r = try ServerBinary.run(.skep, ["-v"])
        #expect(r.stdout.contains("Server version: Skep/"))
        #expect(r.stdout.contains(" (Unix)"))
    }
}
