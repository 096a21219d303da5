/// What the configuration reader knows about mod_php, the PHP interpreter Apache embeds
/// (Debian's `libapache2-mod-php8.2`). Skep has no embedded PHP: it runs PHP in PHP-FPM
/// through mod_proxy_fcgi. So `LoadModule php_module` is refused with the recipe that
/// switches a Debian server to PHP-FPM, `<IfModule mod_php.c>` stays false, and the four
/// `php_*` directives that configure PHP's ini settings are kept from such a false block
/// (their values go to PHP-FPM, see `PHPFPMModule` in SkepServer).
public enum ModPHP {
    /// The names mod_php has gone by, in `LoadModule` (`php_module` since PHP 8) and in
    /// `<IfModule>` (the module name or its source file's).
    public static let moduleNames: Set<String> = [
        "php_module", "php7_module", "php5_module", "php4_module",
        "mod_php.c", "mod_php7.c", "mod_php5.c", "mod_php4.c",
    ]

    /// The names PHP 8's mod_php answers to in `<IfModule>` (Debian 12's
    /// `libapache2-mod-php8.2`): the blocks whose `php_*` directives the reader keeps.
    /// Blocks for older mod_phps (`mod_php7.c`, `php5_module`) are false on an Apache
    /// running PHP 8 too, and skipped whole, so an application sees the settings it saw
    /// there (their values were often written for an older PHP).
    public static let keptIfModuleNames: Set<String> = ["php_module", "mod_php.c"]

    /// The directives mod_php declares for ini settings, lowercased (Apache matches names
    /// case-insensitively). `PHPINIDir` is not among them: it names mod_php's own php.ini.
    public static let iniDirectives: Set<String> = ["php_value", "php_flag", "php_admin_value", "php_admin_flag"]

    /// Whether a `LoadModule` line loads mod_php: by its module name, or by the shared
    /// object's file name (`libphp8.2.so`) whatever the module is called.
    public static func isModPHP(moduleName: String, path: String) -> Bool {
        moduleNames.contains(moduleName) || sharedObjectVersion(path) != nil
    }

    /// The PHP version in a mod_php shared object's file name: `8.2` for
    /// `/usr/lib/apache2/modules/libphp8.2.so`, `""` for `libphp.so`, nil when the file is
    /// not a `libphp*.so`.
    public static func sharedObjectVersion(_ path: String) -> String? {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard file.hasPrefix("libphp"), file.hasSuffix(".so"), file.count >= 9 else { return nil }
        let version = file.dropFirst(6).dropLast(3)
        guard version.allSatisfy({ $0.isNumber || $0 == "." }) else { return nil }
        return String(version)
    }

    /// The refusal of `LoadModule NAME PATH`: what Skep runs instead, and Debian's commands
    /// that switch to it (with the version of the `.so` when its name has one).
    public static func loadModuleRefusal(moduleName: String, path: String) -> String {
        let version = sharedObjectVersion(path) ?? ""
        let recipe: String
        if version.isEmpty {
            recipe = "a2dismod phpX.Y; a2enmod proxy_fcgi setenvif; a2enconf phpX.Y-fpm (X.Y: the PHP version, as in phpX.Y-fpm)"
        } else {
            recipe = "a2dismod php\(version); a2enmod proxy_fcgi setenvif; a2enconf php\(version)-fpm"
        }
        return "Cannot load \(path) into server: Skep has no embedded PHP (\(moduleName), mod_php); "
            + "it runs PHP through PHP-FPM with mod_proxy_fcgi. On Debian: \(recipe)"
    }

    /// Whether `section` is an `<IfModule>` that asks for PHP 8's mod_php (not its
    /// negation): the block is false in Skep, but its `php_*` ini directives are still read.
    public static func guardsModPHP(_ section: Directive) -> Bool {
        section.key == "ifmodule" && section.arguments.count == 1 && keptIfModuleNames.contains(section.arguments[0])
    }

    /// The note the reader gives once when it keeps `php_*` directives from a false
    /// mod_php `<IfModule>`.
    public static let keptFromIfModuleNote =
        "php_value, php_flag, php_admin_value and php_admin_flag inside this <IfModule> are passed to PHP-FPM "
        + "(the block is false: Skep has no mod_php; its other directives are skipped)"
}
