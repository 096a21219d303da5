import Foundation
import Glibc
import SkepTestSupport
import Testing

/// `SSLUseStapling` against Apache, with a real OCSP responder (`openssl ocsp`) on the
/// loopback: a good certificate's answer, a revoked one's, and Apache's fake `tryLater`
/// when the responder is down, as `openssl s_client -status` reads them from each server.
@Suite(.tags(.skepBinary), .timeLimit(.minutes(10)))
struct OCSPStaplingTests {
    /// Two hosts whose certificates name the responder (good.test, revoked.test), one whose
    /// responder port has nothing on it (down.test).
    static func hosts(_ certificates: TestCertificates) -> String {
        var out = """
        SSLStaplingCache "shmcb:@LOGS@/stapling(128000)"
        SSLStaplingResponderTimeout 2

        """
        for name in ["good.test", "revoked.test", "down.test"] {
            out += """
            <VirtualHost 127.0.0.1:@PORT@>
                ServerName \(name)
                SSLEngine on
                SSLUseStapling on
                SSLCertificateFile "\(certificates.path("\(name).full.pem"))"
                SSLCertificateKeyFile "\(certificates.path("\(name).key"))"
            </VirtualHost>

            """
        }
        return out
    }

    /// The stapled answer's status lines as `s_client -status` prints them, waiting until
    /// the server staples one (Skep asks the responder after the first handshake wants it;
    /// Apache while it holds that handshake).
    static func stapled(_ server: ServerProcess, _ name: String, _ certificates: TestCertificates) throws -> String {
        var lines = ""
        try Deadline.wait(for: "a stapled OCSP answer from \(server.kind) for \(name)", timeout: .seconds(30), interval: .milliseconds(200)) {
            let report = try TestCertificates.handshake(port: server.port, serverName: name, certificates, ["-status"])
            lines = report.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.hasPrefix("OCSP Response Status") || $0.hasPrefix("Cert Status") || $0.hasPrefix("Revocation Reason") }
                .joined(separator: "\n")
            return !lines.isEmpty
        }
        return lines
    }

    @Test func staplesWhatTheResponderSaysAsApache() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let responder = try OCSPResponder(certificates)
        defer { responder.stop() }
        try withServerPair(mpm: .event, setUp: { config in
            try TLSTests.setUp(&config, certificates)
            config.extra += "\n" + Self.hosts(certificates)
        }) { skep, apache in
            for name in ["good.test", "revoked.test", "down.test"] {
                let s = try Self.stapled(skep, name, certificates), a = try Self.stapled(apache, name, certificates)
                #expect(s == a, "\(name): skep:\n\(s)\napache:\n\(a)")
                let expected = ["good.test": "Cert Status: good", "revoked.test": "Cert Status: revoked", "down.test": "trylater"][name]!
                #expect(s.contains(expected), "\(name): \(s)")
            }
            #expect(skep.errorLog().contains("AH02969"), "a revoked status is logged as Apache logs it")
            #expect(skep.errorLog().contains("AH01941"), "an unreachable responder is logged")
            #expect(!skep.errorLog().contains("AH00052"), "a child died")
        }
    }

    @Test func staplingWithoutACacheIsRefusedAsApache() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        _ = try OCSPResponder(certificates, start: false)  // the certificates only
        var config = try TLSTests.config(.event, certificates)
        config.extra += "\n" + Self.hosts(certificates).replacingOccurrences(of: "SSLStaplingCache", with: "#SSLStaplingCache")
        #expect(throws: (any Error).self) {
            try withServer(.skep, config: config, readyTimeout: .seconds(5)) { _ in }
        }
        config.root.remove()
    }
}

/// `openssl ocsp` answering for the test CA on a free loopback port, from an index that
/// says good.test is valid and revoked.test revoked; down.test names a port with nothing
/// on it. Certificates are issued with that responder in their AIA, chained with the CA.
struct OCSPResponder {
    let pid: pid_t?

    init(_ certificates: TestCertificates, start: Bool = true) throws {
        let port = try FreePort.next(), nobody = try FreePort.next()
        var index = ""
        let end = Self.indexTime(Date().addingTimeInterval(2 * 86400))
        for name in ["good.test", "revoked.test", "down.test"] {
            let url = "http://127.0.0.1:\(name == "down.test" ? nobody : port)/"
            try certificates.issue(name, key: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
                                   extensions: ["authorityInfoAccess=OCSP;URI:\(url)"])
            let pem = try String(contentsOfFile: certificates.path("\(name).pem"), encoding: .utf8)
            let ca = try String(contentsOfFile: certificates.path("ca.pem"), encoding: .utf8)
            try (pem + ca).write(toFile: certificates.path("\(name).full.pem"), atomically: true, encoding: .utf8)
            let serial = try Subprocess.run("/usr/bin/openssl", ["x509", "-in", certificates.path("\(name).pem"), "-noout", "-serial"])
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
            let revoked = name == "revoked.test"
            index += "\(revoked ? "R" : "V")\t\(end)\t\(revoked ? Self.indexTime(Date().addingTimeInterval(-3600)) + ",keyCompromise" : "")\t\(serial)\tunknown\t/CN=\(name)\n"
        }
        try index.write(toFile: certificates.path("index.txt"), atomically: true, encoding: .utf8)
        guard start else {
            pid = nil
            return
        }
        let started = try Subprocess.spawn("/usr/bin/openssl", ["ocsp", "-index", certificates.path("index.txt"), "-port", "\(port)",
                                                                "-rsigner", certificates.path("ca.pem"), "-rkey", certificates.path("ca.key"),
                                                                "-CA", certificates.path("ca.pem"), "-ignore_err"],
                                           stdoutPath: certificates.path("ocsp.log"), stderrPath: certificates.path("ocsp.log"))
        pid = started
        try Deadline.wait(for: "openssl ocsp to listen on \(port)") {
            let check = try Subprocess.run("/usr/bin/openssl", ["ocsp", "-issuer", certificates.path("ca.pem"), "-cert", certificates.path("good.test.pem"),
                                                                "-url", "http://127.0.0.1:\(port)/", "-CAfile", certificates.path("ca.pem")],
                                           timeout: .seconds(10))
            return check.stdout.contains("good")
        }
    }

    func stop() {
        guard let pid else { return }
        kill(pid, SIGTERM)
        _ = Subprocess.waitForExit(pid, timeout: .seconds(5))
    }

    /// The `YYMMDDHHMMSSZ` form `openssl ca`'s index uses.
    static func indexTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyMMddHHmmss'Z'"
        return formatter.string(from: date)
    }
}
