import Foundation
import Glibc
import Testing
import SkepTestSupport

/// `.htaccess` files against Debian's Apache on the same tree: `AllowOverride` and its
/// classes, `Options=`, `Nonfatal=`, `AllowOverrideList`, `AccessFileName`, nesting,
/// `<Files>`, `<IfModule>` and `<LimitExcept>` inside one, what a file may not say (500
/// on both), a `.htaccess` that is a directory (403), a linked one, and Debian's
/// `<FilesMatch "^\.ht">` keeping the files themselves from clients.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct HtaccessDifferentialTests {
    typealias F = EngineFixture

    static let config = """
        AccessFileName .acl .htaccess
        <Directory "@DOCROOT@/none">
            AllowOverride None
        </Directory>
        <Directory "@DOCROOT@/all">
            AllowOverride All
        </Directory>
        <Directory "@DOCROOT@/auth">
            AllowOverride AuthConfig
        </Directory>
        <Directory "@DOCROOT@/opts">
            AllowOverride Options=Indexes,FollowSymLinks
        </Directory>
        <Directory "@DOCROOT@/nonfatal">
            AllowOverride AuthConfig Nonfatal=All
        </Directory>
        <Directory "@DOCROOT@/list">
            AllowOverrideList ForceType Redirect
        </Directory>
        <FilesMatch "^\\.ht">
            Require all denied
        </FilesMatch>
        """

    /// (directory under the docroot, its `.htaccess`); each directory also gets `a.txt`.
    static let files: [(String, String)] = [
        ("none", "Require all denied\n"),
        ("unset", "Require all denied\n"),
        ("all", "ForceType text/x-all\nErrorDocument 404 \"all-missing\n"),
        ("all/child", "ForceType text/x-child\n"),
        ("all/deny", "Require all denied\n"),
        ("all/files", "<Files secret.txt>\n    Require all denied\n</Files>\n"),
        ("all/ifmodule", "<IfModule mod_nonesuch.c>\nRequire all denied\n</IfModule>\n<IfModule mod_mime.c>\nForceType text/x-ifmodule\n</IfModule>\n"),
        ("all/limit", "<LimitExcept POST>\nRequire all denied\n</LimitExcept>\n"),
        ("all/unknown", "NoSuchDirective here\n"),
        ("all/include", "Include /etc/hostname\n"),
        ("all/section", "<Directory />\n</Directory>\n"),
        ("all/server", "DocumentRoot /tmp\n"),
        ("all/comments", "# only a comment\n\n   \n"),
        ("auth", "Options +Indexes\n"),
        ("auth/ok", "Require all denied\n"),
        ("opts", "Options +Indexes\n"),
        ("opts/cgi", "Options +ExecCGI\n"),
        ("nonfatal", "NoSuchThing at all\nForceType text/x-nonfatal\nRequire all granted\n"),
        ("list", "ForceType text/x-list\n"),
        ("list/deny", "Require all denied\n"),
    ]

    static func populate(_ root: TestServerRoot) throws {
        for (directory, text) in files {
            try root.writeDocument(directory + "/a.txt", "a file in \(directory)\n")
            try root.writeDocument(directory + "/.htaccess", text)
        }
        try root.writeDocument("none/a.txt", "not denied\n")
        // Where no AllowOverride was written, Apache reads the file and allows nothing.
        try root.writeDocument("unset/b.txt", "unset\n")
        try root.writeDocument("unset/sub/.htaccess", "# a comment is allowed\n")
        try root.writeDocument("unset/sub/c.txt", "comment only\n")
        try root.writeDocument("all/files/secret.txt", "secret\n")
        // The first of AccessFileName's names that exists is the one read.
        try root.writeDocument("all/acl/a.txt", "acl\n")
        try root.writeDocument("all/acl/.acl", "ForceType text/x-acl\n")
        try root.writeDocument("all/acl/.htaccess", "ForceType text/x-htaccess\n")
        // A `.htaccess` that is a directory: Apache cannot read it, and refuses.
        try root.writeDocument("all/isdir/a.txt", "isdir\n")
        _ = try root.makeDirectory("htdocs/all/isdir/.htaccess")
        // A linked `.htaccess`, as Debian ships DokuWiki's.
        try root.writeDocument("all/linked/a.txt", "linked\n")
        let target = try root.writeFile("elsewhere/linked.htaccess", "ForceType text/x-linked\n")
        #expect(symlink(target, root.docroot + "/all/linked/.htaccess") == 0)
    }

    /// (path, method) of every case; compared: status, Content-Type, body.
    static let cases: [(String, String)] = {
        var c = files.map { ("/\($0.0)/a.txt", "GET") }
        c += [("/unset/b.txt", "GET"), ("/unset/sub/c.txt", "GET"), ("/all/nope", "GET"), ("/all/files/secret.txt", "GET"), ("/all/acl/a.txt", "GET"),
              ("/all/isdir/a.txt", "GET"), ("/all/linked/a.txt", "GET"), ("/all/.htaccess", "GET"),
              ("/all/acl/.acl", "GET"), ("/opts/", "GET"), ("/all/limit/a.txt", "POST")]
        return c
    }()

    struct Shape: Equatable, CustomStringConvertible {
        var status: Int
        var type: String?
        var body: String

        init(_ response: HTTPResponse) {
            status = response.status
            type = response.header("Content-Type")
            // Error pages name the server; compare their status alone.
            body = response.status >= 400 && !response.bodyText.hasPrefix("all-missing") ? "" : response.bodyText
            // Autoindex pages differ in their details (dates, sizes, the title's slash,
            // the charset): compare that one was made.
            if response.bodyText.contains("<title>Index of ") {
                body = "an index"
                type = nil
            }
        }

        var description: String { "\(status) \(type ?? "-") \(body.debugDescription)" }
    }

    @Test func eachHtaccessAnswersAsApachesDoes() throws {
        try DifferentialTests.pair(extra: Self.config, setUp: { config in
            config.modules = F.commonModules + ["mime", "autoindex", "alias"]
            config.skepModules = config.modules
            try Self.populate(config.root)
        }) { skep, apache in
            for (path, method) in Self.cases {
                let s = Shape(try F.get(skep, path, method: method))
                let a = Shape(try F.get(apache, path, method: method))
                #expect(s == a, "\(method) \(path): skep \(s) / apache \(a)")
            }
            // What Apache logs as "file: message", Skep logs with the file's line.
            let log = try Deadline.waitForValue("skep's error log names the .htaccess lines") { () -> String? in
                let text = (try? String(contentsOfFile: skep.config.errorLog, encoding: .utf8)) ?? ""
                return text.contains("opts/cgi/.htaccess:1: Option ExecCGI not allowed here") ? text : nil
            }
            #expect(log.contains("/all/unknown/.htaccess:1: Invalid command 'NoSuchDirective', perhaps misspelled"))
            #expect(log.contains("/auth/.htaccess:1: Options not allowed here"))
            #expect(log.contains("/all/section/.htaccess:1: <Directory not allowed here"))
            #expect(log.contains("/all/include/.htaccess:1: Include not allowed here"))
            #expect(log.contains("/list/deny/.htaccess:1: Require not allowed here"))
            #expect(log.contains("AH00529: \(skep.config.root.docroot)/all/isdir/.htaccess pcfg_openfile"))
        }
    }
}

