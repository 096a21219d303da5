import Foundation
import Glibc
import Testing

/// What the application tests share: Debian's modules and directory defaults, PHP through
/// Debian's `php8.2-fpm` Apache config (pointed at a private php-fpm), and running the
/// same steps against Apache, then skep under each MPM, comparing what each step saw.
enum PHPApplication {
    /// The modules of a Debian Apache with `a2enmod rewrite proxy_fcgi` done: the ones
    /// apache2's postinst enables (`DebianTree.postinstModules`, without the MPM, which
    /// the config adds), the ones they depend on (authn_core, authz_core, proxy), and
    /// log_config (built into Debian's binary; its LoadModule is guarded).
    static let modules: [String] = ["log_config", "authz_core", "authn_core"]
        + DebianTree.postinstModules.filter { !$0.hasPrefix("mpm_") } + ["rewrite", "proxy", "proxy_fcgi"]

    /// The servers, in order: Apache first (its observations are the reference), then skep
    /// under the three MPMs. The application's answers do not depend on Apache's MPM, so
    /// Apache runs once, with event.
    static var servers: [(kind: ServerKind, mpm: MPM)] {
        [(.apache, .event)] + MPM.allCases.map { (.skep, $0) }
    }

    /// Whether Apache, php-fpm and Debian's php-fpm Apache config are here.
    static var isAvailable: Bool { Oracle.isAvailable && PHPFPM.isAvailable && debianPHPFPMConfPath != nil }

    /// Debian's `conf-available/phpX.Y-fpm.conf` (the one `a2enconf php8.2-fpm` enables),
    /// the newest when several PHP versions are installed.
    static var debianPHPFPMConfPath: String? {
        let directory = "/etc/apache2/conf-available"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("php") && $0.hasSuffix("-fpm.conf") }.sorted()
        return names.last.map { directory + "/" + $0 }
    }

    /// Debian's php-fpm Apache config, unchanged but for its socket (`/run/php/phpX.Y-fpm.sock`),
    /// which becomes the private php-fpm's: `<FilesMatch ".+\.ph(?:ar|p|tml)$"> SetHandler
    /// "proxy:unix:SOCK|fcgi://localhost"`, the Authorization header passed, `.phps` denied.
    static func phpFPMConf(socket: String) throws -> String {
        guard let path = debianPHPFPMConfPath else { throw HarnessError("no /etc/apache2/conf-available/php*-fpm.conf") }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var changed = ""
        var rest = text[...]
        // "/run/php/php8.2-fpm.sock" (any version): up to the `|` of `proxy:unix:...|fcgi://`.
        while let start = rest.range(of: "proxy:unix:") {
            changed += rest[..<start.upperBound]
            rest = rest[start.upperBound...]
            guard let bar = rest.firstIndex(of: "|") else { break }
            changed += socket
            rest = rest[bar...]
        }
        changed += rest
        guard changed != text else { throw HarnessError("\(path) has no proxy:unix: socket to point at the test's php-fpm") }
        return changed
    }

    /// Debian's apache2.conf directory defaults, with /usr/share standing for `share`
    /// (the copy's /usr/share): nothing outside granted, no `.htaccess` read unless a
    /// snippet allows it, `.ht*` files refused.
    static func debianDefaults(share: String) -> String {
        """
        <Directory />
            Options FollowSymLinks
            AllowOverride None
            Require all denied
        </Directory>
        <Directory "\(share)">
            AllowOverride None
            Require all granted
        </Directory>
        AccessFileName .htaccess
        <FilesMatch "^\\.ht">
            Require all denied
        </FilesMatch>
        """
    }

    /// Starts `kind` under `mpm` with the application config (`extra`: the snippet's
    /// `Include` and the like, after Debian's defaults and the php-fpm config), runs
    /// `body` with it, always stops it. `documentRoot` replaces the ServerRoot's htdocs.
    @discardableResult
    static func run<R>(
        _ kind: ServerKind, mpm: MPM, fpm: PHPFPM, share: String, documentRoot: String? = nil, extra: String,
        _ body: (ServerProcess) throws -> R
    ) throws -> R {
        var config = try TestConfig(mpm: mpm)
        config.modules = modules
        config.skepModules = modules
        config.documentRoot = documentRoot
        do {
            let fpmConf = try config.root.writeFile("conf/php-fpm.conf", phpFPMConf(socket: fpm.socketPath))
            config.extra = debianDefaults(share: share) + "\nInclude \"\(fpmConf)\"\n" + extra
        } catch {
            config.root.remove()
            throw error
        }
        return try withServer(kind, config: config, body)
    }

    /// Runs `steps` (start the server of the given kind and MPM, take the application's
    /// steps, return what each saw) for every server of `servers`, Apache first, and
    /// expects every later server's observations to equal Apache's, step by step.
    static func differential(_ application: String, steps: (ServerKind, MPM) throws -> [PageObservation]) throws {
        var reference: [PageObservation]? = nil
        for (kind, mpm) in servers {
            guard let reference else {
                reference = try steps(kind, mpm)
                continue
            }
            // A server that fails to start or to answer is recorded, and the next MPM
            // still runs: each MPM's result is worth seeing.
            let seen: [PageObservation]
            do {
                seen = try steps(kind, mpm)
            } catch {
                Issue.record(error, "\(application) on \(kind) \(mpm)")
                continue
            }
            #expect(seen.map(\.step) == reference.map(\.step), "\(application) on \(kind) \(mpm): other steps than Apache's")
            for (got, want) in zip(seen, reference) {
                #expect(got == want, "\(application) on \(kind) \(mpm) differs from Apache:\n  skep:   \(got)\n  Apache: \(want)")
            }
        }
    }
}
