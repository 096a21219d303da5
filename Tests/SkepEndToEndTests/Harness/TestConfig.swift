import Foundation
import Glibc

/// An Apache-syntax configuration for one test server, rendered the same way for
/// skep and for Apache (the oracle) so that differential tests compare like with like.
///
/// The base config is: ServerRoot, the `LoadModule` lines (the MPM first, with real
/// Debian .so paths; skep records the paths and does not load them, and loads only the
/// modules it has: `skepModules`), Listen
/// 127.0.0.1:PORT, ServerName, PidFile, ErrorLog, LogLevel, an access log,
/// TypesConfig /etc/mime.types (these two guarded by `<IfModule>`), DocumentRoot and `<Directory docroot> Require all
/// granted </Directory>`; then `extra`, the test's own text.
///
/// In `extra`, `@ROOT@`, `@DOCROOT@`, `@LOGS@` and `@PORT@` are replaced by this
/// config's ServerRoot, DocumentRoot, logs directory and port, so one text serves two
/// servers that live in different directories.
///
/// Differences for Apache (`render(for: .apache)`): `User`/`Group www-data` when
/// running as root (Apache refuses to run its children as root), and
/// `DefaultRuntimeDir` inside the ServerRoot (Debian's compiled default is a system
/// directory).
struct TestConfig {
    /// Modules loaded by default; log_config is built into Debian's apache2, so its
    /// LoadModule is guarded with `<IfModule !log_config_module>`.
    static let defaultModules = [
        "log_config", "authz_core", "authz_host", "mime", "dir", "alias", "autoindex",
        "status", "reqtimeout",
    ]

    /// The modules skep has today (`Sources/SkepServer/ServerModules.swift`, `skep -M`),
    /// short names. skep refuses a config that loads a module it does not have, so the
    /// skep rendering loads only these (see `skepModules`); add a name here when its
    /// module lands in skep.
    static let skepAvailableModules: Set<String> = [
        "authz_core", "authz_host", "dir", "reqtimeout", "proxy", "proxy_fcgi", "env", "setenvif",
        "access_compat", "authn_core", "authn_file", "auth_basic", "authz_user", "authz_groupfile",
        "negotiation", "filter", "deflate", "headers", "expires", "cgi", "cgid", "userdir",
        "rewrite", "ssl", "socache_shmcb", "proxy_http", "remoteip",
    ]

    /// Modules compiled into Debian's apache2, whose LoadModule must be guarded.
    static let builtinInApache: Set<String> = ["log_config", "logio", "version", "unixd", "so", "watchdog"]

    /// Where Debian keeps Apache's modules (env APACHE_MODULES_DIR overrides).
    static var modulesDirectory: String {
        ProcessInfo.processInfo.environment["APACHE_MODULES_DIR"] ?? "/usr/lib/apache2/modules"
    }

    let root: TestServerRoot
    var port: UInt16
    var mpm: MPM
    var serverName = "127.0.0.1"
    var logLevel = "info"
    /// Short module names ("mime" for mime_module / mod_mime.so), without the MPM.
    var modules: [String] = TestConfig.defaultModules
    /// The modules loaded in the skep rendering; nil (the default) means those of
    /// `modules` that skep has (`skepAvailableModules`), so that one list describes both
    /// servers and the Apache rendering keeps the full list.
    var skepModules: [String]? = nil

    /// The modules the rendering for `kind` loads (without the MPM).
    func modules(for kind: ServerKind) -> [String] {
        switch kind {
        case .apache: modules
        case .skep, .testApp: skepModules ?? modules.filter { Self.skepAvailableModules.contains($0) }
        }
    }
    /// LogFormat of `logs/access.log`, as written between the quotes of the
    /// `LogFormat` directive (inner quotes escaped); nil for no access log.
    var accessLogFormat: String? = #"%h %l %u %t \"%r\" %>s %b"#
    /// Text appended after the base config (placeholders: see the type's doc).
    var extra: String = ""
    /// The DocumentRoot (and its `<Directory>` block) when it is not the ServerRoot's
    /// `htdocs/`: an application's tree, such as a copy of /usr/share/wordpress.
    var documentRoot: String? = nil

    init(root: TestServerRoot, port: UInt16, mpm: MPM = .event, extra: String = "") {
        self.root = root
        self.port = port
        self.mpm = mpm
        self.extra = extra
    }

    /// A new ServerRoot and a free port.
    init(mpm: MPM = .event, extra: String = "") throws {
        self.init(root: try TestServerRoot(), port: try FreePort.next(), mpm: mpm, extra: extra)
    }

    var pidFile: String { root.run + "/httpd.pid" }
    var errorLog: String { root.logs + "/error.log" }
    var accessLog: String { root.logs + "/access.log" }

    /// Where `write(for:)` puts the config of `kind`.
    func configPath(for kind: ServerKind) -> String { root.conf + "/\(kind).conf" }

    /// Replaces @ROOT@, @DOCROOT@, @LOGS@, @PORT@.
    func substitute(_ text: String) -> String {
        text.replacingOccurrences(of: "@DOCROOT@", with: root.docroot)
            .replacingOccurrences(of: "@ROOT@", with: root.path)
            .replacingOccurrences(of: "@LOGS@", with: root.logs)
            .replacingOccurrences(of: "@PORT@", with: String(port))
    }

    private func loadModule(_ name: String) -> String {
        "LoadModule \(name)_module \(Self.modulesDirectory)/mod_\(name).so"
    }

    /// The config text for `kind`.
    func render(for kind: ServerKind) -> String {
        var lines: [String] = []
        lines.append("# Generated by SkepEndToEndTests for \(kind) (\(mpm) MPM)")
        lines.append("ServerRoot \"\(root.path)\"")
        lines.append(loadModule(mpm.moduleName))
        for module in modules(for: kind) where module != mpm.moduleName {
            if Self.builtinInApache.contains(module) {
                lines.append("<IfModule !\(module)_module>")
                lines.append("    " + loadModule(module))
                lines.append("</IfModule>")
            } else {
                lines.append(loadModule(module))
            }
        }
        if kind == .apache {
            if getuid() == 0 {
                lines.append("User www-data")
                lines.append("Group www-data")
            }
            lines.append("DefaultRuntimeDir \"\(root.run)\"")
        }
        lines.append("Listen 127.0.0.1:\(port)")
        lines.append("ServerName \(serverName)")
        lines.append("PidFile \"\(pidFile)\"")
        lines.append("ErrorLog \"\(errorLog)\"")
        lines.append("LogLevel \(logLevel)")
        // Guarded, so that a server without mod_log_config / mod_mime (skep today)
        // accepts the same text.
        if let accessLogFormat {
            lines.append("<IfModule log_config_module>")
            lines.append("    LogFormat \"\(accessLogFormat)\" harness")
            lines.append("    CustomLog \"\(accessLog)\" harness")
            lines.append("</IfModule>")
        }
        lines.append("<IfModule mime_module>")
        lines.append("    TypesConfig /etc/mime.types")
        lines.append("</IfModule>")
        lines.append("DocumentRoot \"\(documentRoot ?? root.docroot)\"")
        lines.append("<Directory \"\(documentRoot ?? root.docroot)\">")
        lines.append("    Require all granted")
        lines.append("</Directory>")
        if !extra.isEmpty {
            lines.append("")
            lines.append("# extra")
            lines.append(substitute(extra))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the config of `kind` under `conf/` and returns its path.
    @discardableResult
    func write(for kind: ServerKind) throws -> String {
        let path = configPath(for: kind)
        try render(for: kind).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        return path
    }
}
