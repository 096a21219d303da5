import SkepConfig
import SkepHTTP
@testable import SkepServer
import SkepSystem
import Testing

/// The ap_expr engine alone: parsing (Apache's messages for bad expressions) and
/// evaluation against a parsed request, no sockets.
@Suite struct ExprTests {
    static let requestText = "GET /dir/page.html?q=1&x=%41 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11) Test\r\n"
        + "X-Num: 42\r\nAccept: text/html\r\nCookie: a=b\r\n\r\n"

    /// Evaluates `source` for the sample request, with `environment` as its variables.
    static func evaluate(_ source: String, environment: [String: String] = [:]) throws -> Bool? {
        let expression = try ApExpr(source)
        let config = try makeConfig("ServerName www.example.org:8080\nServerAdmin admin@example.org\n")
        let context = try ServerContextStub.make(config)
        return try withRequest(Self.requestText, server: config.main) { r in
            r.environment = environment
            r.notes["n1"] = "note-value"
            return expression.evaluate(r, context)
        }
    }

    /// Parse errors: Apache's own text (checked against apache2 -t).
    @Test(arguments: [
        ("%{FOO} == 'a'", "Variable 'FOO' does not exist"),
        ("-X 'a'", "Unary operator '-X' does not exist"),
        ("'a' -bogus 'b'", "Binary operator '-bogus' does not exist"),
        ("'a' == ", "syntax error, unexpected $end"),
        ("'a' =~ /(/", "Failed to compile regular expression"),
        ("'abc", "Unterminated string or variable"),
        ("1 -ipmatch 'x/99'", "parsing of subnet/netmask failed"),
        ("-R %{REMOTE_ADDR}", "-R requires subnet/netmask as constant argument"),
        ("'a' = 'a' &&", "syntax error, unexpected $end"),
        ("true false", "syntax error, unexpected T_FALSE, expecting $end"),
        ("'a' == 'b' junk", "syntax error, unexpected T_ID, expecting $end"),
        ("'a' == 'b' # c", "Parse error near '#'"),
        ("%{HTTP-HOST} == 'a'", "Invalid character in variable name '-'"),
        ("'\\9' == 'a'", "Bad escape sequence"),
        ("'\\777' == 'a'", "Escape sequence out of bound"),
        ("nosuch('a') == 'b'", "Function 'nosuch' does not exist"),
        ("'a' -in split('b')", "List-returning function 'split' does not exist"),
        ("'%{' == 'a'", "Invalid character in variable name '\''"),
    ])
    func parseErrors(_ source: String, _ message: String) {
        do {
            _ = try ApExpr(source)
            Issue.record("\(source) parsed")
        } catch {
            #expect(error.message == message, "\(source)")
        }
    }

