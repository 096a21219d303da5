import Foundation
import Testing

/// WordPress from Debian's `wordpress` package, run end to end through a private php-fpm
/// and a private MariaDB: the installer, pretty permalinks through WordPress's standard
/// `.htaccess` block, the first post at `/hello-world/`, the REST API at `/wp-json/`, and
/// logging in to the dashboard. Apache runs first (the oracle); skep, under each MPM, must
/// see the same status, `Location` and `<title>` at every step.
@Suite(.serialized, .tags(.applications, .apache, .phpFPM), .timeLimit(.minutes(10)),
       .enabled(if: PHPApplication.isAvailable && WordPressSite.isInstalled && MariaDB.isAvailable,
                "needs apache2, php-fpm, wordpress and mariadb-server"))
struct WordPressTests {
    @Test func installPermalinksRESTAndLogin() throws {
        let site = try WordPressSite()
        defer { site.copy.remove() }
        try MariaDB.with { db in
            try PHPFPM.with { fpm in
                try PHPApplication.differential("WordPress") { kind, mpm in
                    // One database (and one Debian config-NAME.php) per server: the site's
                    // URL, with the server's port, is in it.
                    let name = "\(kind)-\(mpm)".lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" }
                    let database = "wp_" + name.replacingOccurrences(of: "-", with: "_")
                    try db.createDatabase(database, user: database, password: "pw-" + name)
                    try site.writeConfig(name: name, database: database, password: "pw-" + name, socket: db.socketPath)
                    return try PHPApplication.run(kind, mpm: mpm, fpm: fpm, share: site.copy.copy(of: "/usr/share"),
                                                  documentRoot: site.root, extra: site.apacheConfig(configName: name)) { server in
                        try WordPressSteps(steps: StepRecorder(port: server.port, label: "\(kind) \(mpm)"),
                                           db: db, database: database).run()
                    }
                }
            }
        }
    }
}

/// Debian's WordPress (/usr/share/wordpress, /etc/wordpress, /var/lib/wordpress) copied into a
/// temporary directory, changed as README.Debian and WordPress's docs say: Debian's
/// wp-config.php with its paths pointed at the copy; a config-NAME.php per server in the
/// copy's /etc/wordpress (chosen with `SetEnv WORDPRESS_CONFIG NAME`, README.Debian's
/// mechanism); and WordPress's standard rewrite block added to the shipped `.htaccess` (a
/// LINK to /etc/wordpress/htaccess, kept a link to the copy), as WordPress writes it when
/// pretty permalinks are chosen.
final class WordPressSite {
    static let systemPaths = ["/usr/share/wordpress", "/etc/wordpress", "/var/lib/wordpress"]
    static var isInstalled: Bool { systemPaths.allSatisfy { FileManager.default.fileExists(atPath: $0) } }

    static let title = "Skep Blog"
    static let user = "skep"
    static let password = "skep-test-password"

    /// The block WordPress writes into `.htaccess` for pretty permalinks
    /// (`WP_Rewrite::mod_rewrite_rules()`, between its `# BEGIN WordPress` markers).
    static let standardRules = """

        # BEGIN WordPress
        <IfModule mod_rewrite.c>
        RewriteEngine On
        RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
        RewriteBase /
        RewriteRule ^index\\.php$ - [L]
        RewriteCond %{REQUEST_FILENAME} !-f
        RewriteCond %{REQUEST_FILENAME} !-d
        RewriteRule . /index.php [L]
        </IfModule>
        # END WordPress

        """

    let copy: HermeticCopy
    /// The DocumentRoot: the copy of /usr/share/wordpress.
    var root: String { copy.copy(of: "/usr/share/wordpress") }

    init() throws {
        copy = try HermeticCopy(Self.systemPaths, prefix: "skep-wordpress")
        do {
            try copy.rewritePaths(in: "/usr/share/wordpress/wp-config.php")
            try copy.edit(root + "/.htaccess") { $0 + Self.standardRules }
        } catch {
            copy.remove()
            throw error
        }
    }

    /// Writes the copy's /etc/wordpress/config-NAME.php, in the shape of Debian's
    /// examples/config-default.php: the database on the private MariaDB's socket.
    func writeConfig(name: String, database: String, password: String, socket: String) throws {
        let keys = ["AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
                    "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"]
        let text = """
            <?php
            /* Written by SkepEndToEndTests (WordPressTests) for the server \(name). */
            define('DB_NAME', '\(database)');
            define('DB_USER', '\(database)');
            define('DB_PASSWORD', '\(password)');
            define('DB_HOST', 'localhost:\(socket)');
            define('DB_CHARSET', 'utf8');
            define('DB_COLLATE', '');
            \(keys.map { "define('\($0)', 'skep-test-\($0.lowercased())-\(name)');" }.joined(separator: "\n"))
            $table_prefix = 'wp_';
            define('WP_DEBUG', false);

            """
        let path = copy.copy(of: "/etc/wordpress/config-\(name).php")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
    }

    /// README.Debian's recipe for a site at the root ("A defined Virtual host", in the main
    /// server), with `AllowOverride All` (its "Tips" for permalinks) and the config chosen
    /// by name.
    func apacheConfig(configName: String) -> String {
        let content = copy.copy(of: "/var/lib/wordpress/wp-content")
        return """
            SetEnv WORDPRESS_CONFIG \(configName)
            DirectoryIndex index.php index.html
            Alias /wp-content "\(content)"
            <Directory "\(root)">
                Options FollowSymLinks
                AllowOverride All
                Require all granted
            </Directory>
            <Directory "\(content)">
                Options FollowSymLinks
                Require all granted
            </Directory>

            """
    }
}