/// An edited, created or deleted `.htaccess` takes effect at the next request under every
/// MPM: in an event child too, where the walk's own cache and the listener's file lookups
/// are kept exact by inotify instead of a `stat` per request.
@Suite(.tags(.skepBinary), .timeLimit(.minutes(10)))
struct HtaccessFreshnessTests {
    typealias L = ListenerTestSupport
    typealias S = MPMTestSupport

    @Test(arguments: [MPM.prefork, .worker, .event])
    func anEditedHtaccessTakesEffectAtTheNextRequest(mpm: MPM) throws {
        var config = try S.config(mpm, L.sizing(mpm) + """

            <Directory "@DOCROOT@">
                AllowOverride FileInfo AuthConfig
            </Directory>
            """)
        config.modules += ["mime"]
        config.skepModules = config.modules
        let docroot = config.root.docroot
        try config.root.writeDocument("deep/er/page.txt", "page\n")
        try withServer(.skep, config: config) { server in
            let fetcher = KeepAliveFetcher(port: server.port)
            func expect(_ type: String?, status: Int = 200, _ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
                for time in ["", " (again)"] {
                    let response = try fetcher.get("/deep/er/page.txt")
                    #expect(response.status == status && (status != 200 || response.header("Content-Type") == type),
                            "\(mpm), \(step)\(time): \(response.status) \(response.header("Content-Type") ?? "-")",
                            sourceLocation: sourceLocation)
                }
            }
            try expect("text/plain", "no .htaccess")
            try L.create(docroot + "/deep/.htaccess", "ForceType text/x-aaa\n")
            try expect("text/x-aaa", "a .htaccess created above the file")
            try L.rewriteInPlace(docroot + "/deep/.htaccess", "ForceType text/x-bbb\n")
            try expect("text/x-bbb", "rewritten in place, same size")
            try L.create(docroot + "/deep/er/.htaccess", "ForceType text/x-ccc\n")
            try expect("text/x-ccc", "a deeper one created")
            try L.rewriteInPlace(docroot + "/deep/er/.htaccess", "Require all denied\n")
            try expect(nil, status: 403, "the deeper one now refuses")
            try L.rewriteInPlace(docroot + "/deep/er/.htaccess", "Options +Indexes\n")
            try expect(nil, status: 500, "the deeper one now says what it may not")
            try L.remove(docroot + "/deep/er/.htaccess")
            try expect("text/x-bbb", "the deeper one deleted")
            try L.create(docroot + "/.tmp", "ForceType text/x-ddd\n")
            try L.rename(docroot + "/.tmp", docroot + "/deep/.htaccess")
            try expect("text/x-ddd", "replaced by a rename")
            try L.remove(docroot + "/deep/.htaccess")
            try expect("text/plain", "all deleted")
        }
    }
}