    @Test(arguments: [
        ("true", true), ("false", false), ("!true", false), ("! false && true", true),
        ("false || true && false", false), ("(false || true) && true", true), ("not false and true", true),
        ("%{REQUEST_METHOD} == 'GET'", true), ("%{request_method} = \"GET\"", true),
        ("%{REQUEST_URI} == '/dir/page.html'", true), ("%{QUERY_STRING} == 'q=1&x=%41'", true),
        ("%{THE_REQUEST} == 'GET /dir/page.html?q=1&x=%41 HTTP/1.1'", true),
        ("%{HTTP_HOST} == 'example.com'", true), ("%{HTTP:X-Num} -eq 42", true), ("%{HTTP:x-num} -gt 41", true),
        ("req('X-Num') -lt 43", true), ("http('X-Num') -le 42", true), ("%{HTTP:X-Num} -ge 43", false),
        ("%{HTTP:X-Num} -ne 42", true == false), ("%{HTTP_USER_AGENT} =~ /mozilla/i", true), ("%{HTTP_USER_AGENT} =~ /mozilla/", false),
        ("%{HTTP_USER_AGENT} !~ m#Test$#", false), ("%{HTTP_COOKIE} == 'a=b' && %{HTTP_ACCEPT} == 'text/html'", true),
        ("%{REMOTE_ADDR} == '127.0.0.1'", true), ("%{HTTPS} == 'off'", true), ("%{SERVER_PROTOCOL} == 'HTTP/1.1'", true),
        ("%{REQUEST_SCHEME} == 'http'", true), ("%{SERVER_ADMIN} == 'admin@example.org'", true),
        ("%{SERVER_NAME} == 'example.com'", true), ("%{IS_SUBREQ} == 'false'", true),
        ("%{ENV:FOO} == 'bar'", true), ("env('FOO') == 'bar'", true), ("reqenv('FOO') == 'bar'", true),
        ("note('n1') == 'note-value'", true), ("-n %{ENV:FOO}", true), ("-z %{ENV:NOPE}", true), ("-z ''", true),
        ("osenv('PATH') != ''", true), ("%{ENV:PATH} != ''", true),
        ("'a' -in { 'b', 'a' }", true), ("'c' -in { 'b', 'a' }", false), ("%{REQUEST_METHOD} in {'GET'}", true),
        ("'10' -eq 10", true), ("'010' -eq '10'", true), ("' 7' -eq 7", true), ("'abc' -eq 0", true), ("-5 -lt 3", true),
        ("'abc' < 'abd'", true), ("'b' > 'abc'", true), ("'a' <= 'a'", true), ("'a' >= 'b'", false), ("'A' != 'a'", true),
        ("'x' . 'y' == 'xy'", true), ("\"a%{REQUEST_METHOD}b\" == 'aGETb'", true),
        ("'\\x41' == 'x41'", true), ("'\\101' == 'A'", true), ("'a\\tb' == \"a\\tb\"", true), ("'it\\'s' == \"it's\"", true),
        ("tolower('AbC') == 'abc'", true), ("toupper('AbC') == 'ABC'", true), ("escape('a b/c?') == 'a%20b/c%3f'", true),
        ("unescape('a%20b%2F') == 'a b/'", true), ("unescape('a%zz') == ''", true),
        ("base64('hello') == 'aGVsbG8='", true), ("unbase64('aGVsbG8=') == 'hello'", true), ("base64('') == ''", true),
        ("md5('abc') == '900150983cd24fb0d6963f7d28e17f72'", true), ("sha1('abc') == 'a9993e364706816aba3e25717850c26c9cd0d89d'", true),
        ("%{REQUEST_URI} =~ m#^/(\\w+)/(\\w+)# && $1 == 'dir' && $2 == 'page'", true),
        ("%{REQUEST_URI} =~ /(nomatch)/ || $1 == ''", true),
        ("'abc' =~ /(b)/ && 'xyz' =~ /y/ && $1 == 'b'", true),
        ("'abc' =~ /(b)/ && \"[$1]\" == '[b]' && \"$0\" == 'b'", true),
        ("-T 'on'", true), ("-T 'OFF'", false), ("-T '0'", false), ("-T '00'", true), ("-T ''", false), ("-T 'No'", false),
        ("'/a/b/c' -fnmatch '/a/*'", false), ("'/a/b/c' -strmatch '/a/*'", true), ("'ABC' -strcmatch 'a*'", true), ("'ABC' -strmatch 'a*'", false),
        ("%{REMOTE_ADDR} -ipmatch '127.0.0.0/8'", true), ("'10.1.2.3' -ipmatch '10.1.'", true), ("'10.2.0.1' -ipmatch '10.1.0.0/16'", false),
        ("-R '127.0.0.1'", true), ("-R '192.168.0.0/16'", false),
        ("-d '/'", true), ("-f '/'", false), ("-e '/etc/passwd'", true), ("-f '/etc/passwd'", true), ("-s '/etc/passwd'", true),
        ("-d '/no/such/dir'", false), ("filesize('/no/such') == '0'", true), ("-x '/bin/sh'", true), ("-L '/no/such'", false),
        ("%{TIME_YEAR} -ge 2024", true), ("%{TIME} =~ /^\\d{14}$/", true), ("%{API_VERSION} == '20120211'", true),
    ])
    func evaluates(_ source: String, _ expected: Bool) throws {
        #expect(try Self.evaluate(source, environment: ["FOO": "bar"]) == expected, "\(source)")
    }

    /// `file()` on a missing file fails the evaluation, as Apache's `ctx->err`.
    @Test func fileFunctionFailureIsAnError() throws {
        #expect(try Self.evaluate("file('/no/such/file') == ''") == nil)
        #expect(try Self.evaluate("file('/etc/hostname') != ''") == true)
    }
}
