import Foundation
import Testing

/// mod_ssl end to end, with certificates the test makes (`TestCertificates`: a CA, an RSA
/// certificate for a.test, an ECDSA one for b.test, a client certificate): TLS under each
/// MPM with SNI choosing the host's certificate, a large file through write completion,
/// resumption across children, Apache's answers (plain HTTP on the TLS port, the
/// variables a script sees, the log codes, a redirect's scheme), mutual TLS, bad input
/// and bad configuration.
@Suite(.tags(.skepBinary), .timeLimit(.minutes(10)))
struct TLSTests {
    /// Two TLS hosts on the test's port (the first answers clients without SNI), a CGI
    /// script that prints its environment, and a log line with mod_ssl's codes.
    static func hosts(_ certificates: TestCertificates, extra: String = "") -> String {
        """
        LogFormat "%h \\"%r\\" %>s %{SSL_PROTOCOL}x %{SSL_TLS_SNI}x %{HTTPS}x" tls
        CustomLog "@LOGS@/tls.log" tls
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName a.test
            SSLEngine on
            SSLCertificateFile "\(certificates.path("a.test.pem"))"
            SSLCertificateKeyFile "\(certificates.path("a.test.key"))"
            SSLProtocol all -TLSv1 -TLSv1.1
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName b.test
            SSLEngine on
            SSLCertificateFile "\(certificates.path("b.test.pem"))"
            SSLCertificateKeyFile "\(certificates.path("b.test.key"))"
            \(extra)
        </VirtualHost>
        <Directory "@DOCROOT@/cgi">
            Options +ExecCGI
            AddHandler cgi-script .cgi
            SSLOptions +StdEnvVars
        </Directory>
        """
    }

    static let envScript = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv | sort\n"
    /// The environment with NUL after each variable, for values of several lines (PEM).
    static let nulEnvScript = "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\n\\n'\nenv -0\n"

