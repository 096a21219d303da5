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

    func error(_ text: String) -> String? {
        configError(text, modules: [AliasModule.descriptor, UserDirModule.descriptor, CGIModule.descriptor])
    }

    @Test func directiveErrors() {
        #expect(error("ScriptAlias /cgi-bin/ /usr/lib/cgi-bin/\nScriptAliasMatch ^/x(.*) /y$1\nUserDir public_html\nUserDir disabled root") == nil)
        #expect(error("ScriptAlias /only-one")?.contains("ScriptAlias must have two arguments when used globally") == true)
        #expect(error("<Location /a>\nScriptAlias /usr/lib/cgi-bin/x.cgi\n</Location>") == nil)
        #expect(error("<Location /a>\nScriptAlias /srv/%{REQUEST_URI}\n</Location>")?.contains("not supported by Skep yet") == true)
        #expect(error("ScriptAlias /b/\n<Directory /x>\nScriptAlias /y\n</Directory>") != nil)
        #expect(error("<Location /a>\nScriptAlias /a /b\n</Location>")?.contains("cannot occur within <Location> section") == true)
        #expect(error("UserDir")?.contains("UserDir requires an argument.") == true)
        #expect(error("ScriptLog logs/cgi_log")?.contains("ScriptLog is not supported by Skep") == true)
        #expect(error("CGIScriptTimeout 30\n<Directory /x>\nCGIScriptTimeout 500ms\n</Directory>") == nil)
    }

    @Test func scriptDirectory() {
        #expect(CGIRun.parentDirectory("/usr/lib/cgi-bin/x.cgi") == "/usr/lib/cgi-bin")
        #expect(CGIRun.parentDirectory("/x.cgi") == "/")
    }
}
