import Foundation
import Testing

/// phpMyAdmin from Debian's `phpmyadmin` package (installed with no dbconfig and no web
/// server reconfiguration: .ci/debconf), run through a private php-fpm: its Debian Apache
/// snippet (/etc/phpmyadmin/apache.conf) loads, its login page renders, the snippet's
/// protections of `libraries/` and `templates/` hold, and `setup/` is not served. Apache
/// runs first (the oracle); skep, under each MPM, must see the same status, `Location` and
/// `<title>` at every step.
@Suite(.serialized, .tags(.applications, .apache, .phpFPM), .timeLimit(.minutes(10)),
       .enabled(if: PHPApplication.isAvailable && PhpMyAdminSite.isInstalled, "needs apache2, php-fpm and phpmyadmin"))
struct PhpMyAdminTests {
    @Test func snippetLoginPageAndProtections() throws {
        let site = try PhpMyAdminSite()
        defer { site.copy.remove() }
        try PHPFPM.with { fpm in
            try PHPApplication.differential("phpMyAdmin") { kind, mpm in
                try PHPApplication.run(kind, mpm: mpm, fpm: fpm, share: site.copy.copy(of: "/usr/share"),
                                       extra: "Include \"\(site.copy.copy(of: "/etc/phpmyadmin/apache.conf"))\"\n") { server in
                    try PhpMyAdminSteps.run(StepRecorder(port: server.port, label: "\(kind) \(mpm)"))
                }
            }
        }
    }
}

/// Debian's phpMyAdmin (/usr/share/phpmyadmin, /etc/phpmyadmin, /var/lib/phpmyadmin) copied
/// into a temporary directory with its paths pointed at the copy (vendor_config.php's
/// config file and temp directory, where it caches compiled templates; config.inc.php's
/// includes; the Apache snippet), nothing else changed.
final class PhpMyAdminSite {
    static let systemPaths = ["/usr/share/phpmyadmin", "/etc/phpmyadmin", "/var/lib/phpmyadmin"]
    static var isInstalled: Bool {
        (systemPaths + ["/etc/phpmyadmin/apache.conf"]).allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    let copy: HermeticCopy

    init() throws {
        copy = try HermeticCopy(Self.systemPaths, prefix: "skep-phpmyadmin")
        do {
            for file in ["/usr/share/phpmyadmin/libraries/vendor_config.php", "/etc/phpmyadmin/config.inc.php",
                         "/etc/phpmyadmin/apache.conf"] {
                try copy.rewritePaths(in: file)
            }
        } catch {
            copy.remove()
            throw error
        }
    }
}

/// The steps of one phpMyAdmin run against one server.
enum PhpMyAdminSteps {
    static func run(_ steps: StepRecorder) throws -> [PageObservation] {
        let label = steps.label
        // The Alias without its slash: mod_dir's redirect to the directory.
        let bare = try steps.get("alias without slash", "/phpmyadmin")
        #expect(bare.status == 301 && bare.location?.hasSuffix("/phpmyadmin/") == true, "\(label): \(bare.observation(""))")
        // DirectoryIndex index.php, run by php-fpm: the cookie login form.
        for path in ["/phpmyadmin/", "/phpmyadmin/index.php"] {
            let login = try steps.get("login page \(path)", path)
            #expect(login.status == 200 && login.title?.contains("phpMyAdmin") == true
                        && login.inputValue("pma_username") != nil && login.body.contains("name=\"pma_password\""),
                    "\(label): \(path): \(login.observation("")) \(login.body.prefix(300))")
        }
        // The snippet's `<Directory .../libraries>` and `templates` refusals.
        for path in ["/phpmyadmin/libraries/", "/phpmyadmin/libraries/vendor_config.php",
                     "/phpmyadmin/templates/", "/phpmyadmin/templates/login/form.twig"] {
            let page = try steps.get("refused \(path)", path)
            #expect(page.status == 403, "\(label): \(path): \(page.observation(""))")
        }
        // Debian ships no setup/ (its setup script is not installed): nothing there is served.
        for path in ["/phpmyadmin/setup/", "/phpmyadmin/setup/index.php"] {
            let page = try steps.get("no setup \(path)", path)
            #expect((400..<500).contains(page.status ?? 0), "\(label): \(path): \(page.observation(""))")
        }
        // A static file, and the documentation behind Debian's doc/html link (the snippet's
        // `Options SymLinksIfOwnerMatch`: link and target are both root's).
        let robots = try steps.get("static file", "/phpmyadmin/robots.txt")
        #expect(robots.status == 200, "\(label): \(robots.observation(""))")
        // (Only where the package's documentation was installed: a minimal image may drop
        // /usr/share/doc.)
        if FileManager.default.fileExists(atPath: "/usr/share/doc/phpmyadmin/html/index.html") {
            let docs = try steps.get("documentation link", "/phpmyadmin/doc/html/index.html")
            #expect(docs.status == 200 && docs.title?.contains("phpMyAdmin") == true, "\(label): \(docs.observation(""))")
        }
        return steps.seen
    }
}
