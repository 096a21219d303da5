import SkepConfig

/// mod_php's ini directives for PHP run in PHP-FPM: `php_value`, `php_flag`,
/// `php_admin_value` and `php_admin_flag`, with mod_php's contexts, override class and
/// merge, sent by mod_proxy_fcgi to PHP-FPM as the `PHP_VALUE` and `PHP_ADMIN_VALUE`
/// FastCGI params (see `FastCGIExchange`). Apache without mod_php has no such directives;
/// applications' `.htaccess` files and vhosts carry them, so Skep honours them where PHP
/// runs.
///
/// A module of its own rather than part of mod_proxy_fcgi's table: it is always present
/// (a `.htaccess` written for mod_php must not fail because the server loads its PHP
/// handler differently), and it is not called `php_module`, so `<IfModule mod_php.c>`
/// stays false (see `ModPHP` for what the reader keeps from such a block).
public struct PHPFPMModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(
        name: "php_fpm_module", sourceName: "mod_php_fpm.c", isStatic: true,
        directives: [
            DirectiveSpec("php_value", .take2, .anywhere, help: "PHP Value Modifier") { d, scope throws(ConfigError) in
                try set(d, value: d.arguments[1], level: .perDirectory, &scope)
            },
            DirectiveSpec("php_flag", .take2, .anywhere, help: "PHP Flag Modifier") { d, scope throws(ConfigError) in
                try set(d, value: PHPIniConfig.flag(d.arguments[1]), level: .perDirectory, &scope)
            },
            DirectiveSpec("php_admin_value", .take2, .anywhere, help: "PHP Value Modifier (Admin)") { d, scope throws(ConfigError) in
                try set(d, value: d.arguments[1], level: .system, &scope)
            },
            DirectiveSpec("php_admin_flag", .take2, .anywhere, help: "PHP Flag Modifier (Admin)") { d, scope throws(ConfigError) in
                try set(d, value: PHPIniConfig.flag(d.arguments[1]), level: .system, &scope)
            },
            DirectiveSpec("PHPINIDir", .take1, .server, help: "Directory containing the php.ini file") { d, _ throws(ConfigError) in
                throw d.error("PHPINIDir names mod_php's php.ini; PHP-FPM reads its own (php-fpm -c, or /etc/php/X.Y/fpm/php.ini on Debian)")
            },
        ],
        // mod_php's table: php_value and php_flag are OR_OPTIONS (so `AllowOverride
        // Options` lets .htaccess set them); the admin forms are ACCESS_CONF|RSRC_CONF only.
        overrides: ["php_value": .options, "php_flag": .options])

    public init(config: ServerConfig) {}

    private static func set(_ d: Directive, value: String, level: PHPIniConfig.Level,
                            _ scope: inout DirectiveScope) throws(ConfigError) {
        let name = d.arguments[0]
        guard PHPIniConfig.isIniName(name) else {
            throw d.error("\(d.name): '\(name)' is not a PHP ini setting name (letters, digits, '_', '.' and '-')")
        }
        // PHP-FPM loads an extension for `extension=` in PHP_VALUE; mod_php never did
        // (no ini setting has that name), and a .htaccess must not load code.
        guard name != "extension", name != "zend_extension" else {
            throw d.error("\(d.name) \(name): extensions are loaded by PHP's own configuration (php.ini, or the PHP-FPM pool), not per directory")
        }
        // One setting a line: a control character would let a value add lines of its own.
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw d.error("\(d.name) \(name): the value must not contain control characters")
        }
        scope.directory[PHPIniConfig.self].set(name, value: value, level: level)
    }
}

/// The ini settings of a directory, as mod_php's `php_conf_rec`: by name, each with the
/// level it was set at. Within one section the last line for a name wins; a deeper
/// section overrides a setting unless the setting is an admin one and the deeper line is
/// not (mod_php's `should_overwrite_per_dir_entry`).
public struct PHPIniConfig: ModuleConfig {
    /// mod_php's `PHP_INI_PERDIR` (php_value, php_flag) below `PHP_INI_SYSTEM` (the admin forms).
    public enum Level: Int, Sendable, Comparable {
        case perDirectory, system
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public struct Setting: Sendable, Equatable {
        public var name: String
        public var value: String
        public var level: Level
    }

    /// In the order the names were first set (mod_php's hash keeps it; PHP applies them in it).
    public private(set) var settings: [Setting] = []

    public init() {}

    mutating func set(_ name: String, value: String, level: Level) {
        // mod_php: a value of "none" (any case) is the empty string.
        let value = value.lowercased() == "none" ? "" : value
        let setting = Setting(name: name, value: value, level: level)
        if let i = settings.firstIndex(where: { $0.name == name }) {
            settings[i] = setting
        } else {
            settings.append(setting)
        }
    }

    public func merged(with child: PHPIniConfig) -> PHPIniConfig {
        guard !settings.isEmpty else { return child }
        var out = self
        for setting in child.settings {
            if let i = out.settings.firstIndex(where: { $0.name == setting.name }) {
                if setting.level >= out.settings[i].level { out.settings[i] = setting }
            } else {
                out.settings.append(setting)
            }
        }
        return out
    }

    /// The `PHP_VALUE` param: the php_value/php_flag settings, one `name="value"` line each.
    public var phpValue: String? { lines(at: .perDirectory) }
    /// The `PHP_ADMIN_VALUE` param: the admin settings.
    public var phpAdminValue: String? { lines(at: .system) }

    private func lines(at level: Level) -> String? {
        let lines = settings.filter { $0.level == level }.map { Self.iniLine($0.name, $0.value) }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }

    /// mod_php's flag: "1" for `On` (any case) or `1`, else "0".
    static func flag(_ argument: String) -> String {
        argument.lowercased() == "on" || argument == "1" ? "1" : "0"
    }

    /// Names PHP's ini parser reads as a bare key.
    static func isIniName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2E || byte == 0x2D
        }
    }

    /// One line of PHP-FPM's ini text. PHP-FPM parses PHP_VALUE with PHP's ini parser,
    /// which would turn a bare `on` into "1", `none` into "", cut at `;`, expand `${X}`
    /// and evaluate `E_ALL & ~E_NOTICE`; mod_php set the string as written. A double-quoted
    /// value with `"`, `\` and `$` escaped is read back as exactly the string.
    static func iniLine(_ name: String, _ value: String) -> String {
        var quoted = "\""
        for character in value {
            switch character {
            case "\"", "\\", "$": quoted.append("\\")
            default: break
            }
            quoted.append(character)
        }
        quoted.append("\"")
        return name + "=" + quoted
    }
}
