import Foundation
import Glibc
import Testing

/// The seeds' workflow on Debian's own configuration tree (issue 17): the tree exactly as
/// the apache2 package installs it (`DebianTree`), driven by Debian's `a2enmod`,
/// `a2dismod`, `a2enconf` and `a2ensite`, served by Skep as `apache2ctl` runs Apache
/// (`-d CONFDIR`, envvars sourced). Apache serves the same tree first, as the oracle.
@Suite(.tags(.apache, .skepBinary), .serialized,
       .enabled(if: Oracle.isAvailable && DebianTree.isAvailable && getuid() == 0, "needs apache2, Debian's a2* tools and root"),
       .timeLimit(.minutes(10)))
struct DebianWorkflowTests {
    static func get(_ tree: DebianTree, _ path: String, headers: [String] = []) throws -> HTTPResponse {
        let client = try RawHTTPClient(port: tree.port, timeout: .seconds(10))
        defer { client.close() }
        let extra = headers.map { $0 + "\r\n" }.joined()
        return try client.exchange("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\(extra)Connection: close\r\n\r\n")
    }

    /// Starts the server with `-k start` on the tree and waits until it answers.
    static func start(_ binary: String, _ tree: DebianTree) throws {
        let started = try tree.server(binary, ["-k", "start"])
        #expect(started.succeeded, "\(binary) -k start: \(started.statusText) \(started.stdout)\(started.stderr)")
        try Deadline.wait(for: "\(binary) answering on port \(tree.port)", timeout: .seconds(15)) {
            (try? get(tree, "/"))?.status != nil
        }
    }

    /// Stops it with `-k stop` and waits until its master is gone and the port is free.
    static func stop(_ binary: String, _ tree: DebianTree) throws {
        let pid = tree.runningPid
        _ = try tree.server(binary, ["-k", "stop"])
        try Deadline.wait(for: "\(binary) to stop", timeout: .seconds(15)) {
            pid.map { kill($0, 0) != 0 } ?? true && (try? RawHTTPClient(port: tree.port, timeout: .seconds(1))) == nil
        }
    }

    /// The children of the running master and their thread counts, once `count` of them run.
    static func layout(_ tree: DebianTree, children count: Int) throws -> [Int] {
        var threads: [Int] = []
        try Deadline.wait(for: "\(count) children of the master", timeout: .seconds(15)) {
            guard let master = tree.runningPid else { return false }
            threads = ProcessTree.children(of: master).compactMap { ProcessTree.threadCount(of: $0.pid) }
            return threads.count == count
        }
        return threads
    }

