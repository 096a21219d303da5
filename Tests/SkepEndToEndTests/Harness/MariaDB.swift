import Foundation
import Glibc

/// A private MariaDB for the application tests (WordPress): a data directory made by
/// `mariadb-install-db` in a temporary directory, and `mariadbd --no-defaults` on a unix
/// socket there, without networking. It never touches the system's server, its
/// /etc/mysql or /var/lib/mysql, and is no service: the test starts it and stops it.
///
/// When the tests run as root, mariadbd runs as root too (`--user=root`); the socket is
/// 0777 (mariadbd's default), so php-fpm's www-data workers connect to it. The temporary
/// directory is 0755 so they can reach it.
///
/// Use `MariaDB.with { db in ... }`, which always stops it. Stopping is SIGTERM to the
/// pid it started (mariadbd shuts down cleanly on it), then SIGKILL after a bounded wait.
final class MariaDB {
    static let installBinary = "/usr/bin/mariadb-install-db"
    static let serverBinary = "/usr/sbin/mariadbd"
    static let clientBinary = "/usr/bin/mariadb"

    /// Whether MariaDB's server and client are installed (for `.enabled(if:)`).
    static var isAvailable: Bool {
        [installBinary, serverBinary, clientBinary].allSatisfy { (path: String) in access(path, X_OK) == 0 }
    }

    let directory: TemporaryDirectory
    let pid: pid_t
    private var exited = false

    var dataDirectory: String { directory.path + "/data" }
    /// The server's unix socket: WordPress's `DB_HOST` is `localhost:` + this path.
    var socketPath: String { directory.path + "/mysqld.sock" }
    var errorLogPath: String { directory.path + "/mariadbd.err" }

    /// The server's options: no option file read (`--no-defaults`), no TCP, no name
    /// lookups, and no flush to disk on each commit (the data is thrown away).
    private static func serverOptions(_ directory: String) -> [String] {
        ["--no-defaults", "--datadir=" + directory + "/data", "--socket=" + directory + "/mysqld.sock",
         "--pid-file=" + directory + "/mariadbd.pid", "--log-error=" + directory + "/mariadbd.err",
         "--skip-networking", "--skip-name-resolve", "--innodb-flush-log-at-trx-commit=0"]
            + (getuid() == 0 ? ["--user=root"] : [])
    }

    /// Creates the data directory, starts mariadbd and waits until a client connects.
    init(readyTimeout: Duration = .seconds(30)) throws {
        guard Self.isAvailable else { throw HarnessError("MariaDB (mariadb-server) is not installed") }
        directory = try TemporaryDirectory(prefix: "skep-mariadb")
        do {
            let installed = try Subprocess.run(
                Self.installBinary,
                ["--no-defaults", "--datadir=" + directory.path + "/data", "--auth-root-authentication-method=normal",
                 "--skip-test-db", "--skip-name-resolve"] + (getuid() == 0 ? ["--user=root"] : []),
                environment: ServerBinary.environment(), workingDirectory: directory.path, timeout: .seconds(120))
            guard installed.succeeded else {
                throw HarnessError("mariadb-install-db: \(installed.statusText)\n\(installed.stdout)\(installed.stderr)")
            }
            pid = try Subprocess.spawn(
                Self.serverBinary, Self.serverOptions(directory.path), environment: ServerBinary.environment(),
                workingDirectory: directory.path,
                stdoutPath: directory.path + "/mariadbd.stdout", stderrPath: directory.path + "/mariadbd.stderr")
        } catch {
            directory.remove()
            throw error
        }
        do {
            try Deadline.wait(for: "mariadbd (pid \(pid)) to accept a client on \(socketPath)\n\(diagnostics())",
                              timeout: readyTimeout, interval: .milliseconds(50)) {
                guard isRunning else { throw HarnessError("mariadbd exited before it was ready\n\(diagnostics())") }
                return (try? sql("SELECT 1"))?.succeeded == true
            }
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Starts MariaDB, runs `body`, always stops it.
    @discardableResult
    static func with<R>(_ body: (MariaDB) throws -> R) throws -> R {
        let db = try MariaDB()
        defer { db.stop() }
        return try body(db)
    }

    /// Runs `statements` with the `mariadb` client as root over the socket.
    func sql(_ statements: String, database: String? = nil, timeout: Duration = .seconds(30)) throws -> Subprocess.Result {
        try Subprocess.run(
            Self.clientBinary,
            ["--no-defaults", "--socket=" + socketPath, "--user=root", "--batch", "--skip-column-names",
             "--execute=" + statements] + (database.map { [$0] } ?? []),
            environment: ServerBinary.environment(), timeout: timeout)
    }

    /// Runs `statements`; throws with the client's error when they fail. Returns stdout.
    @discardableResult
    func execute(_ statements: String, database: String? = nil) throws -> String {
        let result = try sql(statements, database: database)
        guard result.succeeded else {
            throw HarnessError("mariadb: \(statements): \(result.statusText)\n\(result.stderr)")
        }
        return result.stdout
    }

    /// Creates `name` and a user `user`@localhost with `password` owning it.
    func createDatabase(_ name: String, user: String, password: String) throws {
        try execute("""
            CREATE DATABASE `\(name)` CHARACTER SET utf8mb4;
            CREATE USER '\(user)'@'localhost' IDENTIFIED BY '\(password)';
            GRANT ALL PRIVILEGES ON `\(name)`.* TO '\(user)'@'localhost';
            """)
    }

    var isRunning: Bool {
        if exited { return false }
        if Subprocess.tryReap(pid) != nil {
            exited = true
            return false
        }
        return true
    }

    /// SIGTERM (a clean shutdown), then SIGKILL; removes the directory (unless
    /// SKEP_KEEP_TEST_ROOTS=1). Idempotent.
    func stop() {
        if isRunning {
            for (signal, wait) in [(SIGTERM, Duration.seconds(20)), (SIGKILL, .seconds(5))] {
                kill(pid, signal)
                if Subprocess.waitForExit(pid, timeout: wait) != nil {
                    exited = true
                    break
                }
            }
        }
        if ProcessInfo.processInfo.environment["SKEP_KEEP_TEST_ROOTS"] != "1" {
            directory.remove()
        }
    }

    func diagnostics() -> String {
        let log = String(decoding: FileManager.default.contents(atPath: errorLogPath) ?? Data(), as: UTF8.self)
        return "--- mariadbd error log ---\n\(log.suffix(3000))"
    }
}
