import Foundation
import Glibc
import Testing

/// DokuWiki from Debian's `dokuwiki` package, run end to end through a private php-fpm:
/// its pretty URLs through its own rewrite rules, a page created and edited through its
/// real edit form (logged in, with its CSRF token), its protected paths, and its media
/// fetches. Apache runs first (the oracle); skep, under each MPM, must see the same status,
/// `Location` and `<title>` at every step.
@Suite(.serialized, .tags(.applications, .apache, .phpFPM), .timeLimit(.minutes(10)),
       .enabled(if: PHPApplication.isAvailable && DokuWikiSite.isInstalled,
                "needs apache2, php-fpm and dokuwiki"))
struct DokuWikiTests {
    @Test func prettyURLsEditingProtectionsAndMedia() throws {
        try PHPFPM.with { fpm in
            try PHPApplication.differential("DokuWiki") { kind, mpm in
                // A fresh copy for each server: each creates the same page.
                let site = try DokuWikiSite()
                defer { site.copy.remove() }
                return try PHPApplication.run(kind, mpm: mpm, fpm: fpm, share: site.copy.copy(of: "/usr/share"),
                                              extra: "Include \"\(site.copy.copy(of: "/etc/dokuwiki/apache.conf"))\"\n") { server in
                    try DokuWikiSteps(site: site, steps: StepRecorder(port: server.port, label: "\(kind) \(mpm)")).run()
                }
            }
        }
    }
}

/// Debian's DokuWiki (/usr/share/dokuwiki, /etc/dokuwiki, /var/lib/dokuwiki) copied into a
/// temporary directory, changed only as a user following DokuWiki's and Debian's docs would:
/// paths pointed at the copy (preload.php's DOKU_MAIN_CONF, dokuwiki.php's savedir, the
/// Apache snippet); the rewrite rules of the shipped `.htaccess` (a LINK into /etc/dokuwiki,
/// kept a link to the copy) uncommented, with its `RewriteBase /dokuwiki`, and
/// `$conf['userewrite'] = 1` in local.php (DokuWiki's config:userewrite page); and a user
/// for the test, as the admin would add one.
final class DokuWikiSite {
    static let systemPaths = ["/usr/share/dokuwiki", "/etc/dokuwiki", "/var/lib/dokuwiki"]
    /// Installed, and readable here: the data and acl directories are www-data's, 0700, so
    /// copying them takes root (as the tests run in CI).
    static var isInstalled: Bool {
        (systemPaths + ["/etc/dokuwiki/apache.conf"]).allSatisfy { FileManager.default.fileExists(atPath: $0) }
            && ["/var/lib/dokuwiki/data", "/var/lib/dokuwiki/acl"].allSatisfy { (path: String) in access(path, R_OK | X_OK) == 0 }
    }

    static let user = "skep"
    static let password = "skep-test-password"
    /// `password_hash("skep-test-password", PASSWORD_BCRYPT)`: DokuWiki's plain auth
    /// accepts bcrypt hashes in users.auth.php.
    static let passwordHash = "$2y$10$cvPVih6Wi4sIGtKRl2mzHOV8FPGNyNpm1IDl57wADeaDtoTVuRuDu"

    let copy: HermeticCopy

    init() throws {
        copy = try HermeticCopy(Self.systemPaths, prefix: "skep-dokuwiki")
        do {
            try copy.rewritePaths(in: "/usr/share/dokuwiki/inc/preload.php")
            try copy.rewritePaths(in: "/etc/dokuwiki/dokuwiki.php")
            try copy.rewritePaths(in: "/etc/dokuwiki/apache.conf")
            try copy.edit(copy.copy(of: "/usr/share/dokuwiki/.htaccess"), Self.enablingRewriteRules)
            try copy.edit(copy.copy(of: "/etc/dokuwiki/local.php")) { $0 + "\n$conf['userewrite'] = 1;\n" }
            try copy.edit(copy.copy(of: "/etc/dokuwiki/users.auth.php")) {
                $0 + "\(Self.user):\(Self.passwordHash):Skep Test:skep@localhost:user\n"
            }
        } catch {
            copy.remove()
            throw error
        }
    }

    /// Debian's `.htaccess` with its commented-out `Rewrite*` lines enabled, except the
    /// two that force HTTPS for XML-RPC (that interface is off, and the tests have no TLS).
    static func enablingRewriteRules(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            guard line.hasPrefix("#Rewrite"), !line.contains("HTTPS"), !line.contains("xmlrpc") else { return String(line) }
            return String(line.dropFirst())
        }.joined(separator: "\n")
    }

    /// A file of the copy, as bytes.
    func bytes(_ systemPath: String) -> [UInt8] {
        FileManager.default.contents(atPath: copy.copy(of: systemPath)).map { [UInt8]($0) } ?? []
    }
}

/// The steps of one DokuWiki run against one server; each records what it saw.
struct DokuWikiSteps {
    let site: DokuWikiSite
    let steps: StepRecorder
    var label: String { steps.label }

    func run() throws -> [PageObservation] {
        try prettyURLs()
        try createAndEditPage()
        try protectedPaths()
        try media()
        return steps.seen
    }