    @Test func theStockTreeAndTheSeedsCommandsRunOnSkep() throws {
        let skep = try ServerBinary.path(for: .skep)
        let tree = try DebianTree()
        defer { _ = try? tree.server(skep, ["-k", "stop"]); _ = try? tree.server(Oracle.path, ["-k", "stop"]) }

        // Apache on the stock tree: Debian's default page.
        try Self.start(Oracle.path, tree)
        let apachePage = try Self.get(tree, "/")
        try Self.stop(Oracle.path, tree)
        #expect(apachePage.status == 200)

        // Skep reads the same tree: Syntax OK, and the same page.
        let test = try tree.server(skep, ["-t"])
        #expect(test.succeeded && test.stderr.contains("Syntax OK"), "skep -t on the stock tree: \(test.stdout)\(test.stderr)")
        try Self.start(skep, tree)
        let page = try Self.get(tree, "/")
        #expect(page.status == apachePage.status)
        #expect(page.header("Content-Type") == apachePage.header("Content-Type"))
        #expect(page.body == apachePage.body, "the default page differs from Apache's")
        #expect(String(decoding: page.body, as: UTF8.self).contains("Apache2 Debian Default Page"))

        // mpm_event.conf: StartServers 2, ThreadsPerChild 25.
        let event = try Self.layout(tree, children: 2)
        #expect(event.allSatisfy { $0 >= 25 }, "event children's threads: \(event)")

        // a2dismod mpm_event; a2enmod mpm_prefork; a stop and a start: prefork's layout
        // (mpm_prefork.conf: StartServers 5, one thread each).
        try tree.a2("a2dismod", ["-q", "mpm_event"])
        try tree.a2("a2enmod", ["-q", "mpm_prefork"])
        try Self.stop(skep, tree)
        try Self.start(skep, tree)
        let prefork = try Self.layout(tree, children: 5)
        #expect(prefork.allSatisfy { $0 == 1 }, "prefork children's threads: \(prefork)")

        // The MPM changed again, then a graceful restart (what `systemctl reload` sends):
        // Apache would log AH00534 and exit; Skep's new generation runs the new MPM.
        try tree.a2("a2dismod", ["-q", "mpm_prefork"])
        try tree.a2("a2enmod", ["-q", "mpm_event"])
        let restarted = try tree.server(skep, ["-k", "graceful"])
        #expect(restarted.succeeded, "skep -k graceful: \(restarted.stdout)\(restarted.stderr)")
        let switched = try Self.layout(tree, children: 2)
        #expect(switched.allSatisfy { $0 >= 25 }, "after the restart: \(switched)")
        #expect(try Self.get(tree, "/").status == 200)
        #expect(((try? String(contentsOfFile: tree.errorLog, encoding: .utf8)) ?? "").contains("the MPM changes from prefork"))

        // The other modules the common guides enable: Skep reads the tree as Apache does.
        try tree.a2("a2enmod", ["-q", "headers", "expires", "cgi", "userdir", "authz_groupfile"])
        for binary in [skep, Oracle.path] {
            let test = try tree.server(binary, ["-t"])
            #expect(test.succeeded && test.stderr.contains("Syntax OK"), "\(binary) -t with headers, expires, cgi, userdir: \(test.stdout)\(test.stderr)")
        }

        // a2enmod proxy_fcgi setenvif; a2enconf php8.2-fpm, with a PHP-FPM pool on the
        // socket that file names.
        try phpThroughTheSeedsCommands(tree, skep: skep)
        try Self.stop(skep, tree)
    }

    /// certbot's `options-ssl-apache.conf` as certbot writes it (certbot-apache's
    /// `current-options-ssl-apache.conf`).
    static let certbotOptions = """
        # This file contains important security parameters. If you modify this file
        # manually, Certbot will be unable to automatically provide future security
        # updates.

        SSLEngine on

        # Intermediate configuration, tweak to your needs
        SSLProtocol             all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1
        SSLCipherSuite          ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384
        SSLHonorCipherOrder     off
        SSLSessionTickets       off

        SSLOptions +StrictRequire

        # Add vhost name to log entries:
        LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-agent}i\\"" vhost_combined
        LogFormat "%v %h %l %u %t \\"%r\\" %>s %b" vhost_common

        """

