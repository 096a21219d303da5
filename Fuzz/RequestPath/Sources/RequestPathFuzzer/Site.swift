import Glibc
import SkepConfig
import SkepServer
import SkepSystem

/// The server every input is sent to: a ServerRoot with a document tree, built once per
/// fuzzer process, and the `ServerContext` of an Apache-syntax configuration over it
/// that reaches every request-path module: static files and directory indexes, mod_alias
/// (`Alias`, `Redirect`), mod_dir (`DirectorySlash`), mod_authz_core and mod_authz_host
/// (`Require`, `<Limit>`, `<If>`), `ErrorDocument` (local, text, remote), mod_autoindex,
/// mod_status, mod_log_config (the common and combined formats), mod_proxy_fcgi (the fake
/// back end), mod_auth_basic with mod_authn_file, mod_setenvif, mod_env, mod_negotiation
/// (MultiViews), and the output filters: mod_deflate through mod_filter, mod_headers and
/// mod_expires.
struct Site {
    let root: String
    let context: ServerContext

    /// Builds the tree under `$SKEP_FUZZ_DIR` (Fuzz/run points it into .build-fuzz,
    /// emptied before each run) or a new directory in /tmp.
    init(backendPort: UInt16) throws {
        if let directory = getenv("SKEP_FUZZ_DIR") {
            root = String(cString: directory)
        } else {
            var template = Array("/tmp/skep-fuzz-XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw SetupError("mkdtemp: errno \(errno)")
            }
            root = String(cString: made)
        }
        try Self.makeTree(root)
        let text = Self.configuration(root: root, backendPort: backendPort)
        let modules = CoreModule.all + ServerModules.all
        var reader = ConfigReader(modules: modules, options: .init(serverRoot: root))
        let tree = try reader.read(text: text, name: "fuzz.conf")
        let config = try ConfigProcessor.process(tree, modules: modules, configFile: "fuzz.conf")
        context = try ServerContext(config: config, moduleTypes: ServerModules.types)
        // As in an event child: lookups are remembered too, so the listener's run
        // (`processWithoutBlocking`) can answer from the cache.
        _ = context.fileCache.startWatching()
    }

