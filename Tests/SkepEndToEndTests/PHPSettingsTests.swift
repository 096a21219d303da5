import Foundation
import Glibc
import Testing

/// mod_php configurations on PHP-FPM (issue 18): `LoadModule php_module` refused with the
/// PHP-FPM recipe, and `php_value`, `php_flag`, `php_admin_value`, `php_admin_flag` passed
/// to PHP-FPM. The oracle is Apache with the real mod_php (Debian's
/// `libapache2-mod-php8.2`, downloaded, not installed) under prefork, on the same config:
/// PHP's `ini_get` must answer the same under Skep + PHP-FPM.
@Suite(.serialized, .tags(.phpFPM, .skepBinary, .apache),
       .enabled(if: PHPFPM.isAvailable && Oracle.isAvailable && DebianTree.isAvailable && getuid() == 0,
                "needs php-fpm, apache2, Debian's apt-get/dpkg-deb/a2* tools and root"),
       .timeLimit(.minutes(10)))
struct PHPSettingsTests {
    /// The PHP version of the installed php-fpm (`8.2` for /usr/sbin/php-fpm8.2).
    static var phpVersion: String? {
        guard let binary = PHPFPM.binary, let name = binary.split(separator: "/").last,
              name.hasPrefix("php-fpm"), name.count > 7 else { return nil }
        return String(name.dropFirst(7))
    }

    /// Debian's mod_php for that version, extracted into `directory`: the `.so`'s path.
    static func modPHP(into directory: TemporaryDirectory) throws -> String {
        let version = try #require(phpVersion)
        try DebianTree.extract(package: "libapache2-mod-php\(version)", into: directory)
        let path = directory.path + "/usr/lib/apache2/modules/libphp\(version).so"
        guard access(path, R_OK) == 0 else { throw HarnessError("libapache2-mod-php\(version) has no \(path)") }
        return path
    }

    /// The ini settings the config below touches.
    static let names = ["precision", "serialize_precision", "highlight.string", "highlight.comment",
                        "short_open_tag", "html_errors", "highlight.keyword"]

    /// Prints `ini_get` of `names`, and the FastCGI params PHP-FPM got (none under mod_php).
    static let script = """
        <?php
        header('Content-Type: application/json');
        $ini = [];
        foreach ([\(names.map { "'\($0)'" }.joined(separator: ", "))] as $n) { $ini[$n] = ini_get($n); }
        echo json_encode(['ini' => $ini, 'PHP_VALUE' => $_SERVER['PHP_VALUE'] ?? null,
            'PHP_ADMIN_VALUE' => $_SERVER['PHP_ADMIN_VALUE'] ?? null], JSON_UNESCAPED_SLASHES);
        """

    static let directories = ["", "deep", "deep/deeper", "admin", "admin/sub", "ifmodule", "files"]

    /// The handler is mod_php on Apache (`php_fpm_module` is Skep's; Apache has no such
    /// module) and PHP-FPM on Skep; everything else is the same text.
    static func config(modPHP: String, fpm: PHPFPM) -> String {
        """
        <IfModule !php_fpm_module>
            LoadModule php_module \(modPHP)
        </IfModule>
        <FilesMatch "\\.php$">
            <IfModule php_module>
                SetHandler application/x-httpd-php
            </IfModule>
            <IfModule !php_module>
                SetHandler "proxy:unix:\(fpm.socketPath)|fcgi://localhost"
            </IfModule>
        </FilesMatch>

        php_value precision 7
        php_value serialize_precision 12
        php_flag short_open_tag On
        php_flag html_errors off
        php_admin_value highlight.string "#AA0000"
        php_value highlight.comment "#FF8000; /* c */ $HOME on"
        php_value highlight.keyword none

        <Directory "@DOCROOT@/deep">
            php_value precision 9
            # An admin value is not overridden by a php_value.
            php_value highlight.string "#BB0000"
            php_flag short_open_tag 0
        </Directory>
        <Directory "@DOCROOT@/deep/deeper">
            php_value precision 10
            php_admin_value highlight.string "#CC0000"
        </Directory>
        <Directory "@DOCROOT@/admin">
            php_admin_value precision 3
            php_admin_flag html_errors on
        </Directory>
        <Directory "@DOCROOT@/admin/sub">
            php_value precision 11
            php_flag html_errors off
        </Directory>
        <Directory "@DOCROOT@/ifmodule">
            # True under mod_php 8; false under Skep, whose reader keeps its php_* lines.
            <IfModule mod_php.c>
                php_value precision 5
            </IfModule>
            # False under mod_php 8 and under Skep: skipped whole.
            <IfModule mod_php7.c>
                php_value serialize_precision 4
            </IfModule>
            <IfModule php_module>
                php_flag short_open_tag off
            </IfModule>
        </Directory>
        <Location "/files/">
            php_value serialize_precision 6
        </Location>
        """
    }