    /// `/dokuwiki/ID` reaches the page that `doku.php?id=ID` shows, through the
    /// `.htaccess` rules (the last, `(.*) doku.php?id=$1`, behind `!-f` and `!-d`); `^$`
    /// sends the wiki's root to doku.php; `_export/raw/ID` the page's source.
    private func prettyURLs() throws {
        let root = try steps.get("wiki root", "/dokuwiki/")
        #expect(root.status == 200 && root.title?.contains("start") == true, "\(label): /dokuwiki/: \(root.observation(""))")
        let pretty = try steps.get("pretty URL", "/dokuwiki/wiki:syntax")
        let plain = try steps.get("doku.php URL", "/dokuwiki/doku.php?id=wiki:syntax")
        #expect(pretty.status == 200 && plain.status == 200, "\(label): \(pretty.observation("pretty")) \(plain.observation("plain"))")
        #expect(pretty.title != nil && pretty.title == plain.title && pretty.title?.contains("wiki:syntax") == true,
                "\(label): \(pretty.title ?? "no title") vs \(plain.title ?? "no title")")
        let raw = try steps.get("export raw", "/dokuwiki/_export/raw/wiki:syntax")
        #expect(raw.status == 200 && raw.bytes == site.bytes("/var/lib/dokuwiki/data/pages/wiki/syntax.txt"),
                "\(label): _export/raw: \(raw.observation("")) \(raw.body.prefix(200))")
    }

    /// Logs in through the login form, creates a page through the edit form (with the
    /// form's `sectok`, DokuWiki's CSRF token, and the session cookie), reads it back, then
    /// edits it and reads the change.
    private func createAndEditPage() throws {
        let loginForm = try steps.get("login form", "/dokuwiki/start?do=login")
        let loginFields = loginForm.hiddenFields(formID: "dw__login")
        #expect(loginFields.contains { $0.name == "sectok" }, "\(label): no login form: \(loginForm.body.prefix(300))")
        let login = try steps.post("log in", "/dokuwiki/start", loginFields + [("u", DokuWikiSite.user), ("p", DokuWikiSite.password)])
        #expect(login.status == 302, "\(label): login: \(login.observation(""))")
        for (text, summary) in [("created by the test: skep-marker-one", "created"),
                                ("edited by the test: skep-marker-two", "edited")] {
            let form = try steps.get("edit form (\(summary))", "/dokuwiki/playground:skep?do=edit")
            let fields = form.hiddenFields(formID: "dw__editform")
            let token = fields.first { $0.name == "sectok" }?.value ?? ""
            #expect(!token.isEmpty, "\(label): the edit form has no sectok (not logged in?): \(form.observation(""))")
            let saved = try steps.post("save (\(summary))", "/dokuwiki/playground:skep?do=edit",
                                 fields + [("wikitext", "====== Skep ======\n\n\(text)\n"), ("summary", summary), ("do[save]", "1")])
            #expect(saved.status == 302, "\(label): save: \(saved.observation(""))")
            let page = try steps.get("page after save (\(summary))", "/dokuwiki/playground:skep")
            #expect(page.status == 200 && page.body.contains(text), "\(label): the saved text is not on the page (\(summary))")
        }
    }

    /// What the `.htaccess` files of inc/, bin/, vendor/ and the top directory, and
    /// Debian's snippet, refuse; conf/ and data/ are outside the web tree in Debian's
    /// layout (they reach doku.php as page names): their files must not be served.
    private func protectedPaths() throws {
        for path in ["/dokuwiki/inc/", "/dokuwiki/inc/init.php", "/dokuwiki/bin/dwpage.php", "/dokuwiki/vendor/autoload.php",
                     "/dokuwiki/.htaccess", "/dokuwiki/VERSION", "/dokuwiki/.git/config"] {
            let page = try steps.get("refused \(path)", path)
            #expect((400..<500).contains(page.status ?? 0), "\(label): \(path) was not refused: \(page.observation(""))")
        }
        let syntax = String(decoding: site.bytes("/var/lib/dokuwiki/data/pages/wiki/syntax.txt").prefix(40), as: UTF8.self)
        for (path, secret) in [("/dokuwiki/data/pages/wiki/syntax.txt", syntax),
                               ("/dokuwiki/conf/local.php", "$conf['"),
                               ("/dokuwiki/conf/users.auth.php", DokuWikiSite.passwordHash)] {
            let page = try steps.get("not served \(path)", path)
            #expect(!page.body.contains(secret), "\(label): \(path) served the file")
        }
    }

    /// lib/exe/fetch.php sends a media file; `_media/` reaches it through the rewrite
    /// rules; the template's images are static files behind the lib/tpl link.
    private func media() throws {
        let image = site.bytes("/var/lib/dokuwiki/data/media/wiki/dokuwiki-128.png")
        for path in ["/dokuwiki/lib/exe/fetch.php?media=wiki:dokuwiki-128.png", "/dokuwiki/_media/wiki:dokuwiki-128.png"] {
            let page = try steps.get("media \(path)", path)
            #expect(page.status == 200 && !image.isEmpty && page.bytes == image, "\(label): \(path): \(page.observation(""))")
        }
        let detail = try steps.get("media detail", "/dokuwiki/_detail/wiki:dokuwiki-128.png")
        #expect(detail.status == 200 && detail.title?.contains("dokuwiki-128.png") == true, "\(label): \(detail.observation(""))")
        let logo = try steps.get("template image", "/dokuwiki/lib/tpl/dokuwiki/images/logo.png")
        #expect(logo.status == 200 && logo.bytes == site.bytes("/var/lib/dokuwiki/lib/tpl/dokuwiki/images/logo.png"),
                "\(label): \(logo.observation(""))")
    }
}