    /// Files whose kinds the modules treat differently: an index, a plain file, a file
    /// larger than the file cache keeps, an empty one, a PHP script (for the `.php`
    /// handler), directories with and without an index, one denied, one with
    /// `DirectorySlash Off`, the error document, and an aliased tree outside the docroot.
    static func makeTree(_ root: String) throws {
        for directory in ["", "/logs", "/htdocs", "/htdocs/dir", "/htdocs/list", "/htdocs/list/sub",
                          "/htdocs/private", "/htdocs/noslash", "/htdocs/errors", "/htdocs/multi", "/htdocs/app", "/icons"] {
            if mkdir(root + directory, 0o755) != 0 && errno != EEXIST { throw SetupError("mkdir \(root + directory): errno \(errno)") }
        }
        try write(root + "/htdocs/index.html", Array("<html><body>fuzz</body></html>\n".utf8))
        try write(root + "/htdocs/a.txt", Array("plain text\n".utf8))
        try write(root + "/htdocs/empty", [])
        try write(root + "/htdocs/big.bin", (0..<(70 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try write(root + "/htdocs/x.php", Array("<?php echo 'never run: the back end is fake';\n".utf8))
        try write(root + "/htdocs/dir/index.html", Array("dir index\n".utf8))
        try write(root + "/htdocs/list/one.txt", Array("one\n".utf8))
        try write(root + "/htdocs/list/a b&c<d>.txt", Array("odd name\n".utf8))
        try write(root + "/htdocs/private/secret.txt", Array("secret\n".utf8))
        try write(root + "/htdocs/noslash/index.html", Array("no slash\n".utf8))
        try write(root + "/htdocs/errors/404.html", Array("<p>custom not found</p>\n".utf8))
        try write(root + "/icons/blank.gif", [0x47, 0x49, 0x46, 0x38, 0x39, 0x61])
        try write(root + "/htdocs/multi/page.html.en", Array("<p>english</p>\n".utf8))
        try write(root + "/htdocs/multi/page.html.fr", Array("<p>français</p>\n".utf8))
        // A front controller behind WordPress's rules, in a .htaccess.
        try write(root + "/htdocs/app/index.php", Array("<?php echo 'front';\n".utf8))
        try write(root + "/htdocs/app/style.css", Array("body{}\n".utf8))
        try write(root + "/htdocs/app/.htaccess", Array("""
            RewriteEngine On
            RewriteBase /app/
            RewriteRule ^index\\.php$ - [L]
            RewriteRule ^api/(\\w+)/(.*)$ index.php?route=$1&rest=$2 [QSA,B,L]
            RewriteCond %{REQUEST_FILENAME} !-f
            RewriteCond %{REQUEST_FILENAME} !-d
            RewriteRule . /app/index.php [L]
            RedirectMatch 404 /\\.git
            php_value memory_limit 64M

            """.utf8))
        // The TLS host's certificate, made afresh for each run.
        let made = system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=tls.fuzz.example"
                          + " -keyout '\(root)/tls.key' -out '\(root)/tls.pem' >/dev/null 2>&1")
        if made != 0 { throw SetupError("openssl could not make the TLS certificate (\(made))") }
        // bcrypt, APR1-MD5 and {SHA} entries for "fuzz" / "fuzz" (htpasswd -B, -m, -s).
        try write(root + "/htpasswd", Array("""
            b:$2y$05$BFGfImDJTeR4s1Ql5rh3mefcR8yvcWzVPlSV4AgoGfLu4ijzmjERi
            m:$apr1$LMyc2YhV$FSnaqbyNpR59Y7gxAC2mZ.
            s:{SHA}BJLg30AHfASxlD3BqtsyxlkID6w=

            """.utf8))
    }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SetupError("open \(path): errno \(errno)") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw SetupError("write \(path): errno \(errno)") }
    }

