import Foundation
import Glibc
import Testing

/// What the CGI modules do that Apache cannot be asked about the same way: a script
/// whose client leaves is stopped and reaped, a script inherits no descriptor of the
/// server's, the directives skep refuses or accepts, and Debian's own CGI and userdir
/// configuration files.
@Suite(.tags(.skepBinary), .timeLimit(.minutes(10)))
struct CGIScriptTests {
    typealias F = EngineFixture

    /// skep with mod_cgi (prefork) or mod_cgid, and `/cgi-bin/` on the ServerRoot's
    /// cgi-bin directory unless `scriptAlias` is false.
    static func config(mpm: MPM, scriptAlias: Bool = true, extra: String = "") throws -> TestConfig {
        var config = try TestConfig(mpm: mpm)
        let module = mpm == .prefork ? "cgi" : "cgid"
        config.modules = F.commonModules + ["alias", "userdir", module]
        config.skepModules = config.modules
        config.extra = !scriptAlias ? extra : """
            ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
            <Directory "@ROOT@/cgi-bin">
                Require all granted
            </Directory>
            """ + "\n" + extra
        try F.populate(config.root)
        return config
    }

    /// The script writes its pid, then a line every 50 ms for as long as it runs.
    static let ticker = """
        #!/bin/sh
        echo $$ > "$(dirname "$SCRIPT_FILENAME")/ticker.pid"
        printf 'Content-Type: text/plain\\n\\n'
        while :; do echo tick; sleep 0.05; done
        """

