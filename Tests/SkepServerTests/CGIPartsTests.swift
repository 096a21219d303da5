@testable import SkepServer
import Testing

/// The pieces of mod_userdir and mod_cgi that need no process or socket: where each
/// `UserDir` form sends a user, how a script's standard error is cut into log lines,
/// and how an ISINDEX argument is shell-escaped.
@Suite struct CGIPartsTests {
    @Test(arguments: [
        ("public_html", UserDirModule.Mapping.home("public_html")),
        ("/var/www/users", .directory("/var/www/users/alice")),
        ("/home/*/www", .directory("/home/alice/www")),
        ("/srv/*", .directory("/srv/alice")),
        ("http://example.com/~*/", .redirect("http://example.com/~alice/rest")),
        ("http://example.com/*", .redirect("http://example.com/alice/rest")),
        // A suffix after a scheme's '*' is dropped, as Apache drops it.
        ("http://example.com/*/x", .redirect("http://example.com/alice/rest")),
        // No '*': even a URL is a directory under the home, as in Apache.
        ("http://example.com/u", .home("http://example.com/u")),
    ])
    func userDirForms(entry: String, expected: UserDirModule.Mapping) {
        #expect(UserDirModule.map(entry, user: "alice", rest: "/rest") == expected)
    }

    @Test func standardErrorLines() {
        var stream = CGIErrorStream()
        #expect(stream.append(Array("one\r\ntw".utf8)) == ["one"])
        #expect(stream.append(Array("o\n\nthree".utf8)) == ["two", ""])
        #expect(stream.finish() == "three")
        #expect(stream.finish() == nil)
        let long = stream.append([UInt8](repeating: UInt8(ascii: "x"), count: CGIErrorStream.pieceLimit + 5) + [0x0A])
        #expect(long.map(\.count) == [CGIErrorStream.pieceLimit, 5])
    }

    @Test func isindexArgumentsAreShellEscaped() {
        #expect(CGIRun.escapeShell("a&b;c$(d)") == "a\\&b\\;c\\$\\(d\\)")
        #expect(CGIRun.escapeShell("plain-word") == "plain-word")
    }

    @Test func scriptDirectory() {
        #expect(CGIRun.parentDirectory("/usr/lib/cgi-bin/x.cgi") == "/usr/lib/cgi-bin")
        #expect(CGIRun.parentDirectory("/x.cgi") == "/")
    }
}