    static func setUp(_ config: inout TestConfig, _ certificates: TestCertificates, extra: String = "") throws {
        let cgi = config.mpm == .prefork ? "cgi" : "cgid"
        let modules = EngineFixture.commonModules + ["mime", "ssl", "socache_shmcb", cgi]
        config.modules = modules
        config.skepModules = modules
        config.extra = hosts(certificates, extra: extra)
        try config.root.writeDocument("index.html", "<p>tls index</p>\n")
        try config.root.writeDocument("dir/index.html", "<p>dir</p>\n")
        try config.root.writeDocument("cgi/env.cgi", envScript, mode: 0o755)
        try config.root.writeDocument("cgi/env0.cgi", nulEnvScript, mode: 0o755)
        try config.root.writeDocument("big.bin", bytes: (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) })
    }

    /// A config for `mpm` set up by `setUp`.
    static func config(_ mpm: MPM, _ certificates: TestCertificates, extra: String = "") throws -> TestConfig {
        var config = try TestConfig(mpm: mpm)
        try setUp(&config, certificates, extra: extra)
        return config
    }

    /// curl over TLS to `host` on the server's port, trusting the test CA.
    static func get(_ server: ServerProcess, _ host: String, _ path: String, _ certificates: TestCertificates,
                    _ extra: [String] = []) throws -> CurlResult {
        try Curl.get("https://\(host):\(server.port)\(path)",
                     ["--cacert", certificates.path("ca.pem"), "--resolve", "\(host):\(server.port):127.0.0.1"] + extra)
    }

    @Test(arguments: MPM.allCases)
    func servesOverTLSWithSNI(mpm: MPM) throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let config = try Self.config(mpm, certificates)
        try withServer(.skep, config: config) { skep in
            for host in ["a.test", "b.test"] {
                let page = try Self.get(skep, host, "/", certificates)
                #expect(page.exitCode == 0, "\(host): \(page.stderr)")
                #expect(page.status == 200 && page.bodyText == "<p>tls index</p>\n", "\(host): \(page.status ?? 0)")
                // The certificate is the named host's: RSA for a.test, ECDSA for b.test.
                let handshake = try TestCertificates.handshake(port: skep.port, serverName: host, certificates)
                #expect(handshake.contains("CN = \(host)") || handshake.contains("CN=\(host)"), "\(host): \(handshake.prefix(400))")
                #expect(handshake.contains(host == "a.test" ? "RSA" : "ECDSA") || handshake.contains(host == "a.test" ? "rsaEncryption" : "id-ecPublicKey"),
                        "\(host) key type: \(handshake.prefix(600))")
            }
            // 3 MB, three times on one connection: write completion and keep-alive over TLS.
            let expected = FileManager.default.contents(atPath: config.root.docroot + "/big.bin").map { [UInt8]($0) } ?? []
            let one = try Self.get(skep, "a.test", "/big.bin", certificates)
            #expect(one.body == expected, "big.bin: \(one.body.count) bytes, \(one.stderr)")
            let url = "https://a.test:\(skep.port)/big.bin"
            let three = try Subprocess.run(Curl.path, ["-sS", "--cacert", certificates.path("ca.pem"), "--resolve", "a.test:\(skep.port):127.0.0.1",
                                                       "-w", "%{size_download} %{num_connects}\n"] + Array(repeating: ["-o", "/dev/null", url], count: 3).flatMap { $0 })
            #expect(three.stdout == "\(expected.count) 1\n\(expected.count) 0\n\(expected.count) 0\n", "\(three.stdout) \(three.stderr)")
            #expect(!skep.errorLog().contains("AH00052"), "a child died")
        }
    }

    /// TLS 1.2 session ids and TLS 1.3 tickets made by one child resume in the others: the
    /// master made the contexts (and their ticket keys) before forking.
    @Test func sessionsResumeAcrossChildren() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        var config = try Self.config(.prefork, certificates)
        config.extra += "\nStartServers 4\nMinSpareServers 4\n"
        try withServer(.skep, config: config) { skep in
            for version in ["-tls1_3", "-tls1_2"] {
                // Eight connections land on several of the four children; every one resumes.
                let resumed = try Self.resumptions(skep, version, certificates)
                #expect(resumed == 8, "\(version): \(resumed) of 8 resumed")
            }
        }
    }

    /// How many of eight connections resume the session a first full handshake (checked
    /// to be new) saved, with `version` (`-tls1_2`, `-tls1_3`).
    static func resumptions(_ server: ServerProcess, _ version: String, _ certificates: TestCertificates) throws -> Int {
        let session = certificates.path("session\(version)-\(UInt32.random(in: 0...UInt32.max))")
        let first = try TestCertificates.handshake(port: server.port, serverName: "a.test", certificates, ["-sess_out", session, version])
        #expect(first.contains("\nNew, "), "\(version): \(first.prefix(300))")
        var resumed = 0
        for _ in 0..<8 {
            let again = try TestCertificates.handshake(port: server.port, serverName: "a.test", certificates, ["-sess_in", session, version])
            if again.contains("\nReused, ") { resumed += 1 }
        }
        return resumed
    }

    /// Without tickets, sessions resume across children only through the shared cache
    /// (`shmcb:`, as Debian's ssl.conf sets it); `none` keeps no session at all.
    @Test(arguments: [("shmcb:@LOGS@/ssl_scache(512000)", 8), ("none", 0)])
    func sharedSessionCacheResumesAcrossChildren(cache: String, expected: Int) throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        var config = try Self.config(.prefork, certificates)
        config.extra += "\nStartServers 4\nMinSpareServers 4\nSSLSessionTickets off\nSSLSessionCache \(cache)\n"
        try withServer(.skep, config: config) { skep in
            for version in ["-tls1_2", "-tls1_3"] {
                let resumed = try Self.resumptions(skep, version, certificates)
                #expect(resumed == expected, "\(cache) \(version): \(resumed) of 8 resumed")
            }
        }
    }

    @Test func sharedSessionCacheSizeIsCheckedAsApache() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        var config = try Self.config(.event, certificates)
        config.extra += "\nSSLSessionCache shmcb:@LOGS@/ssl_scache(100)\n"
        let path = try config.write(for: .skep)
        let result = try ServerBinary.configtest(.skep, configPath: path)
        #expect(result.status == 1 && result.stderr.contains("\(path):") && result.stderr.contains("size has to be >= 8192 bytes"), "\(result.stderr)")
        config.root.remove()
    }

    /// What Apache answers: plain HTTP on the TLS port, the variables a CGI script sees,
    /// the log codes, and a DirectorySlash redirect's https URL.
    @Test func answersAsApache() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        try withServerPair(mpm: .event, setUp: { config in try Self.setUp(&config, certificates) }) { skep, apache in
            // Plain HTTP to the TLS port: Apache's 400 with the reason, then close.
            let request = "GET /index.html HTTP/1.1\r\nHost: a.test\r\n\r\n"
            let s = try EngineFixture.exchange(skep, request), a = try EngineFixture.exchange(apache, request)
            #expect(s.status == 400 && a.status == 400)
            func reason(_ body: String) -> String { body.components(separatedBy: "<hr>").first ?? body }
            #expect(reason(s.bodyText) == reason(a.bodyText), "skep:\n\(s.bodyText)\napache:\n\(a.bodyText)")

            // The environment of a script over TLS.
            let keys = ["HTTPS", "SSL_TLS_SNI", "REQUEST_SCHEME", "SERVER_PORT", "SSL_PROTOCOL", "SSL_SESSION_RESUMED", "SSL_CLIENT_VERIFY", "SSL_SECURE_RENEG"]
            func environment(_ server: ServerProcess) throws -> [String: String] {
                let page = try Self.get(server, "b.test", "/cgi/env.cgi", certificates)
                var out: [String: String] = [:]
                for line in page.bodyText.split(separator: "\n") {
                    let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                    if parts.count == 2, keys.contains(parts[0]) { out[parts[0]] = parts[1] }
                }
                return out
            }
            var se = try environment(skep), ae = try environment(apache)
            se["SERVER_PORT"] = se["SERVER_PORT"].map { $0 == String(skep.port) ? "PORT" : $0 }
            ae["SERVER_PORT"] = ae["SERVER_PORT"].map { $0 == String(apache.port) ? "PORT" : $0 }
            #expect(se == ae, "skep \(se)\napache \(ae)")
            #expect(se["HTTPS"] == "on" && se["SSL_TLS_SNI"] == "b.test")

            // A DirectorySlash redirect names https and the port.
            let sr = try Self.get(skep, "a.test", "/dir", certificates), ar = try Self.get(apache, "a.test", "/dir", certificates)
            #expect(sr.status == 301 && ar.status == 301)
            #expect(sr.header("Location")?.replacingOccurrences(of: String(skep.port), with: "PORT")
                    == ar.header("Location")?.replacingOccurrences(of: String(apache.port), with: "PORT"),
                    "\(sr.header("Location") ?? "-") / \(ar.header("Location") ?? "-")")

            // The log codes, line by line (each server's lines in the order requests ended).
            func lines(_ server: ServerProcess) throws -> [String] {
                try Deadline.waitForValue("4 log lines") {
                    let text = server.config.root.read(server.config.root.logs + "/tls.log")
                    let all = text.split(separator: "\n").map(String.init).filter { !$0.contains("HEAD /") }
                    return all.count >= 4 ? all : nil
                }.sorted()
            }
            let sl = try lines(skep), al = try lines(apache)
            #expect(sl == al, "skep:\n\(sl.joined(separator: "\n"))\napache:\n\(al.joined(separator: "\n"))")
        }
    }

    /// `SSLOptions +StdEnvVars +ExportCertData` with a client certificate: every `SSL_*`
    /// variable Apache gives a script, with Apache's values (the session id differs by
    /// nature, so only its presence is compared).
    @Test func certificateVariablesAsApache() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        try withServerPair(mpm: .event, setUp: { config in
            try Self.setUp(&config, certificates, extra: """
                SSLVerifyClient optional
                SSLCACertificateFile "\(certificates.path("ca.pem"))"
                """)
            config.extra = config.extra.replacingOccurrences(of: "SSLOptions +StdEnvVars", with: "SSLOptions +StdEnvVars +ExportCertData")
        }) { skep, apache in
            func environment(_ server: ServerProcess) throws -> [String: String] {
                let page = try Self.get(server, "b.test", "/cgi/env0.cgi", certificates,
                                        ["--cert", certificates.path("client.pem"), "--key", certificates.path("client.key")])
                var out: [String: String] = [:]
                for entry in page.body.split(separator: 0) {
                    let parts = String(decoding: entry, as: UTF8.self).split(separator: "=", maxSplits: 1).map(String.init)
                    if parts.count == 2, parts[0].hasPrefix("SSL_") || parts[0] == "HTTPS" { out[parts[0]] = parts[1] }
                }
                // These differ by nature: the session's id, and the interface's name.
                for name in ["SSL_SESSION_ID", "SSL_VERSION_INTERFACE"] { out[name] = out[name].map { _ in "(differs)" } }
                return out
            }
            let se = try environment(skep), ae = try environment(apache)
            #expect(ae["SSL_CLIENT_CERT"]?.hasPrefix("-----BEGIN CERTIFICATE-----") == true, "apache: \(ae)")
            #expect(Set(se.keys) == Set(ae.keys), "only skep: \(Set(se.keys).subtracting(ae.keys).sorted())\nonly apache: \(Set(ae.keys).subtracting(se.keys).sorted())")
            for (key, value) in ae.sorted(by: { $0.key < $1.key }) where se[key] != value {
                Issue.record("\(key): skep \(se[key] ?? "(none)") apache \(value)")
            }
        }
    }

    /// `SSLSessionTicketKeyFile`: two servers with the same 48 bytes resume each other's
    /// TLS 1.3 tickets (several machines behind one load balancer); without the file each
    /// server's keys are its own and the other makes a full handshake.
    @Test func ticketKeyFileResumesAcrossServers() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let keyFile = certificates.path("ticket.key")
        let keys = (0..<48).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        try Data(keys).write(to: URL(fileURLWithPath: keyFile))
        func resumes(shared: Bool) throws -> Bool {
            let line = shared ? "SSLSessionTicketKeyFile \"\(keyFile)\"" : ""
            let first = try Self.config(.event, certificates, extra: line), second = try Self.config(.event, certificates, extra: line)
            return try withServer(.skep, config: first) { a in
                try withServer(.skep, config: second) { b in
                    let session = certificates.path("session-\(shared)")
                    let made = try TestCertificates.handshake(port: a.port, serverName: "b.test", certificates, ["-sess_out", session, "-tls1_3"])
                    #expect(made.contains("\nNew, "), "\(made.prefix(300))")
                    let other = try TestCertificates.handshake(port: b.port, serverName: "b.test", certificates, ["-sess_in", session, "-tls1_3"])
                    return other.contains("\nReused, ")
                }
            }
        }
        #expect(try resumes(shared: true), "a ticket from one server did not resume on the other with the same key file")
        #expect(try !resumes(shared: false), "without the key file, servers must not share tickets")
    }

    /// A key file that is not 48 bytes is `file:line` at `-t`.
    @Test func ticketKeyFileOfTheWrongSizeIsAConfigError() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: certificates.path("short.key")))
        let config = try Self.config(.event, certificates, extra: "SSLSessionTicketKeyFile \"\(certificates.path("short.key"))\"")
        defer { config.root.remove() }
        let path = try config.write(for: .skep)
        let result = try ServerBinary.configtest(.skep, configPath: path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(path):") && result.stderr.contains("exactly 48 bytes"), "\(result.stderr)")
    }

    /// `SSLVerifyClient require`: no certificate, no answer; the CA's client certificate
    /// gets in, and the script sees its subject.
    @Test func mutualTLS() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let config = try Self.config(.event, certificates, extra: """
            SSLVerifyClient require
                SSLCACertificateFile "\(certificates.path("ca.pem"))"
            """)
        try withServer(.skep, config: config) { skep in
            let refused = try Self.get(skep, "b.test", "/", certificates)
            #expect(refused.status == nil && refused.exitCode != 0, "without a client certificate: \(refused.status ?? 0)")
            let client = ["--cert", certificates.path("client.pem"), "--key", certificates.path("client.key")]
            let page = try Self.get(skep, "b.test", "/cgi/env.cgi", certificates, client)
            #expect(page.status == 200, "\(page.stderr)")
            #expect(page.bodyText.contains("SSL_CLIENT_S_DN=CN=skep client"), "\(page.bodyText)")
            #expect(page.bodyText.contains("SSL_CLIENT_VERIFY=SUCCESS"))
            // a.test asks for no certificate.
            #expect(try Self.get(skep, "a.test", "/", certificates).status == 200)
        }
    }

    /// certbot's renew hook reloads the server: after a graceful restart new connections
    /// get the renewed certificate, read by the master as root before the new children fork.
    @Test func gracefulRestartLoadsRenewedCertificates() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let config = try Self.config(.event, certificates)
        try withServer(.skep, config: config) { skep in
            func serial() throws -> String {
                let text = try TestCertificates.handshake(port: skep.port, serverName: "a.test", certificates)
                return text.firstMatch(of: /Serial Number:\s*\n?\s*([0-9a-f:]+)/)?.1.description ?? "none"
            }
            let before = try serial()
            try certificates.issue("a.test", key: ["-newkey", "rsa:2048"])
            skep.signal(SIGUSR1)
            let after = try Deadline.waitForValue("the renewed certificate after USR1", timeout: .seconds(20)) {
                let now = try serial()
                return now != before && now != "none" ? now : nil
            }
            #expect(after != before)
            #expect(try Self.get(skep, "a.test", "/", certificates).status == 200)
        }
    }

    /// An encrypted key opened with `SSLPassPhraseDialog exec:`: the program gets Apache's
    /// key id as its argument, the master remembers the pass phrase over a graceful
    /// restart, and a wrong one stops the start with the key named.
    @Test func passPhraseDialogAsApache() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        try certificates.run(["pkey", "-in", certificates.path("a.test.key"), "-aes256", "-passout", "pass:open sesame",
                              "-out", certificates.path("a.test.encrypted.key")])
        chmod(certificates.path("a.test.encrypted.key"), 0o644)
        func setUp(_ config: inout TestConfig, phrase: String) throws {
            try Self.setUp(&config, certificates)
            let script = config.root.path + "/ask-for-passphrase"
            try "#!/bin/sh\necho \"$@\" >> \(config.root.logs)/dialog.log\necho '\(phrase)'\n".write(toFile: script, atomically: true, encoding: .utf8)
            chmod(script, 0o755)
            config.extra = "SSLPassPhraseDialog exec:\(script)\n" + config.extra.replacingOccurrences(of: certificates.path("a.test.key"), with: certificates.path("a.test.encrypted.key"))
        }
        try withServerPair(mpm: .event, setUp: { try setUp(&$0, phrase: "open sesame") }) { skep, apache in
            func asked(_ server: ServerProcess) -> [String] {
                Array(Set(server.config.root.read(server.config.root.logs + "/dialog.log").split(separator: "\n").map(String.init))).sorted()
            }
            #expect(asked(skep) == asked(apache) && asked(skep) == ["a.test:443 RSA"], "skep \(asked(skep)), apache \(asked(apache))")
            #expect(try Self.get(skep, "a.test", "/", certificates).status == 200)
            let before = skep.config.root.read(skep.config.root.logs + "/dialog.log")
            let oldChildren = Set(skep.children())
            skep.signal(SIGUSR1)
            try Deadline.wait(for: "a child of the restarted generation", timeout: .seconds(20)) { !Set(skep.children()).subtracting(oldChildren).isEmpty }
            #expect(try Self.get(skep, "a.test", "/", certificates).status == 200)
            #expect(skep.config.root.read(skep.config.root.logs + "/dialog.log") == before, "a restart does not ask again")
        }

        var wrong = try TestConfig(mpm: .event)
        try setUp(&wrong, phrase: "wrong")
        let path = try wrong.write(for: .skep)
        let started = try Subprocess.run(try ServerBinary.path(for: .skep), ["-f", path, "-k", "start"], timeout: .seconds(30))
        #expect(started.status != 0 && started.stderr.contains("Pass phrase incorrect") && started.stderr.contains("a.test"), "status \(started.status): \(started.stderr) \(started.stdout)")
        wrong.root.remove()
    }

    /// Garbage, a truncated hello and a stalled handshake cost their own connection only.
    @Test(arguments: [MPM.event, .prefork])
    func badClientsCloseOnlyTheirConnection(mpm: MPM) throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        var config = try Self.config(mpm, certificates)
        config.extra += "\nTimeout 2\n"
        try withServer(.skep, config: config) { skep in
            let stalled = try RawHTTPClient(port: skep.port, timeout: .seconds(10))
            defer { stalled.close() }
            try stalled.send([0x16, 0x03, 0x01, 0x00, 0x40, 0x01])  // a hello's first bytes, then nothing
            for bytes: [UInt8] in [Array(repeating: 0xFF, count: 300), [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00], Array("\u{16}\u{03}\u{03}garbage".utf8)] {
                let client = try RawHTTPClient(port: skep.port, timeout: .seconds(10))
                try client.send(bytes)
                client.shutdownWrite()
                _ = try? client.readUntilClose(timeout: .seconds(5))
                client.close()
            }
            // A client that asks to renegotiate (TLS 1.2) is refused and its connection ends
            // before its request is answered, as Apache refuses client-initiated renegotiation.
            let renegotiation = try Subprocess.run("/bin/sh", ["-c", "(printf 'R\\n'; sleep 1; printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 1) | "
                + "/usr/bin/openssl s_client -connect 127.0.0.1:\(skep.port) -tls1_2 -servername a.test -CAfile \(certificates.path("ca.pem")) 2>&1"],
                timeout: .seconds(20))
            #expect(renegotiation.stdout.contains("RENEGOTIATING") && !renegotiation.stdout.contains("HTTP/1.1 200"), "\(renegotiation.stdout.suffix(600))")
            let page = try Self.get(skep, "a.test", "/", certificates)
            #expect(page.status == 200, "after bad clients: \(page.stderr)")
            #expect(!skep.errorLog().contains("AH00052"), "a child died")
        }
    }

    /// A certificate that is missing or not a certificate is `file:line` at `-t`; a key
    /// that does not match is refused at start, naming both files.
    @Test func badConfiguration() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        var config = try Self.config(.event, certificates)
        config.extra = config.extra.replacingOccurrences(of: certificates.path("a.test.pem"), with: certificates.path("missing.pem"))
        let path = try config.write(for: .skep)
        let missing = try ServerBinary.configtest(.skep, configPath: path)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("\(path):") && missing.stderr.contains("SSLCertificateFile") && missing.stderr.contains("missing.pem"), "\(missing.stderr)")

        var mismatch = try Self.config(.event, certificates)
        mismatch.extra = mismatch.extra.replacingOccurrences(of: certificates.path("a.test.key"), with: certificates.path("b.test.key"))
        let started = try Subprocess.run(try ServerBinary.path(for: .skep), ["-f", try mismatch.write(for: .skep), "-k", "start"], timeout: .seconds(30))
        #expect(started.status == 1 && started.stderr.contains("does not match") && started.stderr.contains("b.test.key")
                && started.stderr.contains("a.test.pem"), "status \(started.status): \(started.stderr)")
        mismatch.root.remove()
        config.root.remove()
    }
}