/// The steps of one WordPress run against one server; each records what it saw.
struct WordPressSteps {
    let steps: StepRecorder
    let db: MariaDB
    let database: String
    var label: String { steps.label }
    var web: WebSession { steps.web }

    func run() throws -> [PageObservation] {
        try install()
        try prettyPermalinks()
        try restAPI()
        try logIn()
        return steps.seen
    }

    /// A new site sends `/` to the installer; step 2 of install.php creates the site.
    private func install() throws {
        let first = try steps.get("new site", "/")
        #expect(first.status == 302 && first.location?.hasSuffix("/wp-admin/install.php") == true,
                "\(label): \(first.observation("")) \(first.body.prefix(300))")
        let form = try steps.get("installer form", "/wp-admin/install.php?step=1")
        #expect(form.status == 200 && form.inputValue("weblog_title") != nil, "\(label): \(form.observation(""))")
        let done = try steps.post("installer step 2", "/wp-admin/install.php?step=2", [
            ("weblog_title", WordPressSite.title), ("user_name", WordPressSite.user),
            ("admin_password", WordPressSite.password), ("admin_password2", WordPressSite.password), ("pw_weak", "on"),
            ("admin_email", "skep@example.com"), ("blog_public", "0"), ("language", ""), ("Submit", "Install WordPress"),
        ])
        #expect(done.status == 200 && done.body.contains("Success!"), "\(label): install: \(done.observation("")) \(done.body.prefix(500))")
    }

    /// `/%postname%/` permalinks (set in the database, as the Permalinks page would, with
    /// the rules it caches dropped); posts and pages reached through the `.htaccess` rules;
    /// WordPress's own canonical redirects and 404 page.
    private func prettyPermalinks() throws {
        try db.execute("""
            UPDATE wp_options SET option_value = '/%postname%/' WHERE option_name = 'permalink_structure';
            DELETE FROM wp_options WHERE option_name = 'rewrite_rules';
            """, database: database)
        let home = try steps.get("home", "/")
        #expect(home.status == 200 && home.title?.contains(WordPressSite.title) == true, "\(label): \(home.observation(""))")
        let post = try steps.get("post", "/hello-world/")
        #expect(post.status == 200 && post.title?.contains("Hello world!") == true, "\(label): \(post.observation(""))")
        #expect(post.body.contains("Welcome to WordPress"), "\(label): /hello-world/ is not the post")
        let page = try steps.get("page", "/sample-page/")
        #expect(page.status == 200 && page.title?.contains("Sample Page") == true, "\(label): \(page.observation(""))")
        for (step, path) in [("no slash", "/hello-world"), ("plain link", "/?p=1")] {
            let moved = try steps.get(step, path)
            #expect(moved.status == 301 && moved.location?.hasSuffix("/hello-world/") == true, "\(label): \(path): \(moved.observation(""))")
        }
        let missing = try steps.get("missing", "/no-such-post/")
        #expect(missing.status == 404 && missing.title?.contains(WordPressSite.title) == true,
                "\(label): WordPress's 404 page: \(missing.observation(""))")
        let htaccess = try steps.get("refused .htaccess", "/.htaccess")
        #expect(htaccess.status == 403, "\(label): \(htaccess.observation(""))")
    }

    /// `/wp-json/` (rewritten to index.php, which routes it) answers with the site's
    /// index; a route below it lists the post.
    private func restAPI() throws {
        let index = try steps.get("REST index", "/wp-json/")
        let site = try? JSONSerialization.jsonObject(with: Data(index.bytes)) as? [String: Any]
        #expect(index.status == 200 && site?["name"] as? String == WordPressSite.title,
                "\(label): /wp-json/: \(index.observation("")) \(index.body.prefix(300))")
        let posts = try steps.get("REST posts", "/wp-json/wp/v2/posts")
        let list = try? JSONSerialization.jsonObject(with: Data(posts.bytes)) as? [[String: Any]]
        #expect(posts.status == 200 && list?.contains { $0["slug"] as? String == "hello-world" } == true,
                "\(label): /wp-json/wp/v2/posts: \(posts.observation("")) \(posts.body.prefix(300))")
    }

    /// wp-login.php sets its test cookie; the POST (with `testcookie=1`) logs in and
    /// redirects to wp-admin/, which shows the dashboard.
    private func logIn() throws {
        let form = try steps.get("login form", "/wp-login.php")
        #expect(form.status == 200 && form.result.headers.contains { $0.name.lowercased() == "set-cookie" && $0.value.contains("wordpress_test_cookie") },
                "\(label): \(form.observation(""))")
        let login = try steps.post("log in", "/wp-login.php", [
            ("log", WordPressSite.user), ("pwd", WordPressSite.password), ("wp-submit", "Log In"),
            ("redirect_to", web.base + "/wp-admin/"), ("testcookie", "1"),
        ])
        #expect(login.status == 302 && login.location?.hasSuffix("/wp-admin/") == true, "\(label): \(login.observation(""))")
        let dashboard = try steps.get("dashboard", "/wp-admin/")
        #expect(dashboard.status == 200 && dashboard.title?.contains("Dashboard") == true, "\(label): \(dashboard.observation(""))")
    }
}