    struct Answer: Equatable, CustomStringConvertible {
        var ini: [String: String]
        var phpValue: String?
        var phpAdminValue: String?
        var description: String { "ini \(ini.sorted { $0.key < $1.key }) PHP_VALUE \(phpValue.debugDescription) PHP_ADMIN_VALUE \(phpAdminValue.debugDescription)" }
    }

    static func answers(_ server: ServerProcess, _ directories: [String] = directories) throws -> [String: Answer] {
        var out: [String: Answer] = [:]
        for directory in directories {
            let path = "/" + (directory.isEmpty ? "" : directory + "/") + "ini.php"
            let object = try FastCGIFixture.json(FastCGIFixture.get(server, path))
            let ini = (object["ini"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
            out[directory] = Answer(ini: ini, phpValue: object["PHP_VALUE"] as? String, phpAdminValue: object["PHP_ADMIN_VALUE"] as? String)
        }
        return out
    }

    /// The same config on Apache + mod_php (prefork) and on Skep + PHP-FPM (each MPM):
    /// `ini_get` answers the same in every directory.
    @Test func iniSettingsMatchModPHP() throws {
        let packages = try TemporaryDirectory(prefix: "skep-modphp")
        defer { packages.remove() }
        let modPHP = try Self.modPHP(into: packages)
        try PHPFPM.with { fpm in
            var results: [String: [String: Answer]] = [:]
            // mod_php needs prefork; Skep's answer cannot depend on its MPM, checked under each.
            for (kind, mpm) in [(ServerKind.apache, MPM.prefork), (.skep, .prefork), (.skep, .worker), (.skep, .event)] {
                var config = try TestConfig(mpm: mpm)
                config.modules = FastCGIFixture.modules
                config.extra = Self.config(modPHP: modPHP, fpm: fpm)
                for directory in Self.directories {
                    try config.root.writeDocument((directory.isEmpty ? "" : directory + "/") + "ini.php", Self.script)
                }
                results["\(kind) \(mpm)"] = try withServer(kind, config: config) { server in try Self.answers(server) }
            }
            let apache = try #require(results["apache prefork"])
            // The oracle shows what mod_php does, so the comparison cannot pass by accident.
            #expect(apache["deep"]?.ini["precision"] == "9")
            #expect(apache["deep"]?.ini["highlight.string"] == "#AA0000")
            #expect(apache["deep/deeper"]?.ini["highlight.string"] == "#CC0000")
            #expect(apache["admin/sub"]?.ini["precision"] == "3")
            #expect(apache["ifmodule"]?.ini["precision"] == "5")
            #expect(apache["ifmodule"]?.ini["serialize_precision"] == "12")
            #expect(apache[""]?.ini["highlight.comment"] == "#FF8000; /* c */ $HOME on")
            #expect(apache[""]?.phpValue == nil)
            for skep in ["skep prefork", "skep worker", "skep event"] {
                let answers = try #require(results[skep])
                for directory in Self.directories {
                    #expect(answers[directory]?.ini == apache[directory]?.ini, "\(skep) /\(directory): \(answers[directory].map(\.description) ?? "-")")
                }
                // What Skep sent: an admin setting is never also sent as a PHP_VALUE.
                let deep = try #require(answers["deep"])
                #expect(deep.phpAdminValue == ##"highlight.string="#AA0000""##, "\(deep)")
                #expect(deep.phpValue?.contains("highlight.string") == false, "\(deep)")
                #expect(deep.phpValue?.hasPrefix(#"precision="9"\#nserialize_precision="12"\#nshort_open_tag="0""#) == true, "\(deep)")
            }
        }
    }

    /// What Skep controls of PHP-FPM's params: none where no php_* directive applies
    /// (PHP-FPM keeps a PHP_VALUE in the worker that ran it, so a directory without
    /// settings may still see another's: the caveat docs/modules/php.md explains), and
    /// a `SetEnv PHP_VALUE` (Apache users' way to reach PHP-FPM) comes first, the
    /// directives' lines after it.
    @Test func paramsOnlyWhereSettingsApply() throws {
        try PHPFPM.with { fpm in
            var config = try TestConfig(mpm: .event)
            config.modules = FastCGIFixture.modules
            config.extra = """
                <FilesMatch "\\.php$">
                    SetHandler "proxy:unix:\(fpm.socketPath)|fcgi://localhost"
                </FilesMatch>
                <Directory "@DOCROOT@/set">
                    php_value precision 8
                    php_admin_flag html_errors off
                </Directory>
                <Directory "@DOCROOT@/env">
                    SetEnv PHP_VALUE "serialize_precision=13"
                    php_value precision 6
                </Directory>
                """
            for directory in ["plain", "set", "env"] {
                try config.root.writeDocument(directory + "/ini.php", Self.script)
            }
            let answers = try withServer(.skep, config: config) { server in try Self.answers(server, ["plain", "set", "env"]) }
            #expect(answers["plain"]?.phpValue == nil)
            #expect(answers["plain"]?.phpAdminValue == nil)
            #expect(answers["set"]?.phpValue == #"precision="8""#)
            #expect(answers["set"]?.phpAdminValue == #"html_errors="0""#)
            #expect(answers["set"]?.ini["precision"] == "8")
            #expect(answers["env"]?.phpValue == "serialize_precision=13\n" + #"precision="6""#)
            #expect(answers["env"]?.ini["serialize_precision"] == "13")
            #expect(answers["env"]?.ini["precision"] == "6")
        }
    }

    /// `a2enmod php8.2` on Debian's own tree (the libapache2-mod-php8.2 package's
    /// files, its postinst's MPM switch): Apache accepts it, Skep refuses it at the
    /// LoadModule line with the PHP-FPM recipe.
    @Test func debiansModPHPIsRefusedWithTheRecipe() throws {
        let version = try #require(Self.phpVersion)
        let skep = try ServerBinary.path(for: .skep)
        let tree = try DebianTree()
        try tree.extract(package: "libapache2-mod-php\(version)")
        try tree.a2("a2dismod", ["-q", "mpm_event"])
        try tree.a2("a2enmod", ["-q", "mpm_prefork"])
        try tree.a2("a2enmod", ["-q", "php\(version)"])
        // The package's .so is in the tree, not installed: its .load names it there.
        let load = tree.confdir + "/mods-enabled/php\(version).load"
        let installed = "/usr/lib/apache2/modules/libphp\(version).so"
        let library = tree.directory.path + installed
        let text = try String(contentsOfFile: load, encoding: .utf8)
        #expect(text.contains("LoadModule php_module \(installed)\n"), "\(text)")
        try text.replacingOccurrences(of: installed, with: library).write(toFile: load, atomically: true, encoding: .utf8)

        let apache = try tree.server(Oracle.path, ["-t"])
        #expect(apache.succeeded, "apache2 -t with mod_php: \(apache.stdout)\(apache.stderr)")

        let test = try tree.server(skep, ["-t"])
        let output = test.stdout + test.stderr
        #expect(!test.signaled && test.status == 1, "skep -t: \(test.statusText) \(output)")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = try #require(lines.firstIndex { $0.hasPrefix("LoadModule") }) + 1
        #expect(output.contains("\(load):\(line): Cannot load \(library) into server: Skep has no embedded PHP"), "\(output)")
        #expect(output.contains("a2dismod php\(version); a2enmod proxy_fcgi setenvif; a2enconf php\(version)-fpm"), "\(output)")
        // The refusal is the one error: php8.2.conf's php_admin_flag and mod_php SetHandlers are read.
        #expect(output.split(separator: "\n").filter { $0.contains(tree.confdir) }.count == 1, "\(output)")
    }

    /// In `.htaccess`: php_value under `AllowOverride Options`, php_admin_value refused
    /// (500) as mod_php declares it.
    @Test func htaccessSettings() throws {
        let packages = try TemporaryDirectory(prefix: "skep-modphp")
        defer { packages.remove() }
        let modPHP = try Self.modPHP(into: packages)
        try PHPFPM.with { fpm in
            // Per server: /ht/ini.php's status and body, /ht/admin/ini.php's status.
            var results: [ServerKind: (status: Int, body: [UInt8], adminStatus: Int)] = [:]
            for (kind, mpm) in [(ServerKind.apache, MPM.prefork), (.skep, .event)] {
                var config = try TestConfig(mpm: mpm)
                config.modules = FastCGIFixture.modules
                config.extra = Self.config(modPHP: modPHP, fpm: fpm) + """

                    <Directory "@DOCROOT@/ht">
                        AllowOverride Options
                    </Directory>
                    """
                try config.root.writeDocument("ht/ini.php", Self.script)
                try config.root.writeDocument("ht/.htaccess", "<IfModule mod_php.c>\n  php_value precision 8\n</IfModule>\nphp_flag short_open_tag off\n")
                try config.root.writeDocument("ht/admin/ini.php", Self.script)
                try config.root.writeDocument("ht/admin/.htaccess", "php_admin_value precision 2\n")
                results[kind] = try withServer(kind, config: config) { server in
                    let ht = try FastCGIFixture.get(server, "/ht/ini.php")
                    let admin = try FastCGIFixture.get(server, "/ht/admin/ini.php")
                    return (Int(ht.status), ht.body, Int(admin.status))
                }
            }
            let apache = try #require(results[.apache])
            let skep = try #require(results[.skep])
            #expect(apache.status == 200 && apache.adminStatus == 500, "php_admin_value is not allowed in .htaccess")
            let apacheINI = try FastCGIFixture.json(apache.body)["ini"] as? [String: String]
            #expect(apacheINI?["precision"] == "8")
            #expect(apacheINI?["short_open_tag"] == "0")
            #expect(skep.status == apache.status && skep.adminStatus == apache.adminStatus)
            #expect(try FastCGIFixture.json(skep.body)["ini"] as? [String: String] == apacheINI)
        }
    }
}
