import SkepConfig
@testable import SkepServer
import Testing

/// mod_php's ini directives for PHP-FPM (`PHPFPMModule`) and the reader's mod_php rules
/// (`ModPHP`): parsing, merging and the FastCGI params' text, no sockets.
@Suite struct PHPFPMModuleTests {
    static let modules = CoreModule.all + [PHPFPMModule.descriptor]

    static func read(_ text: String) throws(ConfigError) -> ServerConfig {
        var reader = ConfigReader(modules: modules, options: .init(serverRoot: "/tmp", environment: { _ in nil }))
        let tree = try reader.read(text: text, name: "test.conf")
        return try ConfigProcessor.process(tree, modules: modules, configFile: "test.conf")
    }

    static func error(_ text: String) -> String? {
        do {
            _ = try read(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The record of the first `<Directory>` section.
    static func directory(_ config: ServerConfig) throws -> PHPIniConfig {
        try #require(config.main.sections.first).config[PHPIniConfig.self]
    }

    // MARK: - Directives

    @Test func valuesAndFlagsAsModPHPStoresThem() throws {
        let config = try Self.read("""
            php_value precision 7
            php_flag short_open_tag On
            php_flag html_errors off
            php_flag implicit_flush 1
            php_admin_value highlight.comment NONE
            php_admin_flag log_errors yes
            """)
        let php = config.main.defaults[PHPIniConfig.self]
        #expect(php.settings.map(\.name) == ["precision", "short_open_tag", "html_errors", "implicit_flush", "highlight.comment", "log_errors"])
        // mod_php: On (any case) or 1 is "1", anything else "0"; "none" is "".
        #expect(php.settings.map(\.value) == ["7", "1", "0", "1", "", "0"])
        #expect(php.phpValue == #"precision="7"\#nshort_open_tag="1"\#nhtml_errors="0"\#nimplicit_flush="1""#)
        #expect(php.phpAdminValue == #"highlight.comment=""\#nlog_errors="0""#)
    }

    @Test func noSettingsNoParams() throws {
        let php = try Self.read("ServerName a").main.defaults[PHPIniConfig.self]
        #expect(php.phpValue == nil)
        #expect(php.phpAdminValue == nil)
    }

    /// PHP-FPM reads the params with PHP's ini parser: quoting keeps the string as mod_php
    /// would have set it (`;` no comment, `$` no variable, `on` no boolean).
    @Test(arguments: [
        ("64M", #"x="64M""#),
        ("on", #"x="on""#),
        ("#FF8000; /* c */", ##"x="#FF8000; /* c */""##),
        (#"say "hi""#, #"x="say \"hi\"""#),
        (#"C:\dir"#, #"x="C:\\dir""#),
        ("${HOME}", #"x="\${HOME}""#),
        ("E_ALL & ~E_NOTICE", #"x="E_ALL & ~E_NOTICE""#),
    ])
    func iniLineQuotesTheValue(value: String, line: String) {
        #expect(PHPIniConfig.iniLine("x", value) == line)
    }

    @Test(arguments: [
        ("php_value \"a b\" 1", "'a b' is not a PHP ini setting name"),
        ("php_value a=b 1", "'a=b' is not a PHP ini setting name"),
        ("php_admin_value extension evil.so", "extensions are loaded by PHP's own configuration"),
        ("php_value zend_extension x.so", "extensions are loaded by PHP's own configuration"),
        ("php_value precision", "php_value takes two arguments"),
        ("PHPINIDir /etc/php", "PHPINIDir names mod_php's php.ini"),
    ])
    func refusals(line: String, message: String) throws {
        let error = try #require(Self.error(line))
        #expect(error.hasPrefix("test.conf:1: "), "\(error)")
        #expect(error.contains(message), "\(error)")
    }

    @Test func controlCharactersInAValueAreRefused() throws {
        let error = try #require(Self.error("php_value precision \"7\u{1}\""))
        #expect(error.contains("must not contain control characters"), "\(error)")
    }

    @Test func contextsAndOverrideClassesAreModPHPs() throws {
        let specs = Dictionary(uniqueKeysWithValues: PHPFPMModule.descriptor.directives.map { ($0.name, $0) })
        #expect(PHPFPMModule.descriptor.unknownOverrides.isEmpty)
        for name in ["php_value", "php_flag"] {
            #expect(specs[name]?.contexts == .anywhere)
            #expect(specs[name]?.overrides == .options, "\(name): OR_OPTIONS")
        }
        for name in ["php_admin_value", "php_admin_flag"] {
            #expect(specs[name]?.contexts == .anywhere)
            #expect(specs[name]?.overrides == [], "\(name): ACCESS_CONF|RSRC_CONF, never .htaccess")
        }
    }

    // MARK: - Merging (mod_php's merge_php_config)

    static func record(_ lines: [(String, String, PHPIniConfig.Level)]) -> PHPIniConfig {
        var config = PHPIniConfig()
        for (name, value, level) in lines { config.set(name, value: value, level: level) }
        return config
    }

    @Test func deeperSectionWinsPerName() {
        let parent = Self.record([("precision", "7", .perDirectory), ("html_errors", "0", .perDirectory)])
        let child = Self.record([("precision", "9", .perDirectory), ("short_open_tag", "1", .perDirectory)])
        let merged = parent.merged(with: child)
        #expect(merged.settings.map(\.name) == ["precision", "html_errors", "short_open_tag"])
        #expect(merged.settings.map(\.value) == ["9", "0", "1"])
    }

    @Test func anAdminValueIsNotOverriddenByAPHPValue() {
        let parent = Self.record([("highlight.string", "#AA0000", .system)])
        let byValue = parent.merged(with: Self.record([("highlight.string", "#BB0000", .perDirectory)]))
        #expect(byValue.settings == [.init(name: "highlight.string", value: "#AA0000", level: .system)])
        #expect(byValue.phpValue == nil)
        let byAdmin = parent.merged(with: Self.record([("highlight.string", "#CC0000", .system)]))
        #expect(byAdmin.settings.map(\.value) == ["#CC0000"])
        // And an admin value overrides a php_value of an outer section.
        let over = Self.record([("precision", "7", .perDirectory)]).merged(with: Self.record([("precision", "3", .system)]))
        #expect(over.phpValue == nil)
        #expect(over.phpAdminValue == #"precision="3""#)
    }

    /// Within one section the last line wins, whatever its level (mod_php's
    /// `zend_hash_update` in `real_value_hnd`).
    @Test func lastLineOfASectionWins() {
        let config = Self.record([("precision", "3", .system), ("precision", "7", .perDirectory)])
        #expect(config.settings == [.init(name: "precision", value: "7", level: .perDirectory)])
    }

    // MARK: - The reader: LoadModule and <IfModule>

    @Test(arguments: [
        ("LoadModule php_module /usr/lib/apache2/modules/libphp8.2.so",
         "a2dismod php8.2; a2enmod proxy_fcgi setenvif; a2enconf php8.2-fpm"),
        ("LoadModule php7_module /usr/lib/apache2/modules/libphp7.4.so",
         "a2dismod php7.4; a2enmod proxy_fcgi setenvif; a2enconf php7.4-fpm"),
        ("LoadModule php5_module modules/libphp5.so", "a2dismod php5; a2enmod proxy_fcgi setenvif; a2enconf php5-fpm"),
        ("LoadModule php_module /opt/php/mod_php.so", "a2dismod phpX.Y; a2enmod proxy_fcgi setenvif; a2enconf phpX.Y-fpm"),
        ("LoadModule custom_php /opt/php/libphp8.3.so", "a2dismod php8.3; a2enmod proxy_fcgi setenvif; a2enconf php8.3-fpm"),
    ])
    func loadModulePHPIsRefusedWithTheFPMRecipe(line: String, recipe: String) throws {
        let error = try #require(Self.error("ServerName a\n" + line))
        #expect(error.hasPrefix("test.conf:2: Cannot load "), "\(error)")
        #expect(error.contains("Skep has no embedded PHP"), "\(error)")
        #expect(error.contains(recipe), "\(error)")
        // One refusal, not the "Skep does not implement N modules" gap list.
        #expect(!error.contains("does not implement"), "\(error)")
    }

    @Test(arguments: [("libphp8.2.so", "8.2"), ("/x/libphp.so", ""), ("libphp5.so", "5"), ("mod_php.so", nil), ("libphpx.so", nil)])
    func sharedObjectVersion(file: String, version: String?) {
        #expect(ModPHP.sharedObjectVersion(file) == version)
    }

    /// `<IfModule mod_php.c>` stays false (a mod_php `SetHandler` inside must not take
    /// .php from PHP-FPM), but its php_* directives are read, with one note.
    @Test func phpDirectivesAreKeptFromAFalseModPHPBlock() throws {
        let config = try Self.read("""
            <Directory "/srv/www">
                <IfModule mod_php.c>
                    php_value precision 7
                    SetHandler application/x-httpd-php
                    <Files x.php>
                        php_value html_errors 0
                    </Files>
                    PHP_Flag short_open_tag on
                </IfModule>
                <IfModule php_module>
                    php_admin_value highlight.string "#AA0000"
                </IfModule>
                <IfModule mod_php7.c>
                    php_value memory_limit 64M
                </IfModule>
                <IfModule !mod_php.c>
                    php_value serialize_precision 5
                </IfModule>
            </Directory>
            """)
        let section = try #require(config.main.sections.first)
        #expect(section.nested.isEmpty, "the <Files> inside the false block is skipped")
        let php = section.config[PHPIniConfig.self]
        #expect(php.settings.map(\.name) == ["precision", "short_open_tag", "highlight.string", "serialize_precision"])
        let notes = config.warnings.filter { $0.severity == .note }
        #expect(notes.count == 1)
        #expect(notes.first?.location?.line == 2)
        #expect(notes.first?.message.contains("passed to PHP-FPM") == true)
        // The block's other directives were skipped: no SetHandler reached the section.
        #expect(section.config[CoreDirConfig.self].handler == nil)
    }

    @Test func noNoteWithoutPHPDirectivesInTheBlock() throws {
        let config = try Self.read("<IfModule mod_php.c>\nSetHandler application/x-httpd-php\n</IfModule>\n")
        #expect(config.warnings.isEmpty)
    }
}
