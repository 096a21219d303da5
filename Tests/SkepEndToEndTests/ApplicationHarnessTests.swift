import Foundation
import Glibc
import Testing

/// Tests of the application tests' harness: the hermetic copies of a package's trees
/// (links kept, pointed at the copy, the system's files untouched), the HTML reading of
/// forms and titles, and Debian's php-fpm config pointed at a test's socket.
@Suite(.tags(.harness), .timeLimit(.minutes(10)))
struct ApplicationHarnessTests {
    @Test(.enabled(if: DokuWikiSite.isInstalled, "needs dokuwiki"))
    func copiesKeepLinksPointedAtTheCopy() throws {
        // Debian's /etc/dokuwiki/users.auth.php is a link into /var/lib/dokuwiki/acl.
        let systemLink = try FileManager.default.destinationOfSymbolicLink(atPath: "/etc/dokuwiki/users.auth.php")
        let copy = try HermeticCopy(["/etc/dokuwiki", "/var/lib/dokuwiki/acl"])
        defer { copy.remove() }
        // It stays a link, to the copy of its target.
        let link = copy.copy(of: "/etc/dokuwiki/users.auth.php")
        var info = stat()
        #expect(lstat(link, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == copy.copy(of: systemLink))
        // Editing through the link changes the copy, never the system's file.
        let before = try String(contentsOfFile: systemLink, encoding: .utf8)
        try copy.edit(link) { $0 + "# edited by the test\n" }
        #expect(try String(contentsOfFile: systemLink, encoding: .utf8) == before)
        #expect(try String(contentsOfFile: copy.copy(of: systemLink), encoding: .utf8) == before + "# edited by the test\n")
        // A path rewrite is one pass: the copy's path, which contains the system path, is
        // not rewritten again.
        let text = "include /etc/dokuwiki/x.php and /var/lib/dokuwiki/acl/y, not /var/lib/dokuwiki/data"
        #expect(copy.rewritingPaths(text)
                    == "include \(copy.root)/etc/dokuwiki/x.php and \(copy.root)/var/lib/dokuwiki/acl/y, not /var/lib/dokuwiki/data")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/wordpress/wp-includes/ID3"), "needs wordpress"))
    func relativeLinksOutOfTheCopyPointAtTheSystem() throws {
        // wp-includes/ID3 links to ../../../php/getid3/... (Debian's php-getid3).
        let copy = try HermeticCopy(["/usr/share/wordpress/wp-includes/ID3"])
        defer { copy.remove() }
        let found = try Subprocess.run("/usr/bin/find", [copy.root, "-type", "l", "-print0"], timeout: .seconds(30))
        let links = found.stdout.split(separator: "\0").map(String.init)
        #expect(!links.isEmpty)
        for link in links {
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: link)
            // Every link resolves: relative ones that left the copy were made absolute.
            #expect(access(link, F_OK) == 0, "\(link) -> \(target) is dangling")
            #expect(target.hasPrefix("/usr/share/php/"), "\(link) -> \(target)")
        }
    }

    @Test func formsTitlesAndNeutralLocations() throws {
        let html = """
            <html><head><title>
              Log In &lsaquo; Blog
            </title></head><body>
            <form action="/x" id="other"><input type="hidden" name="sectok" value="wrong" /></form>
            <form id="dw__editform" method="post"><input type="hidden" name="sectok" value="a&amp;b" />
            <input name='id' type='hidden' value='playground:skep'>
            <input name="summary" type="text" value="created" /><textarea name="wikitext"></textarea></form>
            """
        let page = WebPage(result: CurlResult(exitCode: 0, status: 302, headers: [
            HTTPHeader(name: "Location", value: "http://127.0.0.1:8123/wp-login.php?redirect_to=http%3A%2F%2F127.0.0.1%3A8123%2Fwp-admin%2F"),
        ], body: Array(html.utf8), stderr: "", heads: []), base: "http://127.0.0.1:8123")
        #expect(page.title == "Log In &lsaquo; Blog")
        #expect(page.inputValue("sectok") == "wrong")
        #expect(page.inputValue("sectok", formID: "dw__editform") == "a&b")
        #expect(page.hiddenFields(formID: "dw__editform").map { "\($0.name)=\($0.value)" } == ["sectok=a&b", "id=playground:skep"])
        #expect(page.observation("step").location == "http://SERVER/wp-login.php?redirect_to=http%3A%2F%2FSERVER%2Fwp-admin%2F")
    }

    @Test(.enabled(if: PHPApplication.debianPHPFPMConfPath != nil, "needs php-fpm's Apache config"))
    func debiansPHPFPMConfigPointsAtTheTestSocket() throws {
        let conf = try PHPApplication.phpFPMConf(socket: "/tmp/test/fpm.sock")
        #expect(conf.contains("SetHandler \"proxy:unix:/tmp/test/fpm.sock|fcgi://localhost\""))
        #expect(!conf.contains("/run/php/") || conf.split(separator: "\n").filter { $0.contains("/run/php/") }.allSatisfy {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("#")
        })
    }
}