/// Certificates made with the `openssl` command for one test: a CA (ECDSA P-256), a.test
/// (RSA 2048), b.test (ECDSA P-256) and a client certificate, each signed by the CA.
struct TestCertificates {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "skep-tls")
        chmod(directory.path, 0o755)
        try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("ca.key"),
                 "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=Skep Test CA"])
        for (name, key) in [("a.test", ["-newkey", "rsa:2048"]), ("b.test", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                            ("client", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])] {
            try issue(name, key: key)
        }
    }

    /// A new key and certificate for `name` (CN `name`, or "skep client"), signed by the
    /// CA, with `extensions` (lines of `openssl x509 -extfile`) beside its name.
    func issue(_ name: String, key: [String], extensions: [String] = []) throws {
        let subject = name == "client" ? "/CN=skep client" : "/CN=\(name)"
        try run(["req"] + key + ["-nodes", "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
        try (["subjectAltName=DNS:\(name)"] + extensions).map { $0 + "\n" }.joined()
            .write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try run(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
                 "-out", path("\(name).pem"), "-days", "2", "-extfile", path("\(name).ext")])
        chmod(path("\(name).key"), 0o644)
    }

    func path(_ name: String) -> String { directory.path + "/" + name }

    func remove() { directory.remove() }

    func run(_ arguments: [String]) throws {
        let result = try Subprocess.run("/usr/bin/openssl", arguments, timeout: .seconds(60))
        guard result.status == 0 else { throw HarnessError("openssl \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    /// `openssl s_client`'s report of a handshake (and one HTTP/1.0 request, so TLS 1.3
    /// tickets arrive before it saves a session), certificate text included.
    static func handshake(port: UInt16, serverName: String, _ certificates: TestCertificates, _ extra: [String] = []) throws -> String {
        let request = certificates.path("request-\(serverName)")
        try "GET / HTTP/1.0\r\nHost: \(serverName)\r\n\r\n".write(toFile: request, atomically: true, encoding: .utf8)
        let script = "/usr/bin/openssl s_client -connect 127.0.0.1:\(port) -servername \(serverName) -CAfile \(certificates.path("ca.pem")) "
            + extra.joined(separator: " ") + " -ign_eof < \(request) | tee /dev/stderr | /usr/bin/openssl x509 -noout -text 2>/dev/null"
        let result = try Subprocess.run("/bin/sh", ["-c", script], timeout: .seconds(20))
        return result.stderr + result.stdout
    }
}
