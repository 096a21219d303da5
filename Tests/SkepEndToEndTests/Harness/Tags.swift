import Testing

extension Tag {
    /// Needs Debian's Apache (/usr/sbin/apache2).
    @Tag static var apache: Self
    /// Starts the real skep binary.
    @Tag static var skepBinary: Self
    /// Needs php-fpm (the FastCGI backend of the mod_proxy_fcgi tests).
    @Tag static var phpFPM: Self
    /// Tests of the harness itself.
    @Tag static var harness: Self
}

extension Tag {
    /// Runs a real PHP application from Debian's packages (DokuWiki, WordPress, phpMyAdmin).
    @Tag static var applications: Self
}