    static func configuration(root: String, backendPort: UInt16) -> String {
        let backend = "fcgi://127.0.0.1:\(backendPort)"
        return """
        ServerRoot "\(root)"
        LoadModule authz_core_module modules/mod_authz_core.so
        LoadModule authz_host_module modules/mod_authz_host.so
        LoadModule mime_module modules/mod_mime.so
        LoadModule dir_module modules/mod_dir.so
        LoadModule alias_module modules/mod_alias.so
        LoadModule autoindex_module modules/mod_autoindex.so
        LoadModule status_module modules/mod_status.so
        LoadModule reqtimeout_module modules/mod_reqtimeout.so
        LoadModule log_config_module modules/mod_log_config.so
        LoadModule proxy_module modules/mod_proxy.so
        LoadModule proxy_fcgi_module modules/mod_proxy_fcgi.so
        LoadModule authn_core_module modules/mod_authn_core.so
        LoadModule auth_basic_module modules/mod_auth_basic.so
        LoadModule authn_file_module modules/mod_authn_file.so
        LoadModule authz_user_module modules/mod_authz_user.so
        LoadModule setenvif_module modules/mod_setenvif.so
        LoadModule env_module modules/mod_env.so
        LoadModule negotiation_module modules/mod_negotiation.so
        LoadModule filter_module modules/mod_filter.so
        LoadModule deflate_module modules/mod_deflate.so
        LoadModule headers_module modules/mod_headers.so
        LoadModule expires_module modules/mod_expires.so
        LoadModule rewrite_module modules/mod_rewrite.so
        LoadModule ssl_module modules/mod_ssl.so
        ServerName fuzz.example
        ErrorLog logs/error_log
        LogLevel debug
        TypesConfig /etc/mime.types
        AddType application/x-fuzz .fz
        AddCharset UTF-8 .txt
        KeepAlive On
        MaxKeepAliveRequests 4
        LimitRequestBody 8192
        LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
        LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
        CustomLog logs/access_log common
        CustomLog logs/combined_log combined
        DocumentRoot "\(root)/htdocs"
        DirectoryIndex index.html index.php
        <Directory "\(root)/htdocs">
            Options Indexes FollowSymLinks
            Require all granted
        </Directory>
        <Directory "\(root)/htdocs/private">
            Require all denied
        </Directory>
        <Directory "\(root)/htdocs/noslash">
            DirectorySlash Off
        </Directory>
        <Directory "\(root)/icons">
            Require ip 127.0.0.0/8 ::1
        </Directory>
        <Location "/local-only">
            Require local
        </Location>
        <Location "/not-local">
            <RequireAll>
                Require not ip 127.0.0.1
                Require all granted
            </RequireAll>
        </Location>
        <Location "/auth">
            AuthType Basic
            AuthName "fuzz"
            AuthUserFile "\(root)/htpasswd"
            <Limit POST PUT>
                Require valid-user
            </Limit>
        </Location>
        <Directory "\(root)/htdocs/multi">
            Options +MultiViews
        </Directory>
        <Directory "\(root)/htdocs/app">
            AllowOverride All
        </Directory>
        RewriteEngine On
        RewriteMap lower int:tolower
        RewriteMap esc int:escape
        RewriteRule ^/r/(.*)$ /a.txt?q=$1 [QSA,L]
        RewriteCond %{HTTP:X-Go} ^(\\d+)$
        RewriteRule ^/go/(.*)$ /x/${lower:$1}/%1?${esc:$1|none} [R=302,NE,CO=seen:%1:fuzz.example,E=GO:$1]
        RewriteCond %{QUERY_STRING} (^|&)n=([^&]*)
        RewriteRule ^/loop(.*)$ /loop$1x [N=20]
        RewriteRule ^/dirs/(.*)$ /list/$1 [PT]
        RewriteRule ^/forbidden - [F]
        SetEnvIfNoCase ^Authorization$ "(.+)" HTTP_AUTHORIZATION=$1
        BrowserMatch "Mozilla/2" nokeepalive downgrade-1.0 force-response-1.0
        SetEnv FUZZ_SITE 1
        AddOutputFilterByType DEFLATE text/html text/plain
        Header always set X-Fuzz "%{FUZZ_SITE}e %D"
        Header edit* Content-Type "(text)/(\\w+)" "$2/$1" env=FUZZ_SITE
        RequestHeader append X-Forwarded-For "%{REMOTE_ADDR}e"
        ExpiresActive On
        ExpiresByType text/html "access plus 1 hour"
        <If "%{QUERY_STRING} =~ /debug/ && -n %{HTTP:User-Agent}">
            Header set X-Debug "on"
        </If>
        <Location "/server-status">
            SetHandler server-status
        </Location>
        <FilesMatch "\\.php$">
            SetHandler "proxy:\(backend)"
        </FilesMatch>
        Alias "/icons/" "\(root)/icons/"
        AliasMatch "^/docs/(.*)$" "\(root)/htdocs/list/$1"
        Redirect "/old" "/dir/"
        Redirect permanent "/gone" "http://elsewhere.example/gone"
        RedirectMatch 410 "^/dead/"
        ErrorDocument 404 /errors/404.html
        ErrorDocument 403 "Forbidden, says the fuzz site"
        ErrorDocument 500 http://elsewhere.example/500
        ErrorDocument 502 /php/error
        ProxyPass "/php/" "\(backend)\(root)/htdocs/" timeout=2
        ProxyPass "/stream/" "\(backend)/" enablereuse=on flushpackets=on timeout=2
        # The TLS entry point's host (`TLSRun`): connections to port 443 are TLS.
        <VirtualHost 127.0.0.1:443>
            ServerName tls.fuzz.example
            SSLEngine on
            SSLCertificateFile "\(root)/tls.pem"
            SSLCertificateKeyFile "\(root)/tls.key"
            SSLOptions +StdEnvVars
        </VirtualHost>
        """
    }
}

/// Why the site could not be made.
struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