    @Test(arguments: [MPM.prefork, .worker, .event])
    func aScriptWhoseClientLeftIsStoppedAndReaped(mpm: MPM) throws {
        let config = try Self.config(mpm: mpm)
        let pidFile = try config.root.writeFile("cgi-bin/ticker.cgi", Self.ticker, mode: 0o755)
            .replacingOccurrences(of: "ticker.cgi", with: "ticker.pid")
        try withServer(.skep, config: config, mode: .foreground) { skep in
            let client = try RawHTTPClient(port: skep.port, timeout: .seconds(5))
            try client.send("GET /cgi-bin/ticker.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            var received: [UInt8] = []
            try Deadline.wait(for: "the script's first lines") {
                received += try client.receiveAvailable(timeout: .milliseconds(100))
                return String(decoding: received, as: UTF8.self).contains("tick")
            }
            let pid = try Deadline.waitForValue("the script's pid file") {
                pid_t(config.root.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(kill(pid, 0) == 0, "the script runs while its client reads")
            client.close()
            // Gone and reaped: a zombie would still answer kill(pid, 0).
            try Deadline.wait(for: "script \(pid) to be stopped and reaped") { kill(pid, 0) == -1 && errno == ESRCH }
            F.expectStillServing(skep, after: "a client left mid-script")
        }
    }

    /// A script that goes silent after its head is cut off at `CGIDScriptTimeout`: the
    /// body ends without its last chunk (the client can tell), and the script is reaped.
    @Test func aScriptSilentMidBodyIsCutOffAtTheTimeout() throws {
        let config = try Self.config(mpm: .event, extra: """
            <Directory "@ROOT@/cgi-bin">
                CGIDScriptTimeout 1
            </Directory>
            """)
        let script = """
            #!/bin/sh
            echo $$ > "$(dirname "$SCRIPT_FILENAME")/silent.pid"
            printf 'Content-Type: text/plain\\n\\npartial\\n'
            exec sleep 30
            """
        let pidFile = try config.root.writeFile("cgi-bin/silent.cgi", script, mode: 0o755)
            .replacingOccurrences(of: "silent.cgi", with: "silent.pid")
        try withServer(.skep, config: config, mode: .foreground) { skep in
            let client = try RawHTTPClient(port: skep.port, timeout: .seconds(10))
            defer { client.close() }
            try client.send("GET /cgi-bin/silent.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            let text = String(decoding: try client.readUntilClose(timeout: .seconds(10)), as: UTF8.self)
            #expect(text.contains("Transfer-Encoding: chunked") && text.contains("partial\n"), "\(text)")
            #expect(!text.hasSuffix("0\r\n\r\n"), "the cut body must not end as a complete one: \(text.debugDescription)")
            let pid = try Deadline.waitForValue("the script's pid file") {
                pid_t(config.root.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines))
            }
            try Deadline.wait(for: "script \(pid) to be stopped and reaped") { kill(pid, 0) == -1 && errno == ESRCH }
        }
    }

    /// A body that comes in two parts is chunked for HTTP/1.1 and sent until close for
    /// HTTP/1.0, as Apache sends the same script's (HarnessTests.http09AndChunkedResponses).
    @Test func aSlowBodyIsChunkedOrSentUntilClose() throws {
        let config = try Self.config(mpm: .event)
        try config.root.writeFile("cgi-bin/lines.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\necho one\nsleep 0.2\necho two\n", mode: 0o755)
        try withServer(.skep, config: config, mode: .foreground) { skep in
            let client = try RawHTTPClient(port: skep.port)
            defer { client.close() }
            let chunked = try client.exchange("GET /cgi-bin/lines.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(chunked.status == 200)
            #expect(chunked.framing == .chunked)
            #expect(chunked.bodyText == "one\ntwo\n")
            let again = try client.exchange("GET /cgi-bin/lines.cgi HTTP/1.0\r\n\r\n")
            #expect(again.framing == .untilClose)
            #expect(again.bodyText == "one\ntwo\n")
            #expect(client.connectionState() == .closed)
        }
    }

    @Test(arguments: [MPM.prefork, .event])
    func aScriptInheritsOnlyItsThreeDescriptors(mpm: MPM) throws {
        let config = try Self.config(mpm: mpm)
        // `ls` lists its own descriptors: 0-2 from the script, and 3, the directory it reads.
        try config.root.writeFile("cgi-bin/fds.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nexec ls /proc/self/fd\n", mode: 0o755)
        try withServer(.skep, config: config, mode: .foreground) { skep in
            let response = try F.get(skep, "/cgi-bin/fds.cgi")
            #expect(response.status == 200)
            #expect(response.bodyText == "0\n1\n2\n3\n", "\(response.bodyText)")
        }
    }

    @Test func nphScriptsAreRefusedWithAReason() throws {
        let config = try Self.config(mpm: .prefork)
        try config.root.writeFile("cgi-bin/nph-raw.cgi", "#!/bin/sh\nprintf 'HTTP/1.1 200 OK\\r\\n\\r\\nraw'\n", mode: 0o755)
        try withServer(.skep, config: config, mode: .singleProcess) { skep in
            let response = try F.get(skep, "/cgi-bin/nph-raw.cgi")
            #expect(response.status == 500)
            try Deadline.wait(for: "the nph refusal in the error log") {
                skep.errorLog().contains("nph- scripts are not supported by Skep")
            }
        }
    }

    @Test(arguments: ["ScriptLog logs/cgi.log", "ScriptLogLength 1000", "ScriptLogBuffer 100"])
    func scriptLogDirectivesAreRefused(directive: String) throws {
        let config = try Self.config(mpm: .prefork, extra: directive)
        defer { config.root.remove() }
        let result = try ServerBinary.configtest(.skep, configPath: config.write(for: .skep))
        #expect(result.status == 1 && !result.signaled, "\(result.statusText): \(result.stderr)")
        #expect(result.stderr.contains("is not supported by Skep"), "\(result.stderr)")
    }

    /// Debian's stock files for CGI and user directories, as `a2enmod cgid userdir` and
    /// `a2enconf serve-cgi-bin` enable them, start skep, and `/cgi-bin/` is mapped to
    /// /usr/lib/cgi-bin/.
    @Test func debianServeCGIBinAndCGIDConfigurationStart() throws {
        let stock = "/etc/apache2/conf-available/serve-cgi-bin.conf"
        try #require(FileManager.default.fileExists(atPath: stock), "needs Debian's apache2 package files")
        let config = try Self.config(mpm: .event, scriptAlias: false, extra: """
            Define APACHE_RUN_DIR "@ROOT@/run"
            Include /etc/apache2/mods-available/cgid.conf
            Include \(stock)
            Include /etc/apache2/mods-available/userdir.conf
            """)
        try withServer(.skep, config: config, mode: .foreground) { skep in
            // No script at this path on a test machine: the mapping answers 404 from mod_cgid.
            let response = try F.get(skep, "/cgi-bin/skep-test-no-such-script")
            #expect(response.status == 404)
            try Deadline.wait(for: "mod_cgid's not-found message for /usr/lib/cgi-bin") {
                skep.errorLog().contains("AH01264: stderr from /usr/lib/cgi-bin/skep-test-no-such-script: script not found or unable to stat")
            }
            // `UserDir disabled root`: the URL stays under DocumentRoot.
            #expect(try F.get(skep, "/~root/").status == 404)
        }
    }
}