    /// `a2enmod ssl; a2ensite default-ssl` with the ssl-cert package's snakeoil
    /// certificate: Apache and Skep serve Debian's default page over HTTPS from the tree
    /// unchanged, and certbot's options file, included in that host, loads.
    @Test func theDefaultSSLSiteServesHTTPS() throws {
        let skep = try ServerBinary.path(for: .skep)
        let tree = try DebianTree()
        defer { _ = try? tree.server(skep, ["-k", "stop"]); _ = try? tree.server(Oracle.path, ["-k", "stop"]) }
        // What the ssl-cert package's postinst does when it was installed without one.
        if access("/etc/ssl/certs/ssl-cert-snakeoil.pem", R_OK) != 0 {
            let made = try Subprocess.run("/usr/sbin/make-ssl-cert", ["generate-default-snakeoil"], timeout: .seconds(60))
            #expect(made.status == 0, "make-ssl-cert: \(made.stderr)")
        }
        try tree.a2("a2enmod", ["-q", "ssl"])
        try tree.a2("a2ensite", ["-q", "default-ssl"])
        func page() throws -> CurlResult {
            try Curl.get("https://127.0.0.1:\(tree.sslPort)/", ["--insecure"])
        }
        try Self.start(Oracle.path, tree)
        let apache = try page()
        try Self.stop(Oracle.path, tree)
        #expect(apache.status == 200, "Apache over HTTPS: \(apache.stderr)")

        let test = try tree.server(skep, ["-t"])
        #expect(test.succeeded && test.stderr.contains("Syntax OK"), "skep -t with default-ssl: \(test.stdout)\(test.stderr)")
        try Self.start(skep, tree)
        let served = try page()
        #expect(served.status == 200, "Skep over HTTPS: \(served.stderr)")
        #expect(served.body == apache.body && served.bodyText.contains("Apache2 Debian Default Page"))
        #expect(served.header("Content-Type") == apache.header("Content-Type"))
        try Self.stop(skep, tree)

        // certbot's options file in the TLS host, as certbot's installer includes it.
        let options = tree.confdir + "/options-ssl-apache.conf"
        try Self.certbotOptions.write(toFile: options, atomically: true, encoding: .utf8)
        let site = tree.confdir + "/sites-available/default-ssl.conf"
        let text = try String(contentsOfFile: site, encoding: .utf8)
        try text.replacingOccurrences(of: "SSLEngine on", with: "Include \(options)").write(toFile: site, atomically: true, encoding: .utf8)
        for binary in [skep, Oracle.path] {
            let test = try tree.server(binary, ["-t"])
            #expect(test.succeeded && test.stderr.contains("Syntax OK"), "\(binary) -t with certbot's options: \(test.stdout)\(test.stderr)")
        }
        try Self.start(skep, tree)
        let certbot = try Curl.get("https://127.0.0.1:\(tree.sslPort)/", ["--insecure", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"])
        #expect(certbot.status == 200, "Skep with certbot's options: \(certbot.stderr)")
        let old = try Curl.get("https://127.0.0.1:\(tree.sslPort)/", ["--insecure", "--tlsv1.1", "--tls-max", "1.1"])
        #expect(old.status == nil, "TLS 1.1 is refused by certbot's SSLProtocol")
    }

    func phpThroughTheSeedsCommands(_ tree: DebianTree, skep: String) throws {
        guard let fpm = PHPFPM.binary, let version = fpm.split(separator: "/").last?.dropFirst("php-fpm".count), !version.isEmpty else {
            Issue.record("php-fpm is not installed")
            return
        }
        let conf = "php\(version)-fpm"
        try tree.extract(package: conf)
        try tree.a2("a2enmod", ["-q", "proxy_fcgi", "setenvif"])
        try tree.a2("a2enconf", ["-q", conf])
        let text = try String(contentsOfFile: tree.confdir + "/conf-available/\(conf).conf", encoding: .utf8)
        guard let socket = text.firstMatch(of: /proxy:unix:([^|"]+)\|/)?.1 else {
            Issue.record("\(conf).conf names no unix socket: \(text)")
            return
        }
        try FileManager.default.createDirectory(atPath: (String(socket) as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        let script = "/var/www/html/skep-workflow-\(getpid()).php"
        try #"<?php echo "php ", PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION, " ", $_SERVER["HTTP_AUTHORIZATION"] ?? "-";"#
            .write(toFile: script, atomically: true, encoding: .utf8)
        defer { unlink(script) }
        try PHPFPM.with(socketPath: String(socket)) { _ in
            let restarted = try tree.server(skep, ["-k", "graceful"])
            #expect(restarted.succeeded, "skep -k graceful: \(restarted.stdout)\(restarted.stderr)")
            let name = script.split(separator: "/").last.map(String.init) ?? ""
            var answer: HTTPResponse?
            try Deadline.wait(for: "PHP through the new generation", timeout: .seconds(10)) {
                answer = try? Self.get(tree, "/" + name, headers: ["Authorization: Basic dXNlcjpwdw=="])
                return answer?.status == 200
            }
            // php8.2-fpm.conf's `SetEnvIfNoCase ^Authorization$ "(.+)" HTTP_AUTHORIZATION=$1`.
            #expect(answer.map { String(decoding: $0.body, as: UTF8.self) } == "php \(version) Basic dXNlcjpwdw==")
        }
    }
}
