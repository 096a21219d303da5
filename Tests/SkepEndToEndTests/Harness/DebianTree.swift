import Foundation
import Glibc

/// Debian's Apache configuration tree exactly as the `apache2` package installs it, in a
/// temporary directory: the files are taken from the package itself (`apt-get download`,
/// `dpkg-deb -x`), not from this machine's /etc/apache2, which other packages change; then
/// what the package's postinst does on a fresh install is done with Debian's own
/// `a2enmod`/`a2enconf`/`a2ensite` (they honour `APACHE_CONFDIR` and
/// `APACHE_STATE_DIRECTORY`). Changed from the package: `Listen` in ports.conf and the
/// `*:80` of the default site (a free loopback port), and the run, lock and log paths of
/// envvars (into the temporary directory).
final class DebianTree {
    let directory: TemporaryDirectory
    let port: UInt16
    /// The port of `ports.conf`'s `Listen 443` and `default-ssl`'s host.
    let sslPort: UInt16
    var confdir: String { directory.path + "/etc/apache2" }
    var logDirectory: String { directory.path + "/log" }
    var pidFile: String { directory.path + "/run/apache2.pid" }
    var errorLog: String { logDirectory + "/error.log" }

    /// The modules and configs `apache2.postinst` enables on a fresh install, and its site.
    static let postinstModules = ["mpm_event", "authz_host", "auth_basic", "access_compat", "authn_file", "authz_user",
                                  "alias", "dir", "autoindex", "env", "mime", "negotiation", "setenvif",
                                  "filter", "deflate", "status", "reqtimeout"]
    static let postinstConfs = ["charset", "localized-error-pages", "other-vhosts-access-log", "security", "serve-cgi-bin"]

    /// Whether the Debian tools the tree needs are here.
    static var isAvailable: Bool {
        ["/usr/sbin/a2enmod", "/usr/bin/dpkg-deb", "/usr/bin/apt-get"].allSatisfy { (path: String) in access(path, X_OK) == 0 }
    }

    init() throws {
        directory = try TemporaryDirectory(prefix: "skep-debian")
        port = try FreePort.next()
        sslPort = try FreePort.next()
        do {
            try extract(package: "apache2")
            for name in ["run", "lock", "log", "state"] { try directory.makeDirectory(name) }
            try rewrite("ports.conf") { $0.replacingOccurrences(of: "Listen 80\n", with: "Listen 127.0.0.1:\(port)\n") }
            try rewrite("sites-available/000-default.conf") { $0.replacingOccurrences(of: "<VirtualHost *:80>", with: "<VirtualHost *:\(port)>") }
            try rewrite("ports.conf") { $0.replacingOccurrences(of: "Listen 443\n", with: "Listen 127.0.0.1:\(sslPort)\n") }
            try rewrite("sites-available/default-ssl.conf") { $0.replacingOccurrences(of: "<VirtualHost *:443>", with: "<VirtualHost *:\(sslPort)>") }
            try rewrite("envvars") { text in
                text.replacingOccurrences(of: "export APACHE_RUN_DIR=/var/run/apache2$SUFFIX", with: "export APACHE_RUN_DIR=\(directory.path)/run")
                    .replacingOccurrences(of: "export APACHE_PID_FILE=/var/run/apache2$SUFFIX/apache2.pid", with: "export APACHE_PID_FILE=\(pidFile)")
                    .replacingOccurrences(of: "export APACHE_LOCK_DIR=/var/lock/apache2$SUFFIX", with: "export APACHE_LOCK_DIR=\(directory.path)/lock")
                    .replacingOccurrences(of: "export APACHE_LOG_DIR=/var/log/apache2$SUFFIX", with: "export APACHE_LOG_DIR=\(logDirectory)")
            }
            try a2("a2enmod", ["-m", "-q"] + Self.postinstModules)
            try a2("a2enconf", ["-m", "-q"] + Self.postinstConfs)
            try a2("a2ensite", ["-q", "000-default"])
        } catch {
            directory.remove()
            throw error
        }
    }

    deinit { directory.remove() }

    /// Extracts `package`'s files into the tree's root (its /etc/apache2 lands in `confdir`).
    func extract(package: String) throws {
        try Self.extract(package: package, into: directory)
    }

    /// Downloads `package` (`apt-get download`, nothing installed) and extracts its files
    /// under `directory` (`dpkg-deb -x`).
    static func extract(package: String, into directory: TemporaryDirectory) throws {
        let downloads = try directory.makeDirectory("deb-" + package)
        let fetched = try Subprocess.run("/usr/bin/apt-get", ["download", "-q", package],
                                         environment: ServerBinary.environment(), workingDirectory: downloads,
                                         timeout: .seconds(120))
        let debs = ((try? FileManager.default.contentsOfDirectory(atPath: downloads)) ?? []).filter { $0.hasSuffix(".deb") }
        guard let deb = debs.first else {
            throw HarnessError("apt-get download \(package) gave no .deb (\(fetched.statusText)): \(fetched.stderr)")
        }
        let unpacked = try Subprocess.run("/usr/bin/dpkg-deb", ["-x", downloads + "/" + deb, directory.path], timeout: .seconds(60))
        guard unpacked.succeeded else { throw HarnessError("dpkg-deb -x \(deb): \(unpacked.stderr)") }
    }

    /// The environment `apache2ctl` gives the server: envvars sourced, and where the
    /// a2* tools find the tree.
    var environment: [String: String] {
        get throws {
            let dump = try Subprocess.run("/bin/sh", ["-c", "set -a; . \"$APACHE_CONFDIR/envvars\"; env"],
                                          environment: ServerBinary.environment(["APACHE_CONFDIR": confdir]), timeout: .seconds(10))
            guard dump.succeeded else { throw HarnessError("sourcing envvars: \(dump.stderr)") }
            var env: [String: String] = [:]
            for line in dump.stdout.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                env[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            env["APACHE_CONFDIR"] = confdir
            env["APACHE_STATE_DIRECTORY"] = directory.path + "/state"
            return env
        }
    }

    /// Runs one of Debian's a2* tools on this tree; throws with its output if it fails.
    @discardableResult
    func a2(_ tool: String, _ arguments: [String]) throws -> Subprocess.Result {
        let result = try Subprocess.run("/usr/sbin/" + tool, arguments, environment: environment, timeout: .seconds(30))
        guard result.succeeded else {
            throw HarnessError("\(tool) \(arguments.joined(separator: " ")): \(result.statusText)\n\(result.stdout)\(result.stderr)")
        }
        return result
    }

    /// Runs a server binary on this tree as `apache2ctl` would: `-d CONFDIR` and the
    /// envvars environment.
    func server(_ binary: String, _ arguments: [String], timeout: Duration = .seconds(30)) throws -> Subprocess.Result {
        try Subprocess.run(binary, ["-d", confdir] + arguments, environment: environment, timeout: timeout)
    }

    /// The pid in the PidFile, when it names a live process.
    var runningPid: pid_t? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else { return nil }
        return pid
    }

    private func rewrite(_ relative: String, _ change: (String) -> String) throws {
        let path = confdir + "/" + relative
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let changed = change(text)
        guard changed != text else { throw HarnessError("\(relative) of the apache2 package no longer has what the test rewrites") }
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
